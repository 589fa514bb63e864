package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tracelet/tracelet/internal/testenv"
	"github.com/tracelet/tracelet/tracefs"
)

// TestRunUprobeCompat32: a uprobe on a 32-bit executable under a 64-bit
// kernel reads the arguments by the file's calling convention, not the
// kernel's. testprog's cabi6 calls cabiTarget(7, 9, 8, 10, 9, 11) as a C
// caller of its architecture does (cdecl on i386: all on the stack), and
// cabiTarget returns their sum, 54. With the kernel's table the values would
// be x86_64's di, si, ... of a process that never set them. On arm64 the
// kernel places no uprobe in AArch32 code, and tracelet says so.
func TestRunUprobeCompat32(t *testing.T) {
	testenv.RequireRoot(t)
	prog := testenv.TestProg32(t)
	src := fmt.Sprintf(`uprobe:%[1]s:%[2]s { printf("%%d %%d %%d %%d %%d %%d\n", arg0, arg1, arg2, arg3, arg4, arg5); }
uretprobe:%[1]s:%[2]s { printf("ret %%d\n", retval); }`, prog, testenv.CABITarget32)
	for _, backend := range []string{"bpf", "tracefs"} {
		t.Run(backend, func(t *testing.T) {
			r := runCLI(t, "run", "--backend", backend, "-c", prog+" calls 2 7 9", "-e", src)
			if tracefs.KernelArch().String() == "arm64" {
				if r.code == 0 || !strings.Contains(r.err, tracefs.ErrNoCompatUprobes.Error()) {
					t.Fatalf("exit %d, stderr %q: want the refusal %q", r.code, r.err, tracefs.ErrNoCompatUprobes)
				}
				return
			}
			if r.code != 0 {
				t.Fatalf("exit %d\nstdout: %s\nstderr: %s", r.code, r.out, r.err)
			}
			args, rets := 0, 0
			for _, l := range strings.Split(r.out, "\n") {
				switch l {
				case "7 9 8 10 9 11":
					args++
				case "ret 54":
					rets++
				}
			}
			if args != 2 || rets != 2 {
				t.Errorf("%d argument lines and %d return lines, want 2 and 2:\n%s\nstderr: %s", args, rets, r.out, r.err)
			}
		})
	}
}
