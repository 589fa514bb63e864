package flamegraph_test

import (
	"os"
	"strings"

	"github.com/tracelet/tracelet/flamegraph"
)

func Example() {
	p, err := flamegraph.ParseFolded(strings.NewReader("prog;main;spin 90\nprog;main;wait 10\nprog;main;spin 5\n"))
	if err != nil {
		panic(err)
	}
	p.Add([]string{"prog", "main", "schedule_[k]"}, 1)
	p.WriteFolded(os.Stdout)
	// Output:
	// prog;main;schedule_[k] 1
	// prog;main;spin 95
	// prog;main;wait 10
}
