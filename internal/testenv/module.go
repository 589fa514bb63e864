package testenv

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// LoadModule loads the kernel module name, with params, from the running
// kernel's /lib/modules (the VM suite's guests get brd's from their
// kernel's package), and unloads it when the test ends. A module already
// loaded is used as it is. It skips where there is no such module file,
// or the kernel refuses to load modules.
func LoadModule(t testing.TB, name, params string) {
	t.Helper()
	RequireRoot(t)
	if _, err := os.Stat("/sys/module/" + name); err == nil {
		return
	}
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		t.Fatal(err)
	}
	release := unix.ByteSliceToString(uts.Release[:])
	var file string
	filepath.WalkDir(filepath.Join("/lib/modules", release), func(p string, d os.DirEntry, err error) error {
		base := filepath.Base(p)
		if err == nil && file == "" && (base == name+".ko" || strings.HasPrefix(base, name+".ko.")) {
			file = p
		}
		return nil
	})
	if file == "" {
		t.Skipf("this machine has no %s.ko in /lib/modules/%s (the VM suite's guests have one)", name, release)
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	flags := 0
	if !strings.HasSuffix(file, ".ko") {
		flags = unix.MODULE_INIT_COMPRESSED_FILE // the kernel unpacks it (6.4)
	}
	if err := unix.FinitModule(int(f.Fd()), params, flags); err != nil {
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.ENOSYS) {
			t.Skipf("this kernel does not let %s be loaded: %v", file, err)
		}
		if !errors.Is(err, unix.EEXIST) {
			t.Fatalf("loading %s: %v", file, err)
		}
		return
	}
	t.Cleanup(func() {
		// Unloading waits for the last users (a program attached to it)
		// to go: BPF objects are freed after an RCU grace period.
		for try := 0; ; try++ {
			err := unix.DeleteModule(name, unix.O_NONBLOCK)
			if err == nil || !errors.Is(err, unix.EBUSY) && !errors.Is(err, unix.EAGAIN) || try == 100 {
				if err != nil {
					t.Errorf("unloading module %s: %v", name, err)
				}
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
}
