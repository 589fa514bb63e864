package script

import (
	"runtime"
	"testing"

	"github.com/tracelet/tracelet/internal/testenv"
)

// A raw tracepoint's arguments by name, typed from the kernel's BTF: the
// regs pointer of sys_enter read through, and its id. bpftrace 0.17 has
// only arg0..argN on raw tracepoints, so this runs tracelet alone.
func TestRunRawTracepointArgs(t *testing.T) {
	testenv.RequireRoot(t)
	if runtime.GOARCH != "amd64" {
		t.Skip("reads x86_64's struct pt_regs (orig_ax, di) and kill's number, 62")
	}
	src := `rawtracepoint:sys_enter /comm == "` + sbsComm + `" && args->id == 62/ { @[comm, args.regs->orig_ax, args->regs->di == pid] = count(); }`
	out := runGated(t, sbsProg(t), src, RunOptions{}, "kill", "28", "5")
	want := "Attaching 1 probe...\n\n\n@[" + sbsComm + ", 62, 1]: 5\n"
	if out != want {
		t.Errorf("got %q\nwant %q", out, want)
	}
}
