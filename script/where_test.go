package script

import (
	"strings"
	"testing"

	"github.com/tracelet/tracelet/kprobeevents"
)

// TestWhereTracefsFilter: --where predicates as tracefs filters, with the
// fetchargs each adds to the probe.
func TestWhereTracefsFilter(t *testing.T) {
	kp, err := kprobeevents.ParseProbe("p:rd vfs_read count=%dx:u64", kprobeevents.Options{Arch: kprobeevents.ArchX86_64})
	if err != nil {
		t.Fatal(err)
	}
	kr, err := kprobeevents.ParseProbe("r:rr vfs_read", kprobeevents.Options{Arch: kprobeevents.ArchX86_64})
	if err != nil {
		t.Fatal(err)
	}
	up, err := kprobeevents.ParseProbe("p:u /bin/true:0x100", kprobeevents.Options{Arch: kprobeevents.ArchARM64})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		expr  string
		p     *kprobeevents.Probe
		arch  kprobeevents.Arch
		want  string
		extra string
	}{
		{`comm == "bash" && args.count > 10`, kp, kprobeevents.ArchX86_64, `comm == "bash" && count > 10`, ""},
		{`arg1 == -1 || !(tid == 42)`, kp, kprobeevents.ArchX86_64, `__where0 == -1 || !(common_pid == 42)`, "__where0=$arg2:s64"},
		{`args.file->f_path.dentry->d_name.name != "x"`, kp, kprobeevents.ArchX86_64, `__where0 != "x"`, "__where0=file->f_path.dentry->d_name.name:string"},
		{`5 < args.file->f_pos`, kp, kprobeevents.ArchX86_64, `__where0 > 5`, "__where0=file->f_pos"},
		{`retval < 0`, kr, kprobeevents.ArchX86_64, `__where0 < 0`, "__where0=$retval:s64"},
		{`arg2 & 4`, up, kprobeevents.ArchARM64, `__where0 & 4`, "__where0=%x2:s64"},
		{`args.prev_pid == 1`, nil, kprobeevents.ArchX86_64, `prev_pid == 1`, ""},
	} {
		w, err := ParseWhere(c.expr)
		if err != nil {
			t.Errorf("%q: %v", c.expr, err)
			continue
		}
		f, extra, err := w.TracefsFilter(c.p, c.arch)
		if err != nil {
			t.Errorf("%q: %v", c.expr, err)
			continue
		}
		if f != c.want || strings.Join(extra, " ") != c.extra {
			t.Errorf("%q: got %q %q, want %q %q", c.expr, f, extra, c.want, c.extra)
		}
	}
}
