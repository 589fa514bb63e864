package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/tracelet/tracelet/btf"
	"github.com/tracelet/tracelet/internal/testenv"
)

// runqlenScript is runqlen.bt (bpftrace's and the bpf-perf-tools-book's)
// with its run queue length kept per pid of the test's spinners, so that
// other work on the machine does not count. Its struct is the part of
// kernel/sched/sched.h's struct cfs_rq that it needs: the count after
// struct load_weight, nr_running before Linux 6.13 and nr_queued since
// (the book's runnable_weight left the struct in 5.7).
const runqlenScript = `#include <linux/sched.h>

struct cfs_rq_partial {
	struct load_weight load;
	unsigned int nr_running;
};

profile:hz:99
/cpu == CPU && (PIDS)/
{
	$task = (struct task_struct *)curtask;
	$my_q = (struct cfs_rq_partial *)$task->se.cfs_rq;
	$len = $my_q->nr_running;
	$len = $len > 0 ? $len - 1 : 0;	// subtract currently running task
	@runqlen[pid] = lhist($len, 0, 100, 1);
}

interval:s:2 { exit(); }
`

// TestRunRunqlenStruct runs runqlen with a struct defined in the script on
// a known workload: spinners pinned to one CPU, which never sleep, so that
// whenever one of them is sampled its run queue holds all of them (and
// perhaps more of the machine's work). The struct's layout must put
// nr_running where the kernel's BTF has it.
func TestRunRunqlenStruct(t *testing.T) {
	testenv.RequireCPUHelper(t) // the script keeps one CPU's samples by cpu
	spec, err := btf.LoadFile(btf.KernelPath)
	if errors.Is(err, fs.ErrNotExist) {
		t.Skipf("this kernel publishes no BTF (%s), which the script's struct load_weight and curtask come from", btf.KernelPath)
	}
	if err != nil {
		t.Fatal(err)
	}
	cfsRq, err := spec.TypeByName("cfs_rq", btf.BTF_KIND_STRUCT)
	if err != nil {
		spec.Close()
		t.Fatal(err)
	}
	f, err := spec.Member(cfsRq, "nr_running")
	if err != nil {
		f, err = spec.Member(cfsRq, "nr_queued") // renamed in 6.13
	}
	spec.Close()
	if err != nil {
		t.Fatal(err)
	}

	// Pin the spinners to the last CPU this test may use: each inherits
	// the affinity of the thread that starts it.
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		t.Fatal(err)
	}
	cpu := -1
	for i := 0; i < len(set)*64; i++ {
		if set.IsSet(i) {
			cpu = i
		}
	}
	const spinners = 3
	var pids []string
	func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		var one unix.CPUSet
		one.Set(cpu)
		if err := unix.SchedSetaffinity(0, &one); err != nil {
			t.Fatal(err)
		}
		defer unix.SchedSetaffinity(0, &set)
		for range spinners {
			cmd := exec.Command("sh", "-c", "while :; do :; done")
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
			pids = append(pids, strconv.Itoa(cmd.Process.Pid))
		}
	}()

	src := strings.NewReplacer("CPU", strconv.Itoa(cpu), "PIDS", "pid == "+strings.Join(pids, " || pid == ")).Replace(runqlenScript)
	d := mustCLI(t, "run", "-d", "-e", src)
	want := fmt.Sprintf("$my_q->nr_running: uint32, offset %d\n", f.Offset)
	if !strings.Contains(d, want) {
		t.Errorf("tracelet run -d does not place nr_running where the kernel's BTF has it (%q):\n%s", want, d)
	}

	out := mustCLI(t, "run", "-e", src)
	// @runqlen[PID]:
	// [2, 3)                55 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
	head := regexp.MustCompile(`^@runqlen\[(\d+)\]:\s*$`)
	bucket := regexp.MustCompile(`^\[(\d+), (\d+)\)\s+(\d+) \|@*\s*\|$`)
	samples := 0
	var key string
	for _, line := range strings.Split(out, "\n") {
		if m := head.FindStringSubmatch(line); m != nil {
			key = m[1]
			continue
		}
		m := bucket.FindStringSubmatch(line)
		if m == nil {
			key = ""
			continue
		}
		if key == "" {
			t.Errorf("a bucket outside a map: %q", line)
			continue
		}
		lo, _ := strconv.Atoi(m[1])
		n, _ := strconv.Atoi(m[3])
		if n > 0 && lo < spinners-1 {
			t.Errorf("pid %s saw a run queue of %d with %d spinners on its CPU", key, lo, spinners)
		}
		samples += n
	}
	t.Logf("%d samples of the spinners on CPU %d", samples, cpu)
	if samples < 5 {
		t.Errorf("%d samples of %d spinners over 2 s at 99 Hz: want at least 5\n%s", samples, spinners, out)
	}
}
