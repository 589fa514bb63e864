package cli

import (
	"context"
	"time"
)

// Context is what an action gets: the command that runs, its flags' values
// and its positional arguments.
type Context struct {
	// Context ends when the context given to RunContext does (tracelet's
	// ends on SIGINT and SIGTERM).
	Context context.Context
	App     *App
	Command *Command

	flags *flagSet
	args  Args
}

// Bool returns the value of the boolean flag name (any of its names), or
// false when the command has no such flag.
func (c *Context) Bool(name string) bool {
	v, _ := c.flags.value(name).(bool)
	return v
}

// String returns the value of the string flag name, or "".
func (c *Context) String(name string) string {
	v, _ := c.flags.value(name).(string)
	return v
}

// Int returns the value of the integer flag name, or 0.
func (c *Context) Int(name string) int {
	v, _ := c.flags.value(name).(int)
	return v
}

// Duration returns the value of the duration flag name, or 0.
func (c *Context) Duration(name string) time.Duration {
	v, _ := c.flags.value(name).(time.Duration)
	return v
}

// StringSlice returns every value of a StringSliceFlag, in argv order.
func (c *Context) StringSlice(name string) []string {
	v, _ := c.flags.value(name).([]string)
	return v
}

// IsSet reports whether argv gave the flag name, even to its default.
func (c *Context) IsSet(name string) bool { return c.flags.isSet(name) }

// Args returns the positional arguments.
func (c *Context) Args() Args { return c.args }

// NArg returns the number of positional arguments.
func (c *Context) NArg() int { return len(c.args) }

// Args are a command's positional arguments, after its flags.
type Args []string

// Get returns the nth argument, or "".
func (a Args) Get(n int) string {
	if n >= 0 && n < len(a) {
		return a[n]
	}
	return ""
}

// First returns the first argument, or "".
func (a Args) First() string { return a.Get(0) }

// Tail returns the arguments after the first.
func (a Args) Tail() []string {
	if len(a) < 2 {
		return nil
	}
	return a[1:]
}

// Len returns the number of arguments.
func (a Args) Len() int { return len(a) }

// Present reports whether there is any argument.
func (a Args) Present() bool { return len(a) > 0 }

// Slice returns the arguments as a slice.
func (a Args) Slice() []string { return a }
