package trace

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracelet/tracelet/internal/testenv"
)

// TestFprobeMemberChain traces one read of a known file with the same
// spelling on every kernel: an fprobe on vfs_read that follows
// file->f_path.dentry->d_name.name and names the count. Debian's 6.12
// follows the members itself (its README lists <argname> and ->); 6.1
// has neither fprobes nor BTF arguments, so tracelet writes the kprobe on
// vfs_read with the argument registers and the offsets from the kernel's
// BTF (kprobeevents.Lower). Both must give the same fields.
func TestFprobeMemberChain(t *testing.T) {
	testenv.RequireKprobes(t)
	if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err != nil {
		t.Skip("no kernel BTF:", err)
	}
	known := filepath.Join(t.TempDir(), fmt.Sprintf("tracelet-member-%d", os.Getpid()))
	if err := os.WriteFile(known, make([]byte, 4096), 0o600); err != nil {
		t.Fatal(err)
	}
	const count = 123
	w := startWaiting(t, "read", known, fmt.Sprint(count))
	spec := "f:rd vfs_read file->f_path.dentry->d_name.name:string count"
	s := newSession(t, Options{Specs: []string{spec}, PID: w.cmd.Process.Pid})
	for _, ev := range s.Events() {
		t.Logf("defined %s: %s", ev.Name(), ev.Spec.Probe)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	w.run(t)
	found := 0
	for _, e := range drain(t, s) {
		if e.Fields["arg1"].String() != filepath.Base(known) {
			continue
		}
		found++
		t.Logf("%s", e.Text)
		if got := e.Fields["count"].Uint; got != count {
			t.Errorf("count = %d, want %d", got, count)
		}
		if want := fmt.Sprintf(` arg1="%s" count=%d`, filepath.Base(known), count); !strings.HasSuffix(e.Text, want) {
			t.Errorf("line %q lacks %q", e.Text, want)
		}
	}
	if found != 1 {
		t.Errorf("%d events for %s, want 1", found, filepath.Base(known))
	}
}
