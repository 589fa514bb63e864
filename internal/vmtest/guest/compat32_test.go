package guest

import (
	"fmt"
	"os"
	"os/exec"
	"testing"

	"github.com/tracelet/tracelet/internal/testenv"
	"github.com/tracelet/tracelet/tracefs"
)

// TestCompatUprobeKernel: what the kernel itself does with a uprobe in a
// 32-bit process under a 64-bit kernel, through uprobe_events and
// uprobe_profile alone. x86_64 places it, and the hits are counted (the
// cdecl arguments are then read by tracelet's tests, TestRunUprobeCompat32
// and TestCLIWhereCompat32). arm64 accepts the event and never sets the
// breakpoint: arch_uprobe_analyze_insn returns EOPNOTSUPP for an AArch32 mm
// ("we do not support AARCH32 instruction probing"), and uprobe_mmap drops
// that error, so the calls run unseen. That is why tracelet refuses such a
// probe (tracefs.ErrNoCompatUprobes); should a kernel learn it, this test
// fails and the refusal can go.
func TestCompatUprobeKernel(t *testing.T) {
	testenv.RequireRoot(t)
	prog := testenv.TestProg32(t)
	fsys, err := tracefs.Find()
	if err != nil {
		t.Fatal(err)
	}
	path, off, err := tracefs.ResolveSymbol(prog, testenv.CABITarget32)
	if err != nil {
		t.Fatal(err)
	}
	group := fmt.Sprintf("tracelet_%d_compat", os.Getpid())
	if err := fsys.AddDynamicEvent(tracefs.UprobeEvents, fmt.Sprintf("p:%s/cabi %s:%#x", group, path, off)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := fsys.RemoveDynamicEvent(tracefs.UprobeEvents, group, "cabi"); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	if err := fsys.Enable(group, "cabi"); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := fsys.Disable(group, "cabi"); err != nil {
			t.Errorf("disable: %v", err)
		}
	}()
	if out, err := exec.Command(prog, "calls", "3", "7", "9").CombinedOutput(); err != nil {
		t.Fatalf("%s calls 3 7 9: %v\n%s", prog, err, out)
	}
	prof, err := fsys.Profile("uprobe_profile")
	if err != nil {
		t.Fatal(err)
	}
	hits := -1
	for _, e := range prof {
		// uprobe_profile names the event without its group.
		if e.Path == path && e.Event == "cabi" {
			hits = int(e.Hits)
		}
	}
	want := 3
	if tracefs.KernelArch().String() == "arm64" {
		want = 0
	}
	if hits != want {
		t.Errorf("uprobe_profile: %d hits of %s:%#x (%s kernel), want %d", hits, path, off, tracefs.KernelArch(), want)
	}
}
