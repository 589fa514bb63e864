package tracefs

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tracelet/tracelet/kprobeevents"
)

// errorLogCase is one block of a testdata/kernels/<release>/error_log.txt
// recording: a definition written to a real kernel, and what it logged.
type errorLogCase struct {
	file, written, errno, message string
	caret                         int // 0-based, in written; -1: no entry
}

func readErrorLogCases(t *testing.T, path string) []errorLogCase {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []errorLogCase
	var c *errorLogCase
	for _, l := range strings.Split(string(b), "\n") {
		switch {
		case strings.HasPrefix(l, "### "):
			out = append(out, errorLogCase{caret: -1})
			c = &out[len(out)-1]
		case c == nil:
		case strings.HasPrefix(l, "file: "):
			c.file = strings.TrimPrefix(l, "file: ")
		case strings.HasPrefix(l, "written: "):
			c.written = strings.TrimPrefix(l, "written: ")
		case strings.HasPrefix(l, "errno: "):
			c.errno = strings.TrimPrefix(l, "errno: ")
		case strings.HasPrefix(l, "caret: "):
			n, err := strconv.Atoi(strings.TrimPrefix(l, "caret: "))
			if err != nil {
				t.Fatalf("%s: %q", path, l)
			}
			c.caret = n
		case strings.Contains(l, " error: ") && c.message == "":
			c.message = l[strings.Index(l, " error: ")+len(" error: "):]
		}
	}
	return out
}

// kernelOfDir reads the kernel series and architecture from a fixture
// directory's name: "6.1.0-56-cloud-amd64", "6.12.117+deb12-cloud-arm64".
func kernelOfDir(t *testing.T, dir string) (kprobeevents.Kernel, kprobeevents.Arch, bool) {
	name := filepath.Base(dir)
	var arch kprobeevents.Arch
	switch {
	case strings.HasSuffix(name, "-amd64"):
		arch = kprobeevents.ArchX86_64
	case strings.HasSuffix(name, "-arm64"):
		arch = kprobeevents.ArchARM64
	default:
		return kprobeevents.Kernel{}, 0, false
	}
	k, err := kprobeevents.ParseKernel(name)
	if err != nil {
		t.Fatalf("%s: %v", dir, err)
	}
	return k, arch, true
}

// TestFixtureErrorLogAgreement replays every definition that a recorded
// kernel rejected with an error_log entry, and requires Parse, given that
// kernel's version, architecture and README features, to blame the same
// class at the kernel's caret. Rejections the kernel decides only at run
// time (a missing file or symbol) must pass Parse. This is the fixture
// half of the VM suite's live agreement test: it runs on any machine.
func TestFixtureErrorLogAgreement(t *testing.T) {
	targets := map[string]kprobeevents.Target{KprobeEvents: kprobeevents.TargetKprobe, UprobeEvents: kprobeevents.TargetUprobe, DynamicEvents: kprobeevents.TargetAuto}
	checked := 0
	for _, kd := range kernelDirs(t) {
		k, arch, ok := kernelOfDir(t, kd)
		if !ok {
			continue
		}
		path := filepath.Join(kd, "error_log.txt")
		if _, err := os.Stat(path); err != nil {
			continue
		}
		readme, err := os.ReadFile(filepath.Join(kd, "README"))
		if err != nil {
			t.Fatal(err)
		}
		feat, err := ParseFeatures(readme)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range readErrorLogCases(t, path) {
			if c.caret < 0 || c.message == "" {
				continue // accepted, or refused with no entry: the live test judges those
			}
			kind, ok := kprobeevents.KindOfMessage(c.message)
			if !ok {
				t.Errorf("%s: unknown error_log message %q", path, c.message)
				continue
			}
			target, ok := targets[c.file]
			if !ok {
				t.Fatalf("%s: control file %q", path, c.file)
			}
			_, err := kprobeevents.Parse(c.written, feat.Options(kprobeevents.Options{Arch: arch, Kernel: k, Target: target}))
			checked++
			if kind.RunTime() {
				if err != nil {
					t.Errorf("%s: %q: the kernel logged %s (known only at run time), Parse refused it: %v", filepath.Base(kd), c.written, kind, err)
				}
				continue
			}
			var e *kprobeevents.Error
			if !errors.As(err, &e) || e.Kind != kind || e.Col != c.caret {
				t.Errorf("%s: %q: the kernel logged %s at col %d, Parse said %v", filepath.Base(kd), c.written, kind, c.caret, err)
			}
		}
	}
	if checked < 100 {
		t.Fatalf("only %d recorded rejections checked", checked)
	}
	t.Logf("%d recorded rejections agree", checked)
}
