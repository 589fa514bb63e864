package scriptrun

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/tracelet/tracelet/internal/testenv"
)

// sbsComm is the name the workload runs under, so that tracepoint
// predicates on comm see only it (15 bytes at most: TASK_COMM_LEN). It
// holds the test's pid: another checkout's suite running at the same time
// must not count in this one's results.
var sbsComm = "tlsbs" + strconv.Itoa(os.Getpid())

type oneliner struct {
	workload []string
	src      string
}

func readOneliners(t *testing.T) []oneliner {
	t.Helper()
	f, err := os.Open(filepath.Join(scriptTestdata, "oneliners.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []oneliner
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		w, src, ok := strings.Cut(line, " | ")
		if !ok {
			t.Fatalf("oneliners.txt: %q has no \" | \"", line)
		}
		out = append(out, oneliner{strings.Fields(w), src})
	}
	return out
}

// sbsProg copies the test program to a file named sbsComm.
func sbsProg(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(testenv.TestProg(t))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), sbsComm)
	if err := os.WriteFile(p, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func (o oneliner) expand(prog string) (src string, workload []string) {
	r := strings.NewReplacer("PROG", prog, "TARGET", testenv.CABITarget, "COMM", sbsComm,
		"SYS_kill", strconv.Itoa(unix.SYS_KILL))
	for _, w := range o.workload {
		workload = append(workload, r.Replace(w))
	}
	return r.Replace(o.src), workload
}

// TestSideBySideBpftrace runs each one-liner of testdata/oneliners.txt with
// Debian's bpftrace and with tracelet on the same workload and compares
// the output byte for byte, after one normalisation: lines of one map
// that have the same value are sorted, because bpftrace prints elements of
// equal value in hash-table order. The workload's own stdout (bpftrace -c
// shares it) is dropped.
func TestSideBySideBpftrace(t *testing.T) {
	testenv.RequireRoot(t)
	bt, err := exec.LookPath("bpftrace")
	if err != nil {
		if testenv.InCI() {
			t.Fatal("bpftrace is not installed: make deps installs it")
		}
		t.Skip("bpftrace is not installed (apt-get install bpftrace)")
	}
	prog := sbsProg(t)
	ols := readOneliners(t)
	if len(ols) < 25 {
		t.Fatalf("only %d one-liners", len(ols))
	}
	for _, o := range ols {
		src, workload := o.expand(prog)
		t.Run(src, func(t *testing.T) {
			if m, ok := testenv.Compat(); ok && strings.Contains(src, "sys_enter_execve") && strings.Contains(src, "cpid") {
				// The gated workload is exec'ed by this 32-bit test
				// binary, whose execve fires no syscalls:sys_enter_*
				// event; bpftrace's -c execs it from a 64-bit process.
				t.Skipf("a 32-bit task on this %s kernel: the workload's own execve fires no syscalls:sys_enter_execve (ARCH_TRACE_IGNORE_COMPAT_SYSCALLS)", m)
			}
			cmd := exec.Command(bt, "-e", src, "-c", prog+" "+strings.Join(workload, " "))
			cmd.Env = append(os.Environ(), "BPFTRACE_STRLEN=64")
			want, err := cmd.Output()
			if err != nil {
				t.Fatalf("bpftrace: %v", err)
			}
			got := runGated(t, prog, src, RunOptions{}, workload...)
			w, g := normalizeOutput(string(want)), normalizeOutput(got)
			if w != g {
				t.Errorf("bpftrace:\n%s\ntracelet:\n%s", w, g)
			}
		})
	}
}

var (
	valueLineRE  = regexp.MustCompile(`^(@[A-Za-z0-9_]*)[\[:].*: (-?\d+)$`)
	workloadLine = regexp.MustCompile(`^(errno \d+|ready)$`)
)

// normalizeOutput sorts runs of "@m[...]: N" lines of one map and one
// value, and drops the workload's own lines.
func normalizeOutput(s string) string {
	var out []string
	var run []string
	runKey := ""
	flush := func() {
		sort.Strings(run)
		out = append(out, run...)
		run, runKey = nil, ""
	}
	for _, l := range strings.Split(s, "\n") {
		if workloadLine.MatchString(l) {
			continue
		}
		m := valueLineRE.FindStringSubmatch(l)
		if m == nil {
			flush()
			out = append(out, l)
			continue
		}
		k := m[1] + " " + m[2]
		if k != runKey {
			flush()
			runKey = k
		}
		run = append(run, l)
	}
	flush()
	return strings.Join(out, "\n")
}
