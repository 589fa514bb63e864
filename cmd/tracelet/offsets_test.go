package main

import (
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// btfFile writes the 6.18 BTF fixture, uncompressed, for --btf.
func btfFile(t *testing.T) string {
	t.Helper()
	f, err := os.Open("../../btf/testdata/vmlinux-6.18.44-fc-v1300.btf.gz")
	if os.IsNotExist(err) && os.Getenv("TRACELET_VM") != "" {
		// The VM suite's guests get a package's testdata and ../testdata
		// only; the host runs these tests on the fixture.
		t.Skip("no BTF fixture in the guest:", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "vmlinux.btf")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestBootOffsets: boot scripts for a 6.1 board written from another
// kernel's BTF: the fprobe becomes a kprobe and the member chain
// registers and offsets (struct file's f_path.dentry at 72 and struct
// dentry's d_name.name at 40 in that BTF; tracefs tests cross-check them
// with package btf).
func TestBootOffsets(t *testing.T) {
	bt := btfFile(t)
	plan := filepath.Join(t.TempDir(), "reads.plan")
	if err := os.WriteFile(plan, []byte("f vfs_read file->f_path.dentry->d_name.name:string count\np:pos vfs_read file->f_pos\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got := mustCLI(t, "bootargs", "--btf", bt, "--kernel", "6.1", "--arch", "x86_64", plan)
	want := "ftrace=nop kprobe_event=p:tracelet_reads/vfs_read__entry,vfs_read,arg1=+0(+40(+72(%di))):string,count=%dx:u64;p:tracelet_reads/pos,vfs_read,arg1=+112(%di):s64\n"
	if got != want {
		t.Errorf("bootargs:\n got %q\nwant %q", got, want)
	}
	got = mustCLI(t, "bootconfig", "--btf", bt, "--kernel", "6.1", "--arch", "x86_64", plan)
	for _, line := range []string{
		`ftrace.instance.tracelet_reads.event.kprobes.vfs_read__entry.probes = "vfs_read arg1=+0(+40(+72(%di))):string count=%dx:u64"`,
		`ftrace.instance.tracelet_reads.event.kprobes.pos.probes = "vfs_read arg1=+112(%di):s64"`,
	} {
		if !strings.Contains("\n"+got, "\n"+line+"\n") {
			t.Errorf("bootconfig lacks %s:\n%s", line, got)
		}
	}
}

// TestBootOffsetsScript: a script's fentry with args members, kprobe with
// a struct cast and fexit, for a 6.1 board from another kernel's BTF,
// become kprobes whose members are registers and offsets (the fixture's,
// as in TestBootOffsets), in kprobe_event= and in bootconfig; for arm64
// the registers are x0 and x2.
func TestBootOffsetsScript(t *testing.T) {
	bt := btfFile(t)
	src := filepath.Join(t.TempDir(), "reads.bt")
	if err := os.WriteFile(src, []byte(`fentry:vfs_read { printf("%s %d\n", str(args.file->f_path.dentry->d_name.name), args.count); }
kprobe:vfs_read { printf("%d\n", ((struct file *)arg0)->f_pos); }
kretfunc:vfs_read { printf("%d\n", retval); }
`), 0o600); err != nil {
		t.Fatal(err)
	}
	got := mustCLI(t, "bootargs", "--btf", bt, "--kernel", "6.1", "--arch", "x86_64", src)
	want := "ftrace=nop kprobe_event=p:tracelet_reads/vfs_read,vfs_read,name=+0(+40(+72(%di))):string,count=%dx:u64;p:tracelet_reads/vfs_read_2,vfs_read,f_pos=+112(%di):s64;r:tracelet_reads/vfs_read_ret,vfs_read,retval=$retval:s64\n"
	if got != want {
		t.Errorf("bootargs:\n got %q\nwant %q", got, want)
	}
	got = mustCLI(t, "bootconfig", "--btf", bt, "--kernel", "6.1", "--arch", "arm64", src)
	for _, line := range []string{
		`ftrace.instance.tracelet_reads.event.kprobes.vfs_read.probes = "vfs_read name=+0(+40(+72(%x0))):string count=%x2:u64"`,
		`ftrace.instance.tracelet_reads.event.kprobes.vfs_read_2.probes = "vfs_read f_pos=+112(%x0):s64"`,
		`ftrace.instance.tracelet_reads.event.kprobes.vfs_read_ret.probes = "vfs_read%return retval=$retval:s64"`,
	} {
		if !strings.Contains("\n"+got, "\n"+line+"\n") {
			t.Errorf("bootconfig lacks %s:\n%s", line, got)
		}
	}
	// An fexit reading an argument needs the kernel's $argN at return,
	// which a 6.1 board lacks: refused, naming it, before any output.
	if err := os.WriteFile(src, []byte(`fexit:vfs_read { printf("%d\n", args.count); }`), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, "bootargs", "--btf", bt, "--kernel", "6.1", "--arch", "x86_64", src)
	if r.code != 1 || r.out != "" || !strings.Contains(r.err, "reads.bt:1:38: tracefs backend: args.count of fexit:vfs_read is read at the function's return, which needs the kernel's $argN on a return probe") {
		t.Errorf("fexit args on 6.1: exit %d, stdout %q, stderr %s", r.code, r.out, r.err)
	}
}

// TestProbeAddDryRunBTF: --dry-run shows what was written and what would
// be, and refuses bad names with the kernel's class and caret.
func TestProbeAddDryRunBTF(t *testing.T) {
	bt := btfFile(t)
	got := mustCLI(t, "probe", "add", "--dry-run", "--btf", bt, "f vfs_read file->f_path.dentry->d_name.name:string count")
	want := `# f vfs_read file->f_path.dentry->d_name.name:string count
#   its arguments are read through registers: the fprobe on vfs_read is written as a kprobe
#   arg1=file->f_path.dentry->d_name.name:string becomes +0(+40(+72(%di))):string (argument registers and member offsets from BTF)
#   count=count becomes %dx:u64 (argument registers and member offsets from BTF)
p:tracelet/vfs_read__entry vfs_read arg1=+0(+40(+72(%di))):string count=%dx:u64 >> kprobe_events
`
	// Where the kernel has no fprobes at all, the note says that instead.
	got = strings.Replace(got, "the kernel has no fprobe events:", "its arguments are read through registers:", 1)
	if got != want {
		t.Errorf("dry run:\n got %s\nwant %s", got, want)
	}
	for _, c := range []struct{ spec, err string }{
		{"p:x vfs_read filp", `tracelet: probe "p:x vfs_read filp", col 13: NO_BTFARG: vfs_read has no argument "filp" (vfs_read's arguments are file, buf, count, pos)
      Command: p:x vfs_read filp
                            ^
`},
		{"p:x vfs_read file->f_nosuch", `tracelet: probe "p:x vfs_read file->f_nosuch", col 19: NO_BTF_FIELD: struct file has no member "f_nosuch"
      Command: p:x vfs_read file->f_nosuch
                                  ^
`},
		{"p:x vfs_read file->f_pos:string", `tracelet: probe "p:x vfs_read file->f_pos:string", col 13: BAD_TYPE4STR: file->f_pos is not a string (a string is a char array or a char pointer)
      Command: p:x vfs_read file->f_pos:string
                            ^
`},
	} {
		r := runCLI(t, "probe", "add", "--dry-run", "--btf", bt, c.spec)
		if r.code != 1 || r.err != c.err || r.out != "" {
			t.Errorf("%q: exit %d\nstdout %q\nstderr %s\nwant   %s", c.spec, r.code, r.out, r.err, c.err)
		}
	}
}
