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
	want := "kprobe_event=p:tracelet_reads/vfs_read__entry,vfs_read,arg1=+0(+40(+72(%di))):string,count=%dx:u64;p:tracelet_reads/pos,vfs_read,arg1=+112(%di):s64\n"
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
