package tools_test

import (
	"fmt"
	"os"

	"github.com/tracelet/tracelet/tools"
)

// Rows print in libbpf-tools' columns; Cmdline is tracelet's extra, last.
func ExampleSignalEvent_Columns() {
	e := &tools.SignalEvent{Pid: 4242, Comm: "kill", Sig: 10, SigName: "SIGUSR1", TPid: 4000, Cmdline: "kill -USR1 4000"}
	fmt.Println(tools.SignalHeader())
	fmt.Println(e.Columns(true))
	// Output:
	// PID     COMM             SIG       TPID    RESULT CMDLINE
	// 4242    kill             SIGUSR1   4000    0      kill -USR1 4000
}

func ExamplePrintLog2Hist() {
	tools.PrintLog2Hist(os.Stdout, &tools.Histogram{Unit: "usec", Slots: []uint64{0, 2, 8}})
	// Output:
	//      usec                : count    distribution
	//          0 -> 1          : 0        |                                        |
	//          2 -> 3          : 2        |**********                              |
	//          4 -> 7          : 8        |****************************************|
}
