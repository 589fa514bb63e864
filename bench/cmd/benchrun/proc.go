package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// proc is a tool under measurement: a process (group) of its own whose
// stdout is read line by line, counting the lines that match an event.
type proc struct {
	cmd     *exec.Cmd
	match   *regexp.Regexp
	start   time.Time
	n       atomic.Uint64
	firstNS atomic.Int64 // ns from start to the first matching line
	lastNS  atomic.Int64 // unix ns of the last matching line
	first   chan struct{}
	eof     chan struct{}
	other   capped // stdout lines that are not events
	stderr  capped
	waited  bool
	rusage  *syscall.Rusage
	peakKB  atomic.Int64 // the largest VmHWM polled while it ran
	ownKB   int64        // benchrun's own VmHWM when it started the tool
}

// capped keeps the first 64 KiB written to it: enough for a tool's
// complaints and summaries, bounded whatever it prints.
type capped struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (c *capped) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if room := 64<<10 - c.buf.Len(); room > 0 {
		c.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (c *capped) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}

// startPinned starts cmd with its CPU affinity set to cpu (-1: as is).
// The child inherits the mask of the thread that forks it, so the mask is
// set on a locked thread around Start and put back after.
func startPinned(cmd *exec.Cmd, cpu int) error {
	if cpu < 0 {
		return cmd.Start()
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var old, set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &old); err != nil {
		return err
	}
	set.Set(cpu)
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		return err
	}
	defer unix.SchedSetaffinity(0, &old)
	return cmd.Start()
}

func startProc(argv []string, match *regexp.Regexp, cpu int) (*proc, error) {
	p := &proc{match: match, first: make(chan struct{}), eof: make(chan struct{})}
	p.cmd = exec.Command(argv[0], argv[1:]...)
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p.cmd.Stderr = &p.stderr
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	p.start = time.Now()
	if err := startPinned(p.cmd, cpu); err != nil {
		return nil, fmt.Errorf("%s: %w", argv[0], err)
	}
	p.ownKB = hwmKB(os.Getpid())
	go p.read(out)
	go p.pollHWM()
	return p, nil
}

// pollHWM records the tool's VmHWM every 5 ms until its stdout closes:
// see maxRSS.
func (p *proc) pollHWM() {
	pid := p.cmd.Process.Pid
	for {
		if kb := hwmKB(pid); kb > p.peakKB.Load() {
			p.peakKB.Store(kb)
		}
		select {
		case <-p.eof:
			return
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// hwmKB is a process's VmHWM in KiB, 0 when it cannot be read.
func hwmKB(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb
		}
	}
	return 0
}

func (p *proc) read(out io.Reader) {
	defer close(p.eof)
	r := bufio.NewReaderSize(out, 1<<20)
	partial := false
	for {
		line, err := r.ReadSlice('\n')
		if len(line) > 0 && !partial {
			if p.match.Match(line) {
				now := time.Now()
				if p.n.Add(1) == 1 {
					p.firstNS.Store(int64(now.Sub(p.start)))
					close(p.first)
				}
				if r.Buffered() == 0 {
					p.lastNS.Store(now.UnixNano())
				}
			} else {
				p.other.Write(line)
			}
		}
		partial = err == bufio.ErrBufferFull
		if err != nil && err != bufio.ErrBufferFull {
			return
		}
	}
}

// waitFirst waits for the first event line.
func (p *proc) waitFirst(timeout time.Duration) error {
	select {
	case <-p.first:
		return nil
	case <-p.eof:
		// Both may be closed (a tool that prints its line and exits at
		// once, as the exec floor does): the line came first.
		select {
		case <-p.first:
			return nil
		default:
		}
		p.wait()
		return fmt.Errorf("%s exited before its first event (%v): %s", p.cmd.Path, p.cmd.ProcessState, p.diag())
	case <-time.After(timeout):
		return fmt.Errorf("%s: no event in %v: %s", p.cmd.Path, timeout, p.diag())
	}
}

func (p *proc) diag() string {
	s := strings.TrimSpace(p.stderr.String() + "\n" + p.other.String())
	if len(s) > 600 {
		s = s[:600] + "…"
	}
	return s
}

func (p *proc) wait() {
	if p.waited {
		return
	}
	p.waited = true
	p.cmd.Wait()
	if p.cmd.ProcessState != nil {
		p.rusage, _ = p.cmd.ProcessState.SysUsage().(*syscall.Rusage)
	}
}

// waitExit waits up to timeout for the tool to exit by itself.
func (p *proc) waitExit(timeout time.Duration) bool {
	select {
	case <-p.eof:
		p.wait()
		return true
	case <-time.After(timeout):
		return false
	}
}

// stopGrace is how long a tool gets to exit after SIGINT.
const stopGrace = 10 * time.Second

// stop sends SIGINT to the tool's process group (perf-tools' scripts run
// `cat trace_pipe` as a child, and clean up on SIGINT), waits stopGrace,
// then kills the group. It reports whether the tool ended on SIGINT.
func (p *proc) stop() bool {
	if p.waited {
		return true
	}
	syscall.Kill(-p.cmd.Process.Pid, syscall.SIGINT)
	select {
	case <-p.eof:
		p.wait()
		return true
	case <-time.After(stopGrace):
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.eof
		p.wait()
		return false
	}
}

// maxRSS is the tool's peak resident set in MB. wait4's ru_maxrss alone
// cannot be trusted below benchrun's own peak: Go vforks a child on the
// parent's mm, and exec records that mm's high-water mark in the child's
// (kernel/exec.c, setmax_mm_hiwater_rss), so a small tool reads as large as
// benchrun. It counts only above that floor, where it is the tool's own
// (or a child's of the tool); below it, the VmHWM polled while the tool ran
// is its peak, short of at most its last 5 ms.
func (p *proc) maxRSS() float64 {
	kb := p.peakKB.Load()
	if p.rusage != nil && int64(p.rusage.Maxrss) > max(p.ownKB, kb) { // KiB on Linux
		kb = int64(p.rusage.Maxrss)
	}
	if kb == 0 {
		return nan
	}
	return float64(kb) / 1024
}

// settle waits until no event has arrived for d, and returns the count.
func (p *proc) settle(d time.Duration) uint64 {
	n, at := p.n.Load(), time.Now()
	for time.Since(at) < d {
		time.Sleep(10 * time.Millisecond)
		if m := p.n.Load(); m != n {
			n, at = m, time.Now()
		}
	}
	return n
}

// quiet waits until want events arrived, or none arrived for a second.
func (p *proc) quiet(want uint64, since time.Time) {
	for p.n.Load() < want {
		last := time.Unix(0, p.lastNS.Load())
		if last.Before(since) {
			last = since
		}
		if time.Since(last) > time.Second {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// load is a benchload process (see bench/cmd/benchload).
type load struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
	tid int
}

// startLoad starts benchload with args, its loop pinned to cpu (-1: not)
// and run repeat times (the fastest is reported).
func startLoad(bin string, cpu, repeat int, args ...string) (*load, error) {
	if repeat > 1 {
		args = append([]string{"-repeat", strconv.Itoa(repeat)}, args...)
	}
	if cpu >= 0 {
		args = append([]string{"-cpu", strconv.Itoa(cpu)}, args...)
	}
	l := &load{cmd: exec.Command(bin, args...)}
	l.cmd.Stderr = os.Stderr
	var err error
	if l.in, err = l.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	out, err := l.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := l.cmd.Start(); err != nil {
		return nil, err
	}
	l.out = bufio.NewReader(out)
	line, err := l.out.ReadString('\n')
	f := strings.Fields(line)
	if err != nil || len(f) != 2 || f[0] != "ready" {
		l.kill()
		return nil, fmt.Errorf("benchload %v: %q %v", args, line, err)
	}
	l.tid, _ = strconv.Atoi(f[1])
	return l, nil
}

// endWarmup stops the warm-up calls and returns how many were made.
func (l *load) endWarmup() (int, error) {
	if _, err := io.WriteString(l.in, "stop\n"); err != nil {
		return 0, err
	}
	line, err := l.out.ReadString('\n')
	var warm int
	if _, serr := fmt.Sscanf(line, "warm %d", &warm); serr != nil {
		return 0, fmt.Errorf("benchload: %q: %v %v", line, err, serr)
	}
	return warm, nil
}

// release runs the counted loop and returns its duration.
func (l *load) release() (time.Duration, error) {
	if _, err := io.WriteString(l.in, "go\n"); err != nil {
		return 0, err
	}
	line, err := l.out.ReadString('\n')
	l.in.Close()
	l.cmd.Wait()
	var ns int64
	if _, serr := fmt.Sscanf(line, "done %d", &ns); serr != nil {
		return 0, fmt.Errorf("benchload: %q: %v %v", line, err, serr)
	}
	return time.Duration(ns), nil
}

// run ends the warm-up at once and runs the loop: for untraced runs and
// for tools whose readiness is proved otherwise.
func (l *load) run() (time.Duration, error) {
	if _, err := l.endWarmup(); err != nil {
		return 0, err
	}
	return l.release()
}

// stopTick ends a tick load (it exits when stdin closes).
func (l *load) stopTick() {
	l.in.Close()
	done := make(chan struct{})
	go func() { l.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		l.kill()
	}
}

func (l *load) kill() {
	l.cmd.Process.Kill()
	l.cmd.Wait()
}

var errNotAvailable = errors.New("not available")
