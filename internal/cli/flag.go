package cli

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// Flag is one option of a command: a BoolFlag, StringFlag, IntFlag,
// DurationFlag or StringSliceFlag. Its first name is the one Context's getters take; any of
// its names and aliases does too.
type Flag interface {
	// Names returns the flag's name and then its aliases.
	Names() []string
	// info and parse are unexported: the five flag types are all the
	// kinds argv has, and help needs no reflection to describe them.
	info() flagInfo
	parse(s string) (any, error)
}

// flagInfo is what parsing and help need to know about a flag.
type flagInfo struct {
	usage    string
	required bool
	isBool   bool
	value    any    // the default
	shown    string // the default as help prints it, "" for the zero value
	kind     string // the placeholder when usage names none
}

// BoolFlag is a switch: -name sets it, -name=false clears it. A separate
// word after it is never its value ("-d false" is -d and an argument).
type BoolFlag struct {
	Name     string
	Aliases  []string
	Usage    string
	Value    bool
	Required bool
}

func (f *BoolFlag) Names() []string { return names(f.Name, f.Aliases) }

func (f *BoolFlag) info() flagInfo {
	i := flagInfo{usage: f.Usage, required: f.Required, isBool: true, value: f.Value}
	if f.Value {
		i.shown = "true"
	}
	return i
}

func (f *BoolFlag) parse(s string) (any, error) {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return nil, errors.New("want true or false")
	}
	return v, nil
}

// StringFlag takes any word, "" and words starting with '-' included.
type StringFlag struct {
	Name     string
	Aliases  []string
	Usage    string
	Value    string
	Required bool
}

func (f *StringFlag) Names() []string { return names(f.Name, f.Aliases) }

func (f *StringFlag) info() flagInfo {
	i := flagInfo{usage: f.Usage, required: f.Required, value: f.Value, kind: "VALUE"}
	if f.Value != "" {
		i.shown = strconv.Quote(f.Value)
	}
	return i
}

func (f *StringFlag) parse(s string) (any, error) { return s, nil }

// IntFlag takes an integer in Go syntax: 42, -1, 0x2a, 052, 1_000.
type IntFlag struct {
	Name     string
	Aliases  []string
	Usage    string
	Value    int
	Required bool
}

func (f *IntFlag) Names() []string { return names(f.Name, f.Aliases) }

func (f *IntFlag) info() flagInfo {
	i := flagInfo{usage: f.Usage, required: f.Required, value: f.Value, kind: "N"}
	if f.Value != 0 {
		i.shown = strconv.Itoa(f.Value)
	}
	return i
}

func (f *IntFlag) parse(s string) (any, error) {
	// Base 0, as Go's flag package parses ints: scripts written for the
	// urfave/cli version of tracelet may pass hex pids or masks.
	v, err := strconv.ParseInt(s, 0, strconv.IntSize)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return nil, errors.New("out of range")
		}
		return nil, errors.New("want an integer")
	}
	return int(v), nil
}

// StringSliceFlag may be given more than once; each time adds a word
// (cpp's -D NAME=VALUE -D NAME2=VALUE2).
type StringSliceFlag struct {
	Name    string
	Aliases []string
	Usage   string
}

func (f *StringSliceFlag) Names() []string { return names(f.Name, f.Aliases) }

func (f *StringSliceFlag) info() flagInfo {
	return flagInfo{usage: f.Usage, value: []string(nil), kind: "VALUE"}
}

func (f *StringSliceFlag) parse(s string) (any, error) { return []string{s}, nil }

// DurationFlag takes a time.Duration as time.ParseDuration reads it: 5s,
// 1m30s, 250ms. A bare number is refused, as it was by urfave/cli.
type DurationFlag struct {
	Name     string
	Aliases  []string
	Usage    string
	Value    time.Duration
	Required bool
}

func (f *DurationFlag) Names() []string { return names(f.Name, f.Aliases) }

func (f *DurationFlag) info() flagInfo {
	i := flagInfo{usage: f.Usage, required: f.Required, value: f.Value, kind: "DURATION"}
	if f.Value != 0 {
		i.shown = f.Value.String()
	}
	return i
}

func (f *DurationFlag) parse(s string) (any, error) {
	v, err := time.ParseDuration(s)
	if err != nil {
		return nil, errors.New("want a duration such as 5s or 1m30s")
	}
	return v, nil
}

func names(name string, aliases []string) []string {
	return append([]string{name}, aliases...)
}

// placeholder splits a usage string into the word help shows after the
// flag's names and the text: "only process `PID`" names PID and reads
// "only process PID". Without backquotes the placeholder is the kind's.
func placeholder(usage, kind string) (name, text string) {
	if i := strings.IndexByte(usage, '`'); i >= 0 {
		if j := strings.IndexByte(usage[i+1:], '`'); j >= 0 {
			name = usage[i+1 : i+1+j]
			return name, usage[:i] + name + usage[i+2+j:]
		}
	}
	return kind, usage
}
