package script

import "sort"

// The uapi's perf_event_attr type and config numbers (linux/perf_event.h),
// spelled here so that the language stays free of system packages.
const (
	perfTypeHardware = 0 // PERF_TYPE_HARDWARE
	perfTypeSoftware = 1 // PERF_TYPE_SOFTWARE

	// enum perf_sw_ids
	perfCountSWCPUClock        = 0
	perfCountSWTaskClock       = 1
	perfCountSWPageFaults      = 2
	perfCountSWContextSwitches = 3
	perfCountSWCPUMigrations   = 4
	perfCountSWPageFaultsMin   = 5
	perfCountSWPageFaultsMaj   = 6
	perfCountSWAlignmentFaults = 7
	perfCountSWEmulationFaults = 8
	perfCountSWDummy           = 9
	perfCountSWBPFOutput       = 10

	// enum perf_hw_id
	perfCountHWCPUCycles             = 0
	perfCountHWInstructions          = 1
	perfCountHWCacheReferences       = 2
	perfCountHWCacheMisses           = 3
	perfCountHWBranchInstructions    = 4
	perfCountHWBranchMisses          = 5
	perfCountHWBusCycles             = 6
	perfCountHWStalledCyclesFrontend = 7
	perfCountHWStalledCyclesBackend  = 8
	perfCountHWRefCPUCycles          = 9
)

// A perfEvent is a software or hardware event a software: or hardware:
// probe samples: the program runs every Count occurrences on each CPU.
type perfEvent struct {
	Type   uint32 // PERF_TYPE_SOFTWARE or PERF_TYPE_HARDWARE
	Config uint64 // PERF_COUNT_SW_* or PERF_COUNT_HW_*
	Count  uint64 // the default sample period, bpftrace's
}

// perfEvents are the events of software:EVENT[:COUNT] and
// hardware:EVENT[:COUNT] by name and alias, with bpftrace 0.17's default
// counts.
var perfEvents = map[ProbeType]map[string]perfEvent{
	Software: {
		"cpu-clock":        {perfTypeSoftware, perfCountSWCPUClock, 1000000},
		"cpu":              {perfTypeSoftware, perfCountSWCPUClock, 1000000},
		"task-clock":       {perfTypeSoftware, perfCountSWTaskClock, 1000000},
		"page-faults":      {perfTypeSoftware, perfCountSWPageFaults, 100},
		"faults":           {perfTypeSoftware, perfCountSWPageFaults, 100},
		"context-switches": {perfTypeSoftware, perfCountSWContextSwitches, 1000},
		"cs":               {perfTypeSoftware, perfCountSWContextSwitches, 1000},
		"cpu-migrations":   {perfTypeSoftware, perfCountSWCPUMigrations, 1},
		"minor-faults":     {perfTypeSoftware, perfCountSWPageFaultsMin, 100},
		"major-faults":     {perfTypeSoftware, perfCountSWPageFaultsMaj, 1},
		"alignment-faults": {perfTypeSoftware, perfCountSWAlignmentFaults, 1},
		"emulation-faults": {perfTypeSoftware, perfCountSWEmulationFaults, 1},
		"dummy":            {perfTypeSoftware, perfCountSWDummy, 1},
		"bpf-output":       {perfTypeSoftware, perfCountSWBPFOutput, 1},
	},
	Hardware: {
		"cpu-cycles":          {perfTypeHardware, perfCountHWCPUCycles, 1000000},
		"cycles":              {perfTypeHardware, perfCountHWCPUCycles, 1000000},
		"instructions":        {perfTypeHardware, perfCountHWInstructions, 1000000},
		"cache-references":    {perfTypeHardware, perfCountHWCacheReferences, 1000000},
		"cache-misses":        {perfTypeHardware, perfCountHWCacheMisses, 1000000},
		"branch-instructions": {perfTypeHardware, perfCountHWBranchInstructions, 100000},
		"branches":            {perfTypeHardware, perfCountHWBranchInstructions, 100000},
		"branch-misses":       {perfTypeHardware, perfCountHWBranchMisses, 100000},
		"bus-cycles":          {perfTypeHardware, perfCountHWBusCycles, 100000},
		"frontend-stalls":     {perfTypeHardware, perfCountHWStalledCyclesFrontend, 1000000},
		"backend-stalls":      {perfTypeHardware, perfCountHWStalledCyclesBackend, 1000000},
		"ref-cycles":          {perfTypeHardware, perfCountHWRefCPUCycles, 1000000},
	},
}

// perfEventNames lists the event names of a probe type, for messages.
func perfEventNames(t ProbeType) []string {
	var names []string
	for n := range perfEvents[t] {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
