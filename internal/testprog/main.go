// Command testprog is the traced workload of tracelet's integration tests.
// It calls functions whose arguments and return values the tests know, so
// that a probe's decoded values can be checked exactly.
//
// cabiTarget is entered with its six arguments in the C ABI's argument
// registers (System V on amd64, AAPCS64 on arm64), put there by the assembly
// trampoline cabi6. That gives a uprobe target that behaves like a C function
// without a C compiler, on every architecture we cross-build for.
//
//	testprog calls N A B     call cabi6(A, B, A+1, B+1, A+2, B+2) and goTarget(A, B) N times
//	testprog str S [N]       call cabi6(&S[0], len(S), ...) N times (default 1): arg0 points to S, NUL-terminated
//	testprog usdt N A B S    N times: print usdtSemaphore, call cabi6(A, B, A+1, B+1, A+2, B+2) and cabi6(&S[0], len(S), ...)
//	testprog threads T N A   start T new threads that each make N calls of cabi6(A, tid, ...)
//	testprog wait            print "ready", wait for a line on stdin, then behave as the rest of argv
//	testprog open PATH       open PATH (read-only) and report the errno, for syscall probes
//	testprog read PATH SIZE… open PATH and read(2) SIZE bytes from it for each SIZE, in order
//	testprog kill SIG N      send itself signal SIG (one it ignores, such as 28, SIGWINCH) N times
//	testprog unlink PATH     unlink PATH and report the errno, for fentry/fexit on do_unlinkat
//	testprog exec ARGV…      execve(2) ARGV[0] (a path) with ARGV
//	testprog exit CODE       exit with CODE
//	testprog tcp PORT        listen on 127.0.0.1:PORT, connect to it, accept, close both (tcpconnect.bt, tcpaccept.bt)
//	testprog nanosleep NS    nanosleep(2) NS nanoseconds (naptime.bt)
//	testprog statfs PATH     statfs(2) PATH and report the errno (statsnoop.bt)
//	testprog fdatasync PATH  open PATH read-only and fdatasync(2) it (syncsnoop.bt)
//	testprog setuid UID      setuid(2) on this thread only, a raw system call (setuids.bt)
//	testprog direct DEV N    N O_DIRECT reads of 4 KiB from the block device DEV (biosnoop.bt, biolatency.bt, biostacks.bt)
//	testprog unix MSG        write MSG into a stream socketpair and read it back (undump.bt)
//	testprog synretrans PORT MS  fill a backlog-0 listener on 127.0.0.1:PORT, connect again, stay MS ms for the SYN's retransmission (tcpretrans.bt)
//	testprog readfor PATH MS read a byte of PATH every 10 ms for MS ms (vfsstat.bt)
//	testprog oom CGROUP MB   join the cgroup v2 directory CGROUP and touch MB MiB, more than its memory.max: the OOM killer kills it (oomkill.bt)
//	testprog swapin CGROUP MB  join CGROUP and write MB MiB, more than its memory.max, then read it all back: what went to swap comes back in (swapin.bt)
//	testprog spin            print "ready", run spinTarget until stdin closes (profile)
//	testprog offcpu N MS     print "ready", wait for a line, sleep N times MS ms in offcpuTarget, print "done", stay until stdin closes (offcputime)
package main

import (
	"bufio"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// goTarget is a plain Go function, for probes that use Go's own register ABI.
//
//go:noinline
func goTarget(a, b int64) int64 { return a*1000 + b }

var sink int64

// usdtSemaphore is a USDT semaphore for the tests that give a copy of this
// program .note.stapsdt notes (scriptrun's TestRunUprobeUSDTTestprog): the
// kernel raises usdtSemaphore[0] while a uprobe with it as ref_ctr_offset
// exists. The nonzero second word puts it in initialized data, which is
// file-backed as a ref_ctr_offset must be (bss is not).
var usdtSemaphore = [2]uint16{0, 0x7e57}

// init pins the main goroutine to the main thread, so that a probe opened
// for the process's pid (a perf event on one thread) sees every call that
// main makes, even after the blocking read of "wait".
func init() { runtime.LockOSThread() }

func main() {
	args := os.Args[1:]
	if len(args) > 0 && args[0] == "wait" {
		fmt.Println("ready")
		bufio.NewReader(os.Stdin).ReadString('\n')
		args = args[1:]
	}
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: testprog calls|str|threads|wait|open|read|kill|unlink|connect|tcp|exec|exit|nanosleep|statfs|fdatasync|setuid|direct|unix|synretrans|readfor|oom|swapin|spin|offcpu ...")
		os.Exit(2)
	}
	num := func(i int) uint64 {
		if i >= len(args) {
			fmt.Fprintf(os.Stderr, "testprog %s: missing argument %d\n", args[0], i)
			os.Exit(2)
		}
		v, err := strconv.ParseUint(args[i], 0, 64)
		if err != nil {
			fmt.Fprintf(os.Stderr, "testprog %s: %v\n", args[0], err)
			os.Exit(2)
		}
		return v
	}
	switch args[0] {
	case "calls":
		n, a, b := num(1), num(2), num(3)
		for i := uint64(0); i < n; i++ {
			sink += int64(cabi6(a, b, a+1, b+1, a+2, b+2))
			sink += goTarget(int64(a), int64(b))
		}
	case "str":
		s := append([]byte(args[1]), 0)
		n := uint64(1)
		if len(args) > 2 {
			n = num(2)
		}
		for i := uint64(0); i < n; i++ {
			sink += int64(cabi6(uint64(uintptr(unsafe.Pointer(&s[0]))), uint64(len(s)-1), 0, 0, 0, 0))
		}
		runtime.KeepAlive(s)
	case "usdt":
		n, a, b := num(1), num(2), num(3)
		s := append([]byte(args[4]), 0)
		for i := uint64(0); i < n; i++ {
			fmt.Println("semaphore", usdtSemaphore[0])
			sink += int64(cabi6(a, b, a+1, b+1, a+2, b+2))
			sink += int64(cabi6(uint64(uintptr(unsafe.Pointer(&s[0]))), uint64(len(s)-1), 0, 0, 0, 0))
		}
		runtime.KeepAlive(s)
	case "threads":
		t, n, a := num(1), num(2), num(3)
		var wg sync.WaitGroup
		for j := uint64(0); j < t; j++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				runtime.LockOSThread() // a new thread for each, never reused
				tid := uint64(syscall.Gettid())
				for i := uint64(0); i < n; i++ {
					cabi6(a, tid, 0, 0, 0, 0)
				}
			}()
		}
		wg.Wait()
	case "open":
		fd, err := syscall.Open(args[1], syscall.O_RDONLY, 0)
		if err != nil {
			fmt.Println("errno", int(err.(syscall.Errno)))
			return
		}
		syscall.Close(fd)
		fmt.Println("errno 0")
	case "read":
		fd, err := syscall.Open(args[1], syscall.O_RDONLY, 0)
		if err != nil {
			fmt.Fprintln(os.Stderr, "testprog read:", err)
			os.Exit(1)
		}
		for i := 2; i < len(args); i++ {
			buf := make([]byte, num(i))
			if _, err := syscall.Read(fd, buf); err != nil {
				fmt.Fprintln(os.Stderr, "testprog read:", err)
				os.Exit(1)
			}
		}
		syscall.Close(fd)
	case "kill":
		sig, n := syscall.Signal(num(1)), num(2)
		if sig == syscall.SIGWINCH || sig == syscall.SIGURG {
			signal.Ignore(sig)
		}
		for i := uint64(0); i < n; i++ {
			if err := syscall.Kill(os.Getpid(), sig); err != nil {
				fmt.Fprintln(os.Stderr, "testprog kill:", err)
				os.Exit(1)
			}
		}
	case "unlink":
		if err := syscall.Unlink(args[1]); err != nil {
			fmt.Println("errno", int(err.(syscall.Errno)))
			return
		}
		fmt.Println("errno 0")
	case "exec":
		err := syscall.Exec(args[1], args[1:], os.Environ())
		fmt.Fprintln(os.Stderr, "testprog exec:", err)
		os.Exit(1)
	case "connect": // connect PORT: one TCP connect to 127.0.0.1:PORT
		fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
		if err == nil {
			err = syscall.Connect(fd, &syscall.SockaddrInet4{Port: int(num(1)), Addr: [4]byte{127, 0, 0, 1}})
			syscall.Close(fd)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "testprog connect:", err)
			os.Exit(1)
		}
	case "exit":
		os.Exit(int(num(1)))
	case "tcp":
		if err := tcpLoop(int(num(1))); err != nil {
			fmt.Fprintln(os.Stderr, "testprog tcp:", err)
			os.Exit(1)
		}
	case "nanosleep":
		ts := syscall.NsecToTimespec(int64(num(1)))
		if err := syscall.Nanosleep(&ts, nil); err != nil {
			fmt.Fprintln(os.Stderr, "testprog nanosleep:", err)
			os.Exit(1)
		}
	case "statfs":
		var st syscall.Statfs_t
		if err := syscall.Statfs(args[1], &st); err != nil {
			fmt.Println("errno", int(err.(syscall.Errno)))
			return
		}
		fmt.Println("errno 0")
	case "fdatasync":
		fd, err := syscall.Open(args[1], syscall.O_RDONLY, 0)
		if err == nil {
			err = syscall.Fdatasync(fd)
			syscall.Close(fd)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "testprog fdatasync:", err)
			os.Exit(1)
		}
	case "setuid":
		// syscall.Setuid runs on every thread (AllThreadsSyscall): one
		// event per runtime thread, a number that varies from run to run.
		if _, _, e := syscall.RawSyscall(syscall.SYS_SETUID, uintptr(num(1)), 0, 0); e != 0 {
			fmt.Fprintln(os.Stderr, "testprog setuid:", e)
			os.Exit(1)
		}
	case "direct":
		if err := directRead(args[1], int(num(2))); err != nil {
			fmt.Fprintln(os.Stderr, "testprog direct:", err)
			os.Exit(1)
		}
	case "unix":
		if err := unixEcho(args[1]); err != nil {
			fmt.Fprintln(os.Stderr, "testprog unix:", err)
			os.Exit(1)
		}
	case "synretrans":
		if err := synRetrans(int(num(1)), time.Duration(num(2))*time.Millisecond); err != nil {
			fmt.Fprintln(os.Stderr, "testprog synretrans:", err)
			os.Exit(1)
		}
	case "readfor":
		if err := readFor(args[1], int(num(2))); err != nil {
			fmt.Fprintln(os.Stderr, "testprog readfor:", err)
			os.Exit(1)
		}
	case "oom":
		err := oomIn(args[1], int(num(2)))
		fmt.Fprintln(os.Stderr, "testprog oom:", err)
		os.Exit(1)
	case "swapin":
		if err := swapIn(args[1], int(num(2))); err != nil {
			fmt.Fprintln(os.Stderr, "testprog swapin:", err)
			os.Exit(1)
		}
	case "spin":
		spin()
	case "offcpu":
		offcpu(num(1), num(2))
	default:
		fmt.Fprintf(os.Stderr, "testprog: unknown command %q\n", args[0])
		os.Exit(2)
	}
}

// tcpLoop connects to a listener of its own on 127.0.0.1:port and accepts
// the connection, in this one thread: the connect and the accept are both
// the workload's, done before it exits.
func tcpLoop(port int) error {
	ln, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		return err
	}
	defer syscall.Close(ln)
	syscall.SetsockoptInt(ln, syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1)
	addr := &syscall.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}
	if err := syscall.Bind(ln, addr); err != nil {
		return err
	}
	if err := syscall.Listen(ln, 1); err != nil {
		return err
	}
	c, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		return err
	}
	if err := syscall.Connect(c, addr); err != nil {
		syscall.Close(c)
		return err
	}
	a, _, err := syscall.Accept(ln)
	if err != nil {
		syscall.Close(c)
		return err
	}
	// The client closes first, and the server once it has read the end
	// of the stream: its socket then goes through LAST_ACK in this
	// process, as the client's went through SYN_SENT, so a tool that
	// names a session's process from those states (tcplife.bt) names
	// this one, whatever context handles the last ACK. (Closed the other
	// way, the server's socket reached CLOSE wherever the client's FIN
	// was processed: in the 6.1-arm64 guest once, ksoftirqd.)
	if err := syscall.Close(c); err != nil {
		syscall.Close(a)
		return err
	}
	buf := make([]byte, 16)
	for {
		n, err := syscall.Read(a, buf)
		if err == syscall.EINTR {
			continue
		}
		if err != nil || n == 0 {
			break
		}
	}
	return syscall.Close(a)
}
