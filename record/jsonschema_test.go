package record

import (
	"testing"

	"github.com/tracelet/tracelet/internal/testenv"
)

// TestJSONSchema: record's, collect's and report's JSON Lines keep the
// fields of their version (README: JSON Lines).
func TestJSONSchema(t *testing.T) {
	ev := benchEvent(t)
	line := NewPrinter(FormatJSON).Append(nil, ev)
	e, err := parseJSONLine(string(line))
	if err != nil {
		t.Fatal(err)
	}
	back := AppendEntry(nil, &e, FormatJSON)
	if string(back) != string(line) {
		t.Errorf("report does not write back what record wrote:\n%s%s", line, back)
	}
	testenv.CheckJSONSchema(t, "record", JSONVersion, line)
}
