package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// spinTarget is the function the profile tests expect on top of the
// stacks: a loop that calls nothing until stop is set.
//
//go:noinline
func spinTarget(stop *atomic.Bool) int64 {
	var n int64
	for !stop.Load() {
		for i := int64(0); i < 1_000_000; i++ {
			n += i ^ n>>3
		}
	}
	return n
}

// spin prints "ready" and runs spinTarget on the main thread until stdin
// closes. The collector is off: a stop-the-world waits for the spinning
// goroutine's preemption with the other threads spinning in the runtime
// (procyield), which under emulation (the i386 guest) takes many samples.
func spin() {
	debug.SetGCPercent(-1)
	var stop atomic.Bool
	go func() {
		io.Copy(io.Discard, os.Stdin)
		stop.Store(true)
	}()
	fmt.Println("ready")
	sink += spinTarget(&stop)
}

// offcpuTarget sleeps ms milliseconds in one nanosleep (clock_nanosleep
// where the architecture has no nanosleep), the main thread blocked in
// the kernel for the time: the off-CPU stack the offcputime tests expect.
//
//go:noinline
func offcpuTarget(ms uint64) {
	ts := unix.NsecToTimespec(int64(time.Duration(ms) * time.Millisecond))
	for unix.Nanosleep(&ts, &ts) == unix.EINTR {
	}
}

// offcpu prints "ready", waits for a line on stdin, sleeps n times ms
// milliseconds, prints "done" and stays until stdin closes, so that its
// user stacks can still be symbolized when the tools print them.
func offcpu(n, ms uint64) {
	fmt.Println("ready")
	in := bufio.NewReader(os.Stdin)
	in.ReadString('\n')
	for i := uint64(0); i < n; i++ {
		offcpuTarget(ms)
	}
	fmt.Println("done")
	io.Copy(io.Discard, in)
}
