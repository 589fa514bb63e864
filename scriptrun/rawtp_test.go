package scriptrun

import (
	"runtime"
	"testing"

	"github.com/tracelet/tracelet/internal/testenv"
)

// A raw tracepoint's arguments by name, typed from the kernel's BTF (as
// tp_btf and as raw_tp): the
// regs pointer of sys_enter read through, and its id. bpftrace 0.17 has
// only arg0..argN on raw tracepoints, so this runs tracelet alone.
func TestRunRawTracepointArgs(t *testing.T) {
	testenv.RequireRoot(t)
	if runtime.GOARCH != "amd64" {
		t.Skip("reads x86_64's struct pt_regs (orig_ax, di) and kill's number, 62")
	}
	src := `rawtracepoint:sys_enter /comm == "` + sbsComm + `" && args->id == 62/ { @[comm, args.regs->orig_ax, args->regs->di == pid] = count(); }`
	// tp_btf where the kernel has it (members of args loaded directly),
	// and raw_tp (read with bpf_probe_read_kernel).
	for _, rawTP := range []bool{false, true} {
		out := runGated(t, sbsProg(t), src, RunOptions{rawTP: rawTP}, "kill", "28", "5")
		want := "Attaching 1 probe...\n\n\n@[" + sbsComm + ", 62, 1]: 5\n"
		if out != want {
			t.Errorf("raw_tp %v: got %q\nwant %q", rawTP, out, want)
		}
	}
}
