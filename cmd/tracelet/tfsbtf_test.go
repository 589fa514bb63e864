package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracelet/tracelet/internal/testenv"
	"github.com/tracelet/tracelet/tracefs"
)

// TestRunTracefsBTF: `run --backend tracefs` of an fentry script with
// args members and of a kprobe script with struct casts, on a known
// workload: dd reads 10 bytes of a 4321-byte file with a name of this
// test's own, and both scripts print that name (struct file's
// f_path.dentry->d_name.name), the count and the file's size
// (f_inode->i_size) exactly once. The fentry script is an fprobe with the
// kernel's BTF arguments where this kernel's tracefs has fprobes and BTF
// member access (6.12), else a kprobe whose members are offsets from the
// kernel's BTF (6.1); `run -d` shows which. -c filters the events to dd's
// pid.
func TestRunTracefsBTF(t *testing.T) {
	testenv.RequireKprobes(t)
	if _, err := os.Stat(tracefs.VmlinuxBTF); err != nil {
		t.Skipf("this kernel has no BTF (%v): struct members need it (CONFIG_DEBUG_INFO_BTF)", err)
	}
	fs, err := tracefs.Find()
	if err != nil {
		t.Fatal(err)
	}
	feat, err := fs.Features()
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("tfsbtf-%d.dat", os.Getpid())
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(strings.Repeat("x", 4321)), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := "dd if=" + path + " of=/dev/null bs=10 count=1"
	fprobe := feat.Fprobe && feat.BTFArgs && feat.BTFFields
	t.Logf("fprobes with BTF members: %v; arguments at return: %v", fprobe, feat.ArgNReturn)
	for _, c := range []struct {
		name, src, def string
	}{
		{"fentry", `fentry:vfs_read { printf("%s %d %d\n", str(args.file->f_path.dentry->d_name.name), args.count, args.file->f_inode->i_size); }`,
			map[bool]string{true: "f:GROUP/EVENT vfs_read name=file->f_path.dentry->d_name.name:string count=count:u",
				false: "p:GROUP/EVENT vfs_read name=+0(+"}[fprobe]},
		{"kprobe-cast", `kprobe:vfs_read { printf("%s %d %d\n", str(((struct file *)arg0)->f_path.dentry->d_name.name), arg2, ((struct file *)arg0)->f_inode->i_size); }`,
			"p:GROUP/EVENT vfs_read name=+0(+"},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := c.src
			d := mustCLI(t, "run", "-d", "--backend", "tracefs", "-e", src)
			if !strings.Contains(d, "definition: "+c.def) {
				t.Errorf("run -d: no definition starting %q (fprobes and BTF members here: %v):\n%s", c.def, fprobe, d)
			}
			r := runCLI(t, "run", "--backend", "tracefs", "-c", cmd, "-e", src)
			if r.code != 0 {
				t.Fatalf("exit %d\nstdout: %s\nstderr: %s", r.code, r.out, r.err)
			}
			var got []string
			for _, l := range strings.Split(r.out, "\n") {
				if strings.HasPrefix(l, "tfsbtf-") {
					got = append(got, l)
				}
			}
			if want := name + " 10 4321"; len(got) != 1 || got[0] != want {
				t.Errorf("lines naming the file: %q, want exactly %q\nstdout: %s\nstderr: %s", got, want, r.out, r.err)
			}
		})
	}
	// fexit reads an argument at the return: an fprobe where the kernel
	// keeps the arguments for it (6.10+), else refused, naming it, before
	// anything is written.
	t.Run("fexit", func(t *testing.T) {
		src := `fexit:vfs_read { printf("%s %d\n", str(args.file->f_path.dentry->d_name.name), retval); }`
		r := runCLI(t, "run", "--backend", "tracefs", "-c", cmd, "-e", src)
		if !(fprobe && feat.ArgNReturn) {
			if r.code == 0 || r.out != "" || !strings.Contains(r.err, "-e:1:73: tracefs backend: args.file of fexit:vfs_read is read at the function's return, which needs the kernel's $argN on a return probe") {
				t.Errorf("exit %d, stdout %q, stderr %s; want the refusal naming $argN on a return probe", r.code, r.out, r.err)
			}
			return
		}
		if r.code != 0 {
			t.Fatalf("exit %d\nstdout: %s\nstderr: %s", r.code, r.out, r.err)
		}
		var got []string
		for _, l := range strings.Split(r.out, "\n") {
			if strings.HasPrefix(l, "tfsbtf-") {
				got = append(got, l)
			}
		}
		if want := name + " 10"; len(got) != 1 || got[0] != want {
			t.Errorf("lines naming the file: %q, want exactly %q\nstdout: %s\nstderr: %s", got, want, r.out, r.err)
		}
	})
}
