package kprobeevents

import (
	"strings"
	"testing"
)

// The placements tracefs writes on Debian's riscv64 6.12 kernel, whose
// kprobe_events took each of them where SYM+0 was refused (VM suite).
func TestPastFtraceSite(t *testing.T) {
	opts := Options{Arch: ArchRISCV64, Target: TargetKprobe}
	for _, c := range []struct{ in, want string }{
		{"p:g/open do_sys_openat2 dfd=$arg1:s32 path=+0($arg2):ustring",
			"p:g/open do_sys_openat2+8 dfd=%a0:s32 path=+0(%a1):ustring"},
		{"p:g/e vfs_read", "p:g/e vfs_read+8"},
		{"p:g/w __riscv_sys_openat path=+0(+88(%a0)):ustring", "p:g/w __riscv_sys_openat+8 path=+0(+88(%a0)):ustring"},
		// The event keeps the name the kernel would have given SYM+0.
		{"p:g/ vfs_read $arg3", "p:g/p_vfs_read_0 vfs_read+8 arg1=%a2"},
	} {
		p, err := ParseProbe(c.in, opts)
		if err != nil {
			t.Fatalf("%s: %v", c.in, err)
		}
		q, err := PastFtraceSite(p, ArchRISCV64)
		if err != nil {
			t.Fatalf("%s: %v", c.in, err)
		}
		if got := q.String(); got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.in, got, c.want)
		}
		if p.String() == q.String() {
			t.Errorf("%s: the original probe changed", c.in)
		}
		// What is written must be what the parser accepts for the kernel.
		if _, err := ParseProbe(q.String(), opts); err != nil {
			t.Errorf("%s: the placed probe does not parse: %v", q, err)
		}
	}
	for _, c := range []struct {
		in   string
		arch Arch
		why  string
	}{
		{"r:g/r do_sys_openat2 ret=$retval", ArchRISCV64, "kretprobe cannot be moved"},
		{"p:g/o vfs_read+4", ArchRISCV64, "only a kprobe at SYM+0"},
		{"p:g/x vfs_read", ArchX86_64, "no ftrace patch site"},
		{"p:g/a vfs_read $arg9", ArchRISCV64, "not passed in a register"},
	} {
		o := opts
		o.Arch = c.arch
		p, err := ParseProbe(c.in, o)
		if err != nil {
			t.Fatalf("%s: %v", c.in, err)
		}
		if _, err := PastFtraceSite(p, c.arch); err == nil || !strings.Contains(err.Error(), c.why) {
			t.Errorf("%s on %s: %v, want an error saying %q", c.in, c.arch, err, c.why)
		}
	}
}
