// Command getppidloop is the syscall workload of trace's side-by-side
// benchmarks: getppid(2) in a tight loop on one thread, in a process of its
// own, so that every tracer (in-process or not) sees the same workload.
//
//	getppidloop N [RATE]
//
// It prints "ready TID", waits for a line on stdin (so that a tracer can
// attach first), makes N getppid calls and prints the loop's duration in ns.
// The loop times itself, so process start and exit are not counted. With
// RATE (calls per second, 0 for none) the loop is paced to at most that
// rate, by spinning: a tracer's lossless rate is found by sweeping it.
package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"time"
)

// init runs on the main thread; locking it there keeps the loop on the
// thread whose id was printed, which is what the tracers filter on.
func init() { runtime.LockOSThread() }

func main() {
	if len(os.Args) != 2 && len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: getppidloop N [RATE]")
		os.Exit(2)
	}
	n, err := strconv.Atoi(os.Args[1])
	if err != nil || n < 0 {
		fmt.Fprintf(os.Stderr, "getppidloop: N: %q is not a count\n", os.Args[1])
		os.Exit(2)
	}
	rate := 0
	if len(os.Args) == 3 {
		if rate, err = strconv.Atoi(os.Args[2]); err != nil || rate < 0 {
			fmt.Fprintf(os.Stderr, "getppidloop: RATE: %q is not calls per second\n", os.Args[2])
			os.Exit(2)
		}
	}
	fmt.Printf("ready %d\n", syscall.Gettid())
	bufio.NewReader(os.Stdin).ReadString('\n')
	start := time.Now()
	for i := 0; i < n; i++ {
		// RawSyscall: no scheduler hand-off around the call, so the loop
		// is the syscall and nothing else.
		syscall.RawSyscall(syscall.SYS_GETPPID, 0, 0, 0)
		if rate > 0 && i%64 == 63 {
			due := start.Add(time.Duration(float64(i+1) / float64(rate) * 1e9))
			for time.Now().Before(due) {
			}
		}
	}
	fmt.Println(time.Since(start).Nanoseconds())
}
