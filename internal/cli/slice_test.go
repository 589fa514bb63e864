package cli

import (
	"reflect"
	"testing"
)

// A StringSliceFlag collects every occurrence, in order, next to a bool
// flag of the same letter in the other case (run's -d and -D).
func TestStringSliceFlag(t *testing.T) {
	var got []string
	var d bool
	app := &App{Name: "t", Commands: []*Command{{
		Name: "run", Flags: []Flag{&BoolFlag{Name: "d"}, &StringSliceFlag{Name: "D"}},
		Action: func(c *Context) error {
			got, d = c.StringSlice("D"), c.Bool("d")
			return nil
		},
	}}}
	if err := app.Run([]string{"t", "run", "-D", "A=1", "-d", "-D=B", "--D", `C="x"`, "file"}); err != nil {
		t.Fatal(err)
	}
	if want := []string{"A=1", "B", `C="x"`}; !reflect.DeepEqual(got, want) || !d {
		t.Errorf("-D: %q, -d %v; want %q, true", got, d, want)
	}
	if err := app.Run([]string{"t", "run", "file"}); err != nil || got != nil {
		t.Errorf("no -D: %q, %v", got, err)
	}
}
