package perf

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// sysPMUDir lists the PMUs that perf_event_open accepts by dynamic type
// (Documentation/ABI/testing/sysfs-bus-event_source-devices-format).
const sysPMUDir = "/sys/bus/event_source/devices"

// PMU is a dynamic perf event source, here the kprobe or uprobe PMU (4.17):
// perf_event_attr.type is its number, and format/retprobe names the config
// bit that makes a probe a return probe.
type PMU struct {
	Name string
	Type uint32
	// RetprobeBit is the bit of config that selects a return probe.
	RetprobeBit uint
}

// pmuCache holds what sysfs told us; a PMU's type does not change while the
// kernel runs (it is allocated when the PMU registers, at boot).
var pmuCache sync.Map // name -> PMU

// LookupPMU reads the kprobe or uprobe PMU's type and retprobe bit from sysfs.
// A kernel without the PMU gives an error wrapping ErrNotSupported.
func LookupPMU(name string) (PMU, error) {
	if v, ok := pmuCache.Load(name); ok {
		return v.(PMU), nil
	}
	p, err := readPMU(sysPMUDir, name)
	if err != nil {
		return PMU{}, err
	}
	pmuCache.Store(name, p)
	return p, nil
}

func readPMU(root, name string) (PMU, error) {
	if name == "" || strings.ContainsAny(name, "/\x00") || name == "." || name == ".." {
		return PMU{}, fmt.Errorf("perf: PMU name %q is not a directory name", name)
	}
	dir := filepath.Join(root, name)
	b, err := os.ReadFile(filepath.Join(dir, "type"))
	if os.IsNotExist(err) {
		return PMU{}, fmt.Errorf("perf: %s PMU (%s): %w (the kprobe and uprobe PMUs need Linux 4.17 and CONFIG_KPROBE_EVENTS / CONFIG_UPROBE_EVENTS)", name, dir, ErrNotSupported)
	}
	if err != nil {
		return PMU{}, fmt.Errorf("perf: %s PMU: %w", name, err)
	}
	typ, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 32)
	if err != nil {
		return PMU{}, fmt.Errorf("perf: %s/type: %q is not a PMU type number", dir, strings.TrimSpace(string(b)))
	}
	p := PMU{Name: name, Type: uint32(typ)}
	f, err := os.ReadFile(filepath.Join(dir, "format", "retprobe"))
	if err != nil {
		return PMU{}, fmt.Errorf("perf: %s PMU has no format/retprobe: %w", name, err)
	}
	field, lo, hi, err := ParseFormatBits(string(f))
	if err != nil {
		return PMU{}, fmt.Errorf("perf: %s/format/retprobe: %w", dir, err)
	}
	if field != "config" || lo != hi {
		return PMU{}, fmt.Errorf("perf: %s/format/retprobe: %q is not a single bit of config (want config:N)", dir, strings.TrimSpace(string(f)))
	}
	p.RetprobeBit = lo
	return p, nil
}

// ParseFormatBits parses a PMU format file: "config:0", "config:32-63" or
// "config1:0-3". It returns the attr field and the inclusive bit range. Lists
// of ranges ("config:0-3,8"), which a few hardware PMUs use, are rejected.
func ParseFormatBits(s string) (field string, lo, hi uint, err error) {
	s = strings.TrimSpace(s)
	field, bits, ok := strings.Cut(s, ":")
	if !ok || field == "" {
		return "", 0, 0, fmt.Errorf("format %q: want FIELD:BIT or FIELD:LOW-HIGH", s)
	}
	switch field {
	case "config", "config1", "config2", "config3":
	default:
		return "", 0, 0, fmt.Errorf("format %q: field %q is not config, config1, config2 or config3", s, field)
	}
	a, b, isRange := strings.Cut(bits, "-")
	l, err1 := strconv.ParseUint(a, 10, 8)
	h := l
	var err2 error
	if isRange {
		h, err2 = strconv.ParseUint(b, 10, 8)
	}
	if err1 != nil || err2 != nil || l > 63 || h > 63 || h < l {
		return "", 0, 0, fmt.Errorf("format %q, col %d: %q is not a bit or range within 0-63", s, len(field)+2, bits)
	}
	return field, uint(l), uint(h), nil
}

// Uprobe returns the Attr of a probe made through the uprobe PMU, with no
// tracefs event behind it: the probe lives exactly as long as its fd. offset
// is a file offset in path (not a virtual address). The PMU needs
// CAP_SYS_ADMIN since the fix for CVE-2025-38466.
func Uprobe(path string, offset uint64, ret bool, st SampleType) (*Attr, error) {
	if path == "" || strings.IndexByte(path, 0) >= 0 {
		return nil, fmt.Errorf("perf: uprobe path %q: want a file path without NUL bytes", path)
	}
	return probeAttr("uprobe", path, offset, ret, st)
}

// Kprobe returns the Attr of a probe on kernel function fn at offset, made
// through the kprobe PMU.
func Kprobe(fn string, offset uint64, ret bool, st SampleType) (*Attr, error) {
	if fn == "" || strings.ContainsAny(fn, "\x00 \t\n") {
		return nil, fmt.Errorf("perf: kprobe function %q: want a kernel symbol name", fn)
	}
	return probeAttr("kprobe", fn, offset, ret, st)
}

func probeAttr(pmu, target string, offset uint64, ret bool, st SampleType) (*Attr, error) {
	p, err := LookupPMU(pmu)
	if err != nil {
		return nil, err
	}
	a, err := newSampleAttr(p.Type, st)
	if err != nil {
		return nil, err
	}
	a.ProbeTarget = target
	a.Ext2 = offset // config2: probe_offset
	if ret {
		a.Config |= 1 << p.RetprobeBit
	}
	return a, nil
}
