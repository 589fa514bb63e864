package record_test

import (
	"fmt"
	"io"
	"strings"

	"github.com/tracelet/tracelet/record"
)

// A recording cut short by a power loss reads back up to its last whole
// record.
func ExampleReader() {
	rec := "# tracer: nop\n" +
		"        testprog-4242    [001] ..... 12.000001: open: (0x4a3660) fd=3 path=\"/etc/hosts\"\n" +
		"        testprog-4242    [001] ..... 12.000009: open: (0x4a3660) fd=4 pa"
	r := record.NewReader(strings.NewReader(rec))
	for {
		e, err := r.Next()
		if err == io.EOF {
			break
		}
		fmt.Println(e.Comm, e.Pid, e.Event, e.Fields[0].Name, e.Fields[0].JSON, e.Fields[1].JSON)
	}
	fmt.Println("truncated:", r.Truncated())
	// Output:
	// testprog 4242 open fd 3 "/etc/hosts"
	// truncated: true
}
