package script

import "sort"

// builtinNames are the builtin variables the language knows.
var builtinNames = []string{
	"pid", "tid", "uid", "gid", "comm", "cpu", "nsecs", "elapsed",
	"arg0", "arg1", "arg2", "arg3", "arg4", "arg5",
	// arg6 to arg11: usdt probes only, whose notes have up to 12 (sdt.h)
	"arg6", "arg7", "arg8", "arg9", "arg10", "arg11",
	"retval", "args", "func", "probe", "kstack", "ustack", "cpid", "curtask",
	"numaid", "username", "cgroup",
}

// funcNames are the functions the language knows.
var funcNames = []string{
	"printf", "print", "str", "ksym", "usym",
	"count", "sum", "avg", "min", "max", "stats", "hist", "lhist",
	"delete", "clear", "zero", "exit",
	"time", "strftime", "join", "kaddr", "ntop", "bswap", "kstack", "ustack", "reg", "cat", "buf",
	"system", "signal", "cgroupid", "uptr", "kptr", "strncmp",
}

// castTypes are the integer types of a cast, (uint8)x, with their size.
var castTypes = map[string]int{
	"uint8": 1, "int8": 1, "uint16": 2, "int16": 2,
	"uint32": 4, "int32": 4, "uint64": 8, "int64": 8,
}

// probeTypeAliases are the spellings of each probe type, long and short.
var probeTypeAliases = map[string]ProbeType{
	"kprobe": Kprobe, "k": Kprobe,
	"kretprobe": Kretprobe, "kr": Kretprobe,
	"uprobe": Uprobe, "u": Uprobe,
	"uretprobe": Uretprobe, "ur": Uretprobe,
	"tracepoint": Tracepoint, "t": Tracepoint,
	"BEGIN": Begin, "END": End,
	"interval": Interval, "i": Interval,
	"profile": Profile, "p": Profile,
	"rawtracepoint": RawTracepoint, "rt": RawTracepoint,
	"fentry": Fentry, "kfunc": Fentry, "f": Fentry,
	"fexit": Fexit, "kretfunc": Fexit, "fr": Fexit,
	"lsm":      LSM,
	"software": Software, "s": Software,
	"hardware": Hardware, "h": Hardware,
	"usdt": USDT, "U": USDT,
}

var builtinSet, funcSet = setOf(builtinNames), setOf(funcNames)

func setOf(names []string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

func probeTypeSpellings() []string {
	var s []string
	for k := range probeTypeAliases {
		s = append(s, k)
	}
	sort.Strings(s)
	return s
}

// isAggregation reports whether a function makes a map an aggregation: it may
// only be assigned to a map, as @x = count().
func isAggregation(name string) bool {
	switch name {
	case "count", "sum", "avg", "min", "max", "stats", "hist", "lhist":
		return true
	}
	return false
}
