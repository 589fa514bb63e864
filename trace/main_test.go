package trace

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/tracelet/tracelet/internal/testenv"
)

// getppidLoopEnv makes the test binary testdata/getppidloop's workload
// (getppidLoopChild) instead of running tests: the VM suite's guests have
// no Go toolchain to build that program, but they have this binary.
const getppidLoopEnv = "TRACELET_TEST_GETPPIDLOOP"

// TestMain removes the programs the tests built (testenv.Main).
func TestMain(m *testing.M) {
	if n := os.Getenv(getppidLoopEnv); n != "" {
		os.Exit(getppidLoopChild(n))
	}
	os.Exit(testenv.Main(m))
}

// getppidLoopChild is `getppidloop N`: it prints "ready TID", waits for a
// line on stdin, makes N getppid calls on that thread and prints the
// loop's duration in ns.
func getppidLoopChild(arg string) int {
	n, err := strconv.Atoi(arg)
	if err != nil || n < 0 {
		fmt.Fprintf(os.Stderr, "%s=%q: not a count\n", getppidLoopEnv, arg)
		return 2
	}
	runtime.LockOSThread()
	fmt.Printf("ready %d\n", syscall.Gettid())
	bufio.NewReader(os.Stdin).ReadString('\n')
	start := time.Now()
	for range n {
		syscall.RawSyscall(syscall.SYS_GETPPID, 0, 0, 0)
	}
	fmt.Println(time.Since(start).Nanoseconds())
	return 0
}
