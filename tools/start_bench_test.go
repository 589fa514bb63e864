package tools

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tracelet/tracelet/internal/testenv"
)

// BenchmarkSideBySideStart measures, for the tracelet binary and the
// libbpf-tools binary of the same name, in the same run and alternately:
// the time from exec to the first event of a workload that keeps making
// events from the moment the tool is started (one every millisecond or so),
// and the peak RSS of the tool's process (getrusage ru_maxrss). It reports
// the medians and the ratios tracelet/libbpf-tools; the targets are a start
// ratio ≤ 1.2 and an RSS ratio ≤ 1.
//
//	make bench BENCH=SideBySideStart BENCH_PKGS=./tools
//	TRACELET_BIN=./tracelet go test -run '^$' -bench SideBySideStart ./tools
//
// TRACELET_BIN names the binary to measure (the release build of make
// build); without it one is built with the same flags. Both tools run under
// stdbuf -oL, so that each prints a line as soon as it has it.
func BenchmarkSideBySideStart(b *testing.B) {
	testenv.RequireRoot(b)
	tl := traceletBinary(b)
	for _, tc := range startCases() {
		b.Run(tc.name, func(b *testing.B) {
			if _, err := os.Stat("/usr/sbin/" + tc.name); err != nil {
				if testenv.InCI() {
					b.Fatalf("libbpf-tools' %s is missing (make deps installs it): %v", tc.name, err)
				}
				b.Skipf("libbpf-tools' %s is not installed: %v", tc.name, err)
			}
			var ours, theirs []time.Duration
			var oursRSS, theirsRSS []int64
			for i := 0; i < b.N; i++ {
				d, rss := firstEvent(b, tc, append([]string{tl, tc.name}, tc.args...))
				ours, oursRSS = append(ours, d), append(oursRSS, rss)
				d, rss = firstEvent(b, tc, append([]string{"/usr/sbin/" + tc.name}, tc.args...))
				theirs, theirsRSS = append(theirs, d), append(theirsRSS, rss)
			}
			b.Logf("tracelet %v rss %v; libbpf-tools %v rss %v", ours, oursRSS, theirs, theirsRSS)
			mo, mt := median(ours), median(theirs)
			ro, rt := median(oursRSS), median(theirsRSS)
			b.ReportMetric(float64(mo)/1e6, "tracelet-start-ms")
			b.ReportMetric(float64(mt)/1e6, "libbpf-start-ms")
			b.ReportMetric(float64(mo)/float64(mt), "start-ratio")
			b.ReportMetric(float64(ro)/1024, "tracelet-rss-MB")
			b.ReportMetric(float64(rt)/1024, "libbpf-rss-MB")
			b.ReportMetric(float64(ro)/float64(rt), "rss-ratio")
		})
	}
}

// startCase is a tool, its arguments (the same for both binaries), a
// workload trigger that makes one event, and a test for the event's line.
type startCase struct {
	name    string
	args    []string
	setup   func(b *testing.B) (trigger func(), match func(string) bool, done func())
	trigger func()
}

func startCases() []startCase {
	return []startCase{
		{name: "execsnoop", setup: func(b *testing.B) (func(), func(string) bool, func()) {
			const marker = "tracelet-bench-start"
			return func() { exec.Command("/bin/true", marker).Run() },
				func(l string) bool { return strings.Contains(l, marker) }, func() {}
		}},
		{name: "exitsnoop", setup: func(b *testing.B) (func(), func(string) bool, func()) {
			return func() { exec.Command("/bin/true").Run() },
				func(l string) bool { f := strings.Fields(l); return len(f) > 0 && f[0] == "true" }, func() {}
		}},
		{name: "opensnoop", args: []string{"-x"}, setup: func(b *testing.B) (func(), func(string) bool, func()) {
			const path = "/nonexistent/tracelet-bench-start"
			return func() {
					for range 5 {
						syscall.Open(path, syscall.O_RDONLY, 0)
						time.Sleep(200 * time.Microsecond)
					}
				},
				func(l string) bool { return strings.HasSuffix(strings.TrimSpace(l), path) }, func() {}
		}},
		{name: "sigsnoop", args: []string{"-s", "18"}, setup: func(b *testing.B) (func(), func(string) bool, func()) {
			// SIGCONT to a process that is not stopped: generated (and
			// ignored), harmless however often it comes.
			sl := exec.Command("sleep", "600")
			if err := sl.Start(); err != nil {
				b.Fatal(err)
			}
			pid := strconv.Itoa(sl.Process.Pid)
			return func() {
					for range 5 {
						syscall.Kill(sl.Process.Pid, syscall.SIGCONT)
						time.Sleep(200 * time.Microsecond)
					}
				},
				func(l string) bool { return slices.Contains(strings.Fields(l), pid) },
				func() { sl.Process.Kill(); sl.Wait() }
		}},
	}
}

// firstEvent runs argv under stdbuf until the first line that the case
// matches and returns the time to it and the peak RSS in KiB.
func firstEvent(b *testing.B, tc startCase, argv []string) (time.Duration, int64) {
	b.Helper()
	trigger, match, done := tc.setup(b)
	defer done()
	cmd := exec.Command("stdbuf", append([]string{"-oL"}, argv...)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	stop := make(chan struct{})
	var wg sync.WaitGroup
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
				trigger()
			}
		}
	}()
	found := make(chan time.Duration, 1)
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		sent := false
		for sc.Scan() {
			if !sent && match(sc.Text()) {
				found <- time.Since(start)
				sent = true
			}
		}
		if !sent {
			close(found)
		}
	}()
	var d time.Duration
	select {
	case v, ok := <-found:
		if !ok {
			b.Fatalf("%s exited before its first event", strings.Join(argv, " "))
		}
		d = v
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		b.Fatalf("%s: no event in 30s", strings.Join(argv, " "))
	}
	close(stop)
	wg.Wait()
	cmd.Process.Signal(syscall.SIGINT)
	cmd.Wait()
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		b.Fatal("no rusage")
	}
	return d, int64(ru.Maxrss) // int32 on 32-bit architectures
}

func median[T int64 | time.Duration](v []T) T {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

var (
	tlOnce sync.Once
	tlPath string
	tlErr  error
)

// traceletBinary is $TRACELET_BIN, or a build of ./cmd/tracelet with the
// release flags of make build (static, stripped).
func traceletBinary(b *testing.B) string {
	if p := os.Getenv("TRACELET_BIN"); p != "" {
		return p
	}
	tlOnce.Do(func() {
		dir, err := os.MkdirTemp("", "tracelet-bench-")
		if err != nil {
			tlErr = err
			return
		}
		tlPath = filepath.Join(dir, "tracelet")
		gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
		cmd := exec.Command(gobin, "build", "-trimpath", "-ldflags", "-s -w", "-o", tlPath, "github.com/tracelet/tracelet/cmd/tracelet")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			tlErr = fmt.Errorf("building tracelet: %v\n%s", err, out)
		}
	})
	if tlErr != nil {
		b.Fatal(tlErr)
	}
	return tlPath
}
