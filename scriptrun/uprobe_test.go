package scriptrun

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/tracelet/tracelet/bpf"
	"github.com/tracelet/tracelet/internal/testenv"
	"github.com/tracelet/tracelet/script"
	"github.com/tracelet/tracelet/tracefs"
)

// attachUprobes defines a tracefs uprobe for every uprobe/uretprobe attach
// point of obj and attaches its program; everything is removed when the
// test ends.
func attachUprobes(t *testing.T, obj *script.Object, progs []*bpf.Program) {
	t.Helper()
	tfs, err := tracefs.Find()
	if err != nil {
		t.Fatal(err)
	}
	group := tracefs.OwnerGroup(os.Getpid())
	for i, p := range obj.Programs {
		a := p.Attach
		path, off, err := tracefs.ResolveSymbol(a.Target, a.Func)
		if err != nil {
			t.Fatal(err)
		}
		kind := "p"
		if a.Type == script.Uretprobe {
			kind = "r"
		}
		ev := fmt.Sprintf("script_%d", i)
		if err := tfs.AddDynamicEvent(tracefs.UprobeEvents, fmt.Sprintf("%s:%s/%s %s:%#x", kind, group, ev, path, off)); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := tfs.RemoveDynamicEvent(tracefs.UprobeEvents, group, ev); err != nil {
				t.Errorf("removing %s/%s: %v", group, ev, err)
			}
		})
		id, err := tfs.EventID(group, ev)
		if err != nil {
			t.Fatal(err)
		}
		pfd, err := bpf.OpenTraceEvent(uint64(id))
		if err != nil {
			t.Fatal(err)
		}
		link, err := bpf.AttachPerfEvent(progs[i], pfd, bpf.AttachOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { link.Close() })
	}
}

// TestRunUprobes runs a script on uprobes and uretprobes of the test
// workload, whose arguments and return values are known, and checks the
// printed maps and printf output, strings read from user memory included.
func TestRunUprobes(t *testing.T) {
	testenv.RequireRoot(t)
	prog := testenv.TestProg(t)
	src := fmt.Sprintf(`
uprobe:%[1]s:%[2]s /arg1 != 5/ { @c[arg0, arg1] = count(); @s = sum(arg2 + arg5); }
uretprobe:%[1]s:%[2]s /retval == 54/ { @r = sum(retval); }
uprobe:%[1]s:%[2]s /arg1 == 5/ { printf("%%s %%d\n", str(arg0), arg1); }
`, prog, testenv.CABITarget)
	obj, err := script.CompileSource("u.bt", []byte(src), script.CheckOptions{}, script.Options{Arch: kernelArch(t), Output: script.OutputPerfEventArray})
	if err != nil {
		t.Fatal(err)
	}
	// Reading a perf event array needs package perf: check that variant
	// loads, and read printf records from the ring buffer.
	if err := loadObject(t, obj); err != nil {
		t.Fatal(err)
	}
	obj, err = script.CompileSource("u.bt", []byte(src), script.CheckOptions{}, script.Options{Arch: kernelArch(t)})
	if err != nil {
		t.Fatal(err)
	}
	maps, progs, err := load(t, obj)
	if err != nil {
		t.Fatal(err)
	}
	attachUprobes(t, obj, progs)

	for _, args := range [][]string{{"calls", "5", "7", "9"}, {"str", "hello", "3"}} {
		if out, err := exec.Command(prog, args...).CombinedOutput(); err != nil {
			t.Fatalf("testprog %v: %v\n%s", args, err, out)
		}
	}

	// cabi6(7, 9, 8, 10, 9, 11), five times, returns 54 each time.
	var out strings.Builder
	read := func(m *script.Map) ([]script.Entry, error) { return ReadMap(maps[m.Spec.Name], m) }
	if err := obj.WriteMaps(&out, read, nil); err != nil {
		t.Fatal(err)
	}
	if want := "@c[7, 9]: 5\n@r: 270\n@s: 95\n"; out.String() != want {
		t.Errorf("maps:\n%s\nwant:\n%s", out.String(), want)
	}

	rd, err := bpf.NewRingBufReader(maps[script.EventsMap])
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var text strings.Builder
	for i := 0; i < 3; i++ {
		rec, err := rd.Read(ctx)
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if _, err := obj.HandleRecord(&text, rec, nil); err != nil {
			t.Fatal(err)
		}
	}
	if want := strings.Repeat("hello 5\n", 3); text.String() != want {
		t.Errorf("printf output %q, want %q", text.String(), want)
	}
}

// TestRunProbeListSkips: a probe whose attach points are a list attaches
// those the system has and warns of the others, as bpftrace does for
// biolatency.bt's kprobe:blk_account_io_start, kprobe:__blk_account_io_start
// (a kernel has one or the other). A probe none of whose attach points
// attaches is an error naming each.
func TestRunProbeListSkips(t *testing.T) {
	testenv.RequireRoot(t)
	prog := testenv.TestProg(t)
	src := fmt.Sprintf("uprobe:%[1]s:%[2]s, uprobe:%[1]s:tracelet_no_such_function { @ = count(); }", prog, testenv.CABITarget)
	out := runGated(t, prog, src, RunOptions{}, "calls", "3", "1", "2")
	if !strings.Contains(out, "\n@: 3\n") {
		t.Errorf("output %q, want @: 3 from the attach point that exists", out)
	}
	// bpftrace counts the attach points it attaches (sslsnoop.bt on a
	// stripped libcrypto says 11 of its 25).
	if !strings.HasPrefix(out, "Attaching 1 probe...\n") {
		t.Errorf("output %q, want Attaching 1 probe... first", out)
	}
	// Neither resolves: the error comes before BEGIN runs.
	src = fmt.Sprintf("BEGIN { printf(\"began\\n\"); } uprobe:%[1]s:tracelet_no_such_a, uprobe:%[1]s:tracelet_no_such_b { @ = count(); }", prog)
	var buf strings.Builder
	r, err := Prepare("-e", []byte(src), RunOptions{Out: &buf})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	err = r.Start(nil)
	if err == nil || !strings.Contains(err.Error(), "tracelet_no_such_a") || !strings.Contains(err.Error(), "tracelet_no_such_b") {
		t.Errorf("Start: %v, want an error naming both attach points", err)
	}
	if buf.Len() != 0 {
		t.Errorf("output %q, want none: nothing is attached and BEGIN does not run", buf.String())
	}
}
