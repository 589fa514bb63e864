package scriptrun

import (
	"context"
	"encoding/json"
	"math/bits"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/tracelet/tracelet/bpf"
	"github.com/tracelet/tracelet/internal/testenv"
)

// runBegin runs a script that ends in BEGIN or at once, and returns its
// output.
func runBegin(t *testing.T, src string, opts RunOptions) string {
	t.Helper()
	testenv.RequireRoot(t)
	var out strings.Builder
	opts.Out = &out
	r, err := Prepare("-e", []byte(src), opts)
	if err != nil {
		t.Fatalf("%s: %v", src, err)
	}
	defer func() {
		if err := r.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}()
	if err := r.Start(nil); err != nil {
		t.Fatalf("%s: Start: %v", src, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // a script without exit() ends at once, as on Ctrl-C
	if err := r.Wait(ctx); err != nil {
		t.Fatalf("%s: Wait: %v", src, err)
	}
	checkPrograms(t, r.progs) // loaded until Close
	return out.String()
}

// TestHooks runs BEGIN and END both ways the kernel may allow: as raw
// tracepoint programs run by BPF_PROG_TEST_RUN (5.10), and as uprobes on
// tracelet's own hook functions (the fallback). The output and its order
// must not depend on the way.
func TestHooks(t *testing.T) {
	testenv.RequireRoot(t)
	const src = `BEGIN { printf("begin %d\n", pid == PID); @b = count(); } END { printf("end\n"); @e = count(); }`
	// As bpftrace: END prints before the two empty lines and the maps.
	want := "Attaching 2 probes...\nbegin 1\nend\n\n\n@b: 1\n@e: 1\n"
	types := map[string]bpf.ProgramType{"uprobe": bpf.Kprobe}
	if haveTestRunHooks() {
		types["test_run"] = bpf.RawTracepoint
	} else if testenv.InVM() {
		t.Error("BPF_PROG_TEST_RUN of raw tracepoint programs is missing; every VM kernel (6.1+) has it")
	}
	for name, typ := range types {
		t.Run(name, func(t *testing.T) {
			s := strings.ReplaceAll(src, "PID", strconv.Itoa(os.Getpid()))
			out := runBegin(t, s, RunOptions{hookType: typ})
			if out != want {
				t.Errorf("output:\n%s\nwant:\n%s", out, want)
			}
		})
	}
}

// TestHistBuckets checks the bucket code of hist against the powers of
// two around every step of its binary search, on the kernel: BEGIN puts
// each value in @h, and the JSON buckets must hold exactly the values.
func TestHistBuckets(t *testing.T) {
	vals := []int64{-1, -1 << 40, 0, 1, 2, 3, 4, 7, 8, 255, 256, 65535, 65536, 1<<31 - 1, 1 << 31,
		1<<32 - 1, 1 << 32, 1<<40 + 5, 1<<62 + 1, 1<<63 - 1}
	var b strings.Builder
	b.WriteString("BEGIN { ")
	for _, v := range vals {
		b.WriteString("@h = hist(" + strconv.FormatInt(v, 10) + "); ")
	}
	b.WriteString("exit(); }")
	out := runBegin(t, b.String(), RunOptions{Format: JSONOutput})
	var hist struct {
		Data map[string][]struct {
			Min   *int64
			Max   *int64
			Count uint64
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if strings.Contains(line, `"type": "hist"`) {
			if err := json.Unmarshal([]byte(line), &hist); err != nil {
				t.Fatalf("%s: %v", line, err)
			}
		}
	}
	buckets := hist.Data["@h"]
	if len(buckets) == 0 {
		t.Fatalf("no @h histogram in:\n%s", out)
	}
	var total uint64
	for _, bk := range buckets {
		var n uint64
		for _, v := range vals {
			if (bk.Min == nil || v >= *bk.Min) && (bk.Max == nil || v <= *bk.Max) {
				n++
			}
		}
		if n != bk.Count {
			t.Errorf("bucket [%v, %v]: count %d, want %d", ptrStr(bk.Min), ptrStr(bk.Max), bk.Count, n)
		}
		total += bk.Count
	}
	if total != uint64(len(vals)) {
		t.Errorf("%d values counted, want %d", total, len(vals))
	}
	// The top bucket is the one of 1<<63-1: 2+62.
	if last := buckets[len(buckets)-1]; last.Min == nil || *last.Min != 1<<62 || bits.Len64(uint64(*last.Max)) != 63 {
		t.Errorf("last bucket [%v, %v], want [1<<62, 1<<63-1]", ptrStr(last.Min), ptrStr(last.Max))
	}
}

func ptrStr(p *int64) string {
	if p == nil {
		return "-"
	}
	return strconv.FormatInt(*p, 10)
}

// TestCommKey checks the feature probe against what a map keyed by
// comm shows: whatever it answers, the same comm must give one key.
func TestCommKey(t *testing.T) {
	out := runBegin(t, `BEGIN { @[comm] = count(); @[comm] = count(); @[comm] = count(); exit(); }`, RunOptions{})
	if strings.Count(out, "@[") != 1 || !strings.Contains(out, "]: 3\n") {
		t.Errorf("padded %v; got:\n%s", commPadded(), out)
	}
	t.Logf("bpf_get_current_comm pads: %v", commPadded())
}
