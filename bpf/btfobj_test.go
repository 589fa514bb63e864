package bpf

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/tracelet/tracelet/btf"
	"github.com/tracelet/tracelet/internal/testenv"
)

// ModuleBTF opens the BTF object of every module that /sys/kernel/btf
// lists (brd among them, loaded here); a name no module has wraps
// fs.ErrNotExist.
func TestModuleBTF(t *testing.T) {
	testenv.RequireRoot(t)
	if _, err := os.Stat(btf.KernelPath); err != nil {
		t.Skipf("this kernel has no BTF: %v", err)
	}
	if _, err := ModuleBTF("no_such_module"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ModuleBTF(no_such_module): %v, want fs.ErrNotExist", err)
	}
	testenv.LoadModule(t, "brd", "rd_nr=1 rd_size=1024")
	mods, err := filepath.Glob(filepath.Join(filepath.Dir(btf.KernelPath), "*"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, p := range mods {
		name := filepath.Base(p)
		if name == "vmlinux" {
			continue
		}
		n++
		o, err := ModuleBTF(name)
		if err != nil {
			t.Errorf("module %s: %v", name, err)
			continue
		}
		if o.Name != name || o.FD() <= 0 || o.ID == 0 {
			t.Errorf("module %s: %+v", name, o)
		}
		if err := o.Close(); err != nil {
			t.Error(err)
		}
	}
	if n == 0 {
		t.Skip("no module of this kernel has BTF (/sys/kernel/btf lists only vmlinux)")
	}
}
