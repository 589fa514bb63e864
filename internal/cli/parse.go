package cli

import (
	"strconv"
	"strings"
)

// flagSet holds one command's flags and the values argv gave them.
type flagSet struct {
	flags  []Flag
	infos  []flagInfo
	values []any // nil until set
	byName map[string]int
}

func newFlagSet(flags []Flag) *flagSet {
	fs := &flagSet{flags: flags, infos: make([]flagInfo, len(flags)), values: make([]any, len(flags)), byName: make(map[string]int)}
	for i, f := range flags {
		fs.infos[i] = f.info()
		for _, n := range f.Names() {
			fs.byName[n] = i
		}
	}
	return fs
}

// lookup returns the index of the flag with name n, or -1.
func (fs *flagSet) lookup(n string) int {
	if i, ok := fs.byName[n]; ok {
		return i
	}
	return -1
}

func (fs *flagSet) isSet(n string) bool {
	i := fs.lookup(n)
	return i >= 0 && fs.values[i] != nil
}

func (fs *flagSet) bool(n string) bool {
	v, _ := fs.value(n).(bool)
	return v
}

// value returns what argv set the flag n to, or its default.
func (fs *flagSet) value(n string) any {
	i := fs.lookup(n)
	if i < 0 {
		return nil
	}
	if fs.values[i] != nil {
		return fs.values[i]
	}
	return fs.infos[i].value
}

// parse sets flags from args and returns the arguments after them. As in
// Go's flag package, and so in urfave/cli v2, the flags end at the first
// word that is not one ("-" is not), or after "--"; "tracelet run FILE -x"
// hands "-x" to the script's command line rather than refusing it.
//
// With short set, a word of single-letter flags run together ("-xT", or
// "-xd 5" where the last one takes a value) stands for each of them, as
// libbpf-tools' getopt parsing does for the tools that copy its flags.
func (fs *flagSet) parse(args []string, short bool) ([]string, error) {
	for len(args) > 0 {
		a := args[0]
		if len(a) < 2 || a[0] != '-' {
			return args, nil
		}
		args = args[1:]
		if a == "--" {
			return args, nil
		}
		name := a[1:]
		if name[0] == '-' {
			name = name[1:]
		}
		if name == "" || name[0] == '-' || name[0] == '=' {
			return nil, flagError("bad flag syntax: " + a)
		}
		name, val, hasVal := strings.Cut(name, "=")
		i := fs.lookup(name)
		if i < 0 {
			if split := fs.splitShort(a, short); split != nil {
				args = append(split, args...)
				continue
			}
			return nil, flagError("flag provided but not defined: -" + name)
		}
		if !hasVal {
			if fs.infos[i].isBool {
				val = "true"
			} else if len(args) > 0 {
				val, args = args[0], args[1:]
			} else {
				return nil, flagError("flag needs an argument: -" + name)
			}
		}
		v, err := fs.flags[i].parse(val)
		if err != nil {
			return nil, flagError("invalid value " + strconv.Quote(val) + " for flag -" + name + ": " + err.Error())
		}
		if add, ok := v.([]string); ok {
			old, _ := fs.values[i].([]string)
			v = append(old, add...)
		}
		fs.values[i] = v
	}
	return nil, nil
}

// splitShort returns "-xT" as "-x", "-T" when short option handling is on
// and every letter is a flag of its own; nil otherwise. "--xT" and
// "-xT=1" are never split.
func (fs *flagSet) splitShort(a string, short bool) []string {
	if !short || len(a) <= 2 || a[1] == '-' {
		return nil
	}
	split := make([]string, 0, len(a)-1)
	for _, r := range a[1:] {
		if fs.lookup(string(r)) < 0 {
			return nil
		}
		split = append(split, "-"+string(r))
	}
	return split
}

// missing returns the first required flag that argv left unset.
func (fs *flagSet) missing() string {
	for i, inf := range fs.infos {
		if inf.required && fs.values[i] == nil {
			return fs.flags[i].Names()[0]
		}
	}
	return ""
}

// flagError is a parse error, made a UsageError by the command that knows
// its name.
type flagError string

func (e flagError) Error() string { return string(e) }
