package vmtest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"
)

func feed(r *Report, transcript string) *Report {
	for _, line := range strings.Split(transcript, "\n") {
		r.Line(line)
	}
	return r
}

const passTranscript = `SeaBIOS (version 1.16.2-debian-1.16.2-1)
[    0.812345] Run /init as init process
=== TRACELET-VM-BOOT release=6.1.0-56-cloud-amd64 machine=x86_64 cpus=2
=== TRACELET-VM-BEGIN pkg=internal/vmtest/guest
=== RUN   TestA
--- PASS: TestA (0.01s)
=== RUN   TestB
=== RUN   TestB/sub
--- PASS: TestB (0.20s)
    --- PASS: TestB/sub (0.10s)
=== RUN   TestC
    c_test.go:12: this kernel lacks X
--- SKIP: TestC (0.00s)
PASS
=== TRACELET-VM-RESULT pkg=internal/vmtest/guest status=0
=== TRACELET-VM-BEGIN pkg=kprobeevents
ok
=== TRACELET-VM-RESULT pkg=kprobeevents status=0
=== TRACELET-VM-DONE rc=0
[    2.447681] reboot: Power down`

func TestReportPass(t *testing.T) {
	r := feed(&Report{Expected: []string{"internal/vmtest/guest", "kprobeevents"}}, passTranscript)
	if err := r.Err(); err != nil {
		t.Fatalf("Err = %v", err)
	}
	if r.Release != "6.1.0-56-cloud-amd64" || r.Machine != "x86_64" || !r.Done || r.RC != 0 {
		t.Errorf("report = %+v", r)
	}
	// Subtests are printed after their parent's line, indented; the
	// report keeps the printed order.
	want := "[{TestA PASS 0.01s} {TestB PASS 0.20s} {TestB/sub PASS 0.10s} {TestC SKIP 0.00s}]"
	if got := fmt.Sprint(r.Packages[0].Tests); got != want {
		t.Errorf("tests = %s, want %s", got, want)
	}
	if out := r.Packages[0].Output(); len(out) != 10 || out[0] != "=== RUN   TestA" {
		t.Errorf("output = %q", out)
	}
}

func TestReportFailures(t *testing.T) {
	for _, c := range []struct {
		name       string
		expected   []string
		transcript string
		report     func(*Report)
		want       []string // substrings of Err
	}{
		{
			name:       "test failure",
			expected:   []string{"p"},
			transcript: "=== TRACELET-VM-BOOT release=r machine=m\n=== TRACELET-VM-BEGIN pkg=p\n--- FAIL: TestX (0.00s)\nFAIL\n=== TRACELET-VM-RESULT pkg=p status=1\n=== TRACELET-VM-DONE rc=1",
			want:       []string{"package p: exit status 1 (failed: TestX)"},
		},
		{
			name:       "missing result",
			expected:   []string{"p", "q"},
			transcript: "=== TRACELET-VM-BOOT release=r machine=m\n=== TRACELET-VM-BEGIN pkg=p\n=== TRACELET-VM-RESULT pkg=p status=0\n=== TRACELET-VM-DONE rc=0",
			want:       []string{"package q: no result"},
		},
		{
			name:       "panic mid-package",
			expected:   []string{"p"},
			transcript: "=== TRACELET-VM-BOOT release=r machine=m\n=== TRACELET-VM-BEGIN pkg=p\n=== RUN   TestX\n[    5.123] BUG: kernel NULL pointer dereference, address: 0000000000000008\n[    5.124] Oops: 0000 [#1] PREEMPT SMP NOPTI\n[    5.130] Kernel panic - not syncing: Fatal exception",
			want:       []string{"kernel crashed: [    5.123] BUG: kernel NULL pointer", "Oops: 0000 [#1]", "Kernel panic - not syncing", "package p: no result", "no DONE line"},
		},
		{
			name:       "arm64 oops",
			transcript: "=== TRACELET-VM-BOOT release=r machine=aarch64\n[   3.1] Internal error: Oops: 0000000096000004 [#1] SMP\n=== TRACELET-VM-DONE rc=0",
			want:       []string{"kernel crashed: [   3.1] Internal error: Oops"},
		},
		{
			name:       "init killed",
			transcript: "=== TRACELET-VM-BOOT release=r machine=m\n[    1.9] Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000100",
			want:       []string{"Attempted to kill init", "no DONE line"},
		},
		{
			name:       "does not boot",
			expected:   []string{"p"},
			transcript: "[    0.5] Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)",
			want:       []string{"kernel crashed", "never reached /init"},
		},
		{
			name:       "silent: nothing at all",
			expected:   []string{"p"},
			transcript: "",
			want:       []string{"never reached /init"},
		},
		{
			name:       "time-out",
			expected:   []string{"p"},
			transcript: "=== TRACELET-VM-BOOT release=r machine=m\n=== TRACELET-VM-BEGIN pkg=p\n=== RUN   TestSlow",
			report:     func(r *Report) { r.TimedOut = 20 * time.Minute },
			want:       []string{"guest timed out after 20m0s, in package p"},
		},
		{
			name:       "hung",
			expected:   []string{"p"},
			transcript: "=== TRACELET-VM-BOOT release=r machine=m\n=== TRACELET-VM-BEGIN pkg=p",
			report:     func(r *Report) { r.Stalled = 5 * time.Minute },
			want:       []string{"guest hung: no console output for 5m0s, in package p"},
		},
		{
			name:       "init exit status only",
			transcript: "=== TRACELET-VM-BOOT release=r machine=m\n=== TRACELET-VM-DONE rc=3",
			want:       []string{"/init finished with rc=3"},
		},
		{
			name:       "qemu failed",
			transcript: "",
			report:     func(r *Report) { r.RunErr = fmt.Errorf("qemu-system-x86_64: exit status 1") },
			want:       []string{"qemu-system-x86_64: exit status 1", "never reached /init"},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := feed(&Report{Expected: c.expected}, c.transcript)
			if c.report != nil {
				c.report(r)
			}
			err := r.Err()
			if err == nil {
				t.Fatal("Err = nil, want a failure")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Err = %q\nwant it to contain %q", err, w)
				}
			}
		})
	}
}

// TestReportWarningsDoNotFail: a soft lockup under a loaded TCG host is
// reported, not failed; a test's own output that merely mentions a panic
// in prose is not a crash.
func TestReportWarningsDoNotFail(t *testing.T) {
	r := feed(&Report{Expected: []string{"p"}}, "=== TRACELET-VM-BOOT release=r machine=m\n=== TRACELET-VM-BEGIN pkg=p\n[   30.1] watchdog: BUG: soft lockup - CPU#1 stuck for 23s! [x:1]\n    t.go:1: the kernel would panic if we did that\n=== TRACELET-VM-RESULT pkg=p status=0\n=== TRACELET-VM-DONE rc=0")
	if err := r.Err(); err != nil {
		t.Fatalf("Err = %v", err)
	}
	if len(r.Warnings) != 1 {
		t.Errorf("warnings = %q", r.Warnings)
	}
}

// TestReportMarkerAfterKernelText: a printk can land on the same console
// line before a marker when the previous output lacked a newline.
func TestReportMarkerAfterKernelText(t *testing.T) {
	r := feed(&Report{Expected: []string{"p"}}, "=== TRACELET-VM-BOOT release=r machine=m\n=== TRACELET-VM-BEGIN pkg=p\nno newline here[    4.2] random: crng init done=== TRACELET-VM-RESULT pkg=p status=0\r\n=== TRACELET-VM-DONE rc=0\r")
	if err := r.Err(); err != nil {
		t.Fatalf("Err = %v", err)
	}
}

func frame(name string, data []byte, width int) string {
	sum := sha256.Sum256(data)
	enc := base64.StdEncoding.EncodeToString(data)
	var b strings.Builder
	fmt.Fprintf(&b, "=== TRACELET-VM-FILE name=%s size=%d sha256=%s\n", name, len(data), hex.EncodeToString(sum[:]))
	for len(enc) > 0 {
		k := min(width, len(enc))
		b.WriteString(enc[:k] + "\n")
		enc = enc[k:]
	}
	fmt.Fprintf(&b, "=== TRACELET-VM-FILE-END name=%s\n", name)
	return b.String()
}

func TestReportFiles(t *testing.T) {
	data := []byte("name: sys_enter_openat\nID: 1\nformat:\n\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;\n")
	big := []byte(strings.Repeat("x", 1000))
	f1 := frame("events/syscalls/sys_enter_openat/format", data, 76)
	// A kernel message lands inside the second frame; it is not base64
	// and is skipped.
	f2 := frame("big", big, 76)
	lines := strings.Split(f2, "\n")
	f2 = strings.Join(append(lines[:3:3], append([]string{"[    3.3] random: crng init done"}, lines[3:]...)...), "\n")
	r := feed(&Report{Expected: []string{"fixtures"}}, "=== TRACELET-VM-BOOT release=r machine=m\n=== TRACELET-VM-BEGIN pkg=fixtures\n"+f1+f2+"=== TRACELET-VM-RESULT pkg=fixtures status=0\n=== TRACELET-VM-DONE rc=0")
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	if string(r.Files["events/syscalls/sys_enter_openat/format"]) != string(data) || string(r.Files["big"]) != string(big) {
		t.Errorf("files = %q", r.Files)
	}

	// A corrupted line fails the checksum and the run.
	bad := strings.Replace(frame("f", data, 76), "bmFt", "bmFu", 1)
	r = feed(&Report{}, "=== TRACELET-VM-BOOT release=r machine=m\n"+bad+"=== TRACELET-VM-DONE rc=0")
	if err := r.Err(); err == nil || !strings.Contains(err.Error(), "sha256 mismatch") {
		t.Errorf("corrupted frame: Err = %v", err)
	}
	// A name that would escape the fixture directory is refused.
	r = feed(&Report{}, "=== TRACELET-VM-BOOT release=r machine=m\n"+frame("../../etc/passwd", data, 76)+"=== TRACELET-VM-DONE rc=0")
	if err := r.Err(); err == nil || len(r.Files) != 0 {
		t.Errorf("escaping name: Err = %v, files %q", err, r.Files)
	}
}

func TestLineRingBounded(t *testing.T) {
	l := newLineRing(3)
	for i := 0; i < 10; i++ {
		l.add(fmt.Sprint(i))
	}
	if got := fmt.Sprint(l.lines()); got != "[7 8 9]" {
		t.Errorf("lines = %s", got)
	}
}

// TestSoftLockup: a short lockup of a TCG guest is a warning, a CPU stuck
// for minutes is fatal.
func TestSoftLockup(t *testing.T) {
	r := &Report{}
	r.Line("[   40.1] watchdog: BUG: soft lockup - CPU#1 stuck for 22s! [go:99]")
	if len(r.Fatal) != 0 || len(r.Warnings) != 1 {
		t.Errorf("22s lockup: fatal %q, warnings %q", r.Fatal, r.Warnings)
	}
	r.Line("[  632.5] watchdog: BUG: soft lockup - CPU#1 stuck for 574s! [tools.test:250]")
	if len(r.Fatal) != 1 {
		t.Errorf("574s lockup: fatal %q", r.Fatal)
	}
}

// TestEarlyCrash: only a kernel crash before /init's boot line is one the
// harness boots again after; a crash during the tests is not.
func TestEarlyCrash(t *testing.T) {
	early := feed(&Report{Expected: []string{"p"}}, "[    0.420970] traps: PANIC: double fault, error_code: 0x0\n[    0.420970] Oops: double fault: 0000 [#1] PREEMPT SMP NOPTI\n")
	if c := early.EarlyCrash(); !strings.Contains(c, "Oops: double fault") {
		t.Errorf("a crash before /init: EarlyCrash %q", c)
	}
	late := feed(&Report{Expected: []string{"p"}}, "=== TRACELET-VM-BOOT release=r machine=m\n=== TRACELET-VM-BEGIN pkg=p\n[   40.1] Oops: general protection fault: 0000 [#1] SMP\n")
	if c := late.EarlyCrash(); c != "" {
		t.Errorf("a crash after /init started: EarlyCrash %q, want none", c)
	}
	silent := feed(&Report{Expected: []string{"p"}}, "[    0.1] booting\n")
	if c := silent.EarlyCrash(); c != "" {
		t.Errorf("no crash at all: EarlyCrash %q", c)
	}
	again := feed(&Report{Expected: []string{"p"}, BootCrash: "first"}, "[    0.4] Oops: double fault: 0000 [#1] SMP\n")
	if c := again.EarlyCrash(); c != "" {
		t.Errorf("a second boot is never tried again: EarlyCrash %q", c)
	}
}
