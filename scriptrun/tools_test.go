package scriptrun

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/tracelet/tracelet/asm"
	"github.com/tracelet/tracelet/btf"
	"github.com/tracelet/tracelet/internal/testenv"
	"github.com/tracelet/tracelet/script"
	"github.com/tracelet/tracelet/tracefs"
)

// toolsFailing are the bpftrace 0.17 tools that do not compile yet, with
// the start of the error each stops at. Every other tool must compile.
var toolsFailing = map[string]string{
	// Not the language's: with BTF, runqlen.bt's #ifndef BPFTRACE_HAVE_BTF
	// drops its own struct cfs_rq for the kernel's, whose nr_running
	// became nr_queued in Linux 6.13 (these formats are 6.18's); bpftrace
	// 0.17 stops at the same member. Its newer cfs_rq_partial version
	// (testdata/corpus/bpftrace/bpftrace/tools/runqlen.bt) compiles.
	"runqlen.bt": "runqlen.bt:37:16: struct cfs_rq has no field \"nr_running\"",
}

// TestBpftraceTools compiles bpftrace's own tools (testdata/bpftrace-tools,
// from bpftrace 0.17) against the tracepoint formats recorded from Linux
// 6.18, wildcards expanded over those formats. kaddr() is given a fixed
// address: resolving it is the runtime's business (loads.bt's avenrun is a
// data symbol, which /proc/kallsyms lists only with CONFIG_KALLSYMS_ALL).
func TestBpftraceTools(t *testing.T) {
	amd64, err := asm.ArchFor("amd64")
	if err != nil {
		t.Fatal(err)
	}
	// A tracefs whose events/ are the recorded formats, for Expand.
	root := t.TempDir()
	formats, err := filepath.Abs(filepath.Join(corpusDir, "formats", "6.18"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(formats, filepath.Join(root, "events")); err != nil {
		t.Fatal(err)
	}
	fs, err := tracefs.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(scriptTestdata, "bpftrace-tools", "*.bt"))
	if len(files) != 38 {
		t.Fatalf("%d tools in testdata/bpftrace-tools, want bpftrace 0.17's 38", len(files))
	}
	var ok []string
	for _, f := range files {
		name := filepath.Base(f)
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		err = compileTool(name, src, fs, amd64, fixtureBTF(t))
		want, failing := toolsFailing[name]
		switch {
		case err == nil && failing:
			t.Errorf("%s compiles now: remove it from toolsFailing", name)
		case err == nil:
			ok = append(ok, name)
		case !failing:
			t.Errorf("%s: %v", name, err)
		case !strings.HasPrefix(err.Error(), want):
			t.Errorf("%s:\n got %v\nwant prefix %q", name, err, want)
		}
	}
	sort.Strings(ok)
	t.Logf("%d of %d tools compile: %s", len(ok), len(files), strings.Join(ok, " "))
}

func compileTool(name string, src []byte, fs *tracefs.FS, arch *asm.Arch, spec *btf.Spec) error {
	prog, err := script.ParseWith(name, src, script.ParseOptions{Constant: enumConstants(spec)})
	if err != nil {
		return err
	}
	if err := script.Expand(prog, wildcards{fs}); err != nil {
		return err
	}
	info, err := script.Check(prog, script.CheckOptions{Formats: fixtureFormats, BTF: spec,
		KernelSymbol: func(string) (uint64, error) { return 0xffffffff82000000, nil }})
	if err != nil {
		return err
	}
	_, err = script.Compile(prog, info, script.Options{Arch: arch})
	return err
}

// opensnoop.bt, run as it is shipped, on this kernel: its probe list on
// sys_enter_open and sys_enter_openat (filename at different offsets)
// reports the workload's failed open with its pid, comm, errno and path.
func TestRunOpensnoopTool(t *testing.T) {
	testenv.RequireRoot(t)
	src, err := os.ReadFile(filepath.Join(scriptTestdata, "bpftrace-tools", "opensnoop.bt"))
	if err != nil {
		t.Fatal(err)
	}
	out := runGated(t, sbsProg(t), string(src), RunOptions{}, "open", "/nonexistent/opensnoop")
	lines := strings.Split(out, "\n")
	if len(lines) < 3 || lines[0] != "Attaching 6 probes..." || lines[1] != "Tracing open syscalls... Hit Ctrl-C to end." ||
		lines[2] != "PID    COMM               FD ERR PATH" {
		t.Fatalf("header:\n%s", out)
	}
	want := regexp.MustCompile(`^\d+ +` + sbsComm + ` +-1   2 /nonexistent/opensnoop$`)
	for _, l := range lines {
		if want.MatchString(l) {
			return
		}
	}
	t.Errorf("no line matching %s in:\n%s", want, out)
}

// execsnoop.bt, as shipped: sys_enter_exec* expanded on this kernel, and
// join() of the workload's argv after the printf of the same event.
func TestRunExecsnoopTool(t *testing.T) {
	testenv.RequireRoot(t)
	src, err := os.ReadFile(filepath.Join(scriptTestdata, "bpftrace-tools", "execsnoop.bt"))
	if err != nil {
		t.Fatal(err)
	}
	out := runGated(t, sbsProg(t), string(src), RunOptions{}, "exec", "/bin/true", "a", "bb", "ccc")
	lines := strings.Split(out, "\n")
	if len(lines) < 2 || lines[0] != "Attaching 3 probes..." || lines[1] != "TIME(ms)   PID   ARGS" {
		t.Fatalf("header:\n%s", out)
	}
	want := regexp.MustCompile(`^\d+ +\d+ +/bin/true a bb ccc$`)
	for _, l := range lines {
		if want.MatchString(l) {
			return
		}
	}
	t.Errorf("no line matching %s in:\n%s", want, out)
}
