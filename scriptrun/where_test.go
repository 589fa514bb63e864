package scriptrun

import (
	"testing"

	"github.com/tracelet/tracelet/script"
	"github.com/tracelet/tracelet/trace"
)

// A --where expression is parsed by the language, which does not import
// package trace: its Where must still be a trace.Predicate, and the names
// of the fetchargs it adds must start with the prefix trace's printers
// leave out.
var _ trace.Predicate = (*script.Where)(nil)

func TestWherePrefix(t *testing.T) {
	if script.WherePrefix != trace.WherePrefix {
		t.Errorf("script.WherePrefix = %q, trace.WherePrefix = %q: trace would print --where's own fetchargs", script.WherePrefix, trace.WherePrefix)
	}
	w, err := script.ParseWhere("arg0 == 1")
	if err != nil {
		t.Fatal(err)
	}
	var p trace.Predicate = w
	if p.String() != "arg0 == 1" {
		t.Errorf("String() = %q", p.String())
	}
}
