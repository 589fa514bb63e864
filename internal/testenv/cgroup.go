package testenv

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// MemoryCgroup makes a cgroup v2 directory of the test's own whose
// memory.max is max, and memory.swap.max swapMax where swap is accounted
// ("" leaves it unlimited), for a workload that joins it (testprog oom,
// testprog swapin). It mounts cgroup2 where nothing has, and enables the
// memory controller below the root where it is not; the test's cleanup
// removes the directory once its processes are gone, and undoes what it
// enabled and mounted. It skips where the kernel has no
// cgroup v2 memory controller.
func MemoryCgroup(t *testing.T, max, swapMax string) string {
	t.Helper()
	root := cgroup2Root(t)
	controllers, err := os.ReadFile(filepath.Join(root, "cgroup.controllers"))
	if err != nil {
		t.Fatal(err)
	}
	if !hasWord(string(controllers), "memory") {
		t.Skipf("cgroup v2 at %s has no memory controller (%q): the kernel has none, or a cgroup v1 hierarchy holds it", root, strings.TrimSpace(string(controllers)))
	}
	subtree := filepath.Join(root, "cgroup.subtree_control")
	enabled, err := os.ReadFile(subtree)
	if err != nil {
		t.Fatal(err)
	}
	if !hasWord(string(enabled), "memory") {
		if err := os.WriteFile(subtree, []byte("+memory"), 0); err != nil {
			t.Fatalf("enabling the memory controller in %s: %v", subtree, err)
		}
		t.Cleanup(func() { os.WriteFile(subtree, []byte("-memory"), 0) })
	}
	dir := newCgroup(t, root)
	if err := os.WriteFile(filepath.Join(dir, "memory.max"), []byte(max), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "memory.swap.max")); err == nil && swapMax != "" {
		if err := os.WriteFile(filepath.Join(dir, "memory.swap.max"), []byte(swapMax), 0); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// Cgroup makes a cgroup v2 directory of the test's own, with no
// controller, for a process the test moves there (cgroup.procs); the
// test's cleanup removes it once its processes are gone.
func Cgroup(t *testing.T) string {
	t.Helper()
	return newCgroup(t, cgroup2Root(t))
}

// cgroup2Root is where cgroup v2 is mounted; where nothing has mounted
// it, the test mounts it until it ends.
func cgroup2Root(t *testing.T) string {
	t.Helper()
	RequireRoot(t)
	root := cgroup2Mount()
	if root == "" {
		root = t.TempDir()
		if err := unix.Mount("none", root, "cgroup2", 0, ""); err != nil {
			t.Skipf("this kernel cannot mount cgroup2: %v", err)
		}
		t.Cleanup(func() { unix.Unmount(root, unix.MNT_DETACH) })
	}
	return root
}

func newCgroup(t *testing.T, root string) string {
	t.Helper()
	dir := filepath.Join(root, fmt.Sprintf("tracelet-test-%d-%d", os.Getpid(), time.Now().UnixNano()))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// A killed process leaves its cgroup as it is reaped: rmdir
		// says EBUSY until then.
		deadline := time.Now().Add(10 * time.Second)
		for {
			err := os.Remove(dir)
			if err == nil || os.IsNotExist(err) {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("removing the test's cgroup: %v", err)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
	return dir
}

// cgroup2Mount is where cgroup2 is mounted, from /proc/self/mountinfo, or
// "".
func cgroup2Mount() string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		// ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER
		fields := strings.Fields(s.Text())
		for i, f := range fields {
			if f == "-" && i+1 < len(fields) && fields[i+1] == "cgroup2" && len(fields) > 4 && fields[3] == "/" {
				return fields[4]
			}
		}
	}
	return ""
}

func hasWord(s, w string) bool {
	for _, f := range strings.Fields(s) {
		if f == w {
			return true
		}
	}
	return false
}

// SwapOn makes the block device dev a swap area (mkswap's header: version
// 1, every page but the header's usable, no bad pages) and turns it on,
// until the test ends. Its contents are lost.
func SwapOn(t *testing.T, dev string) {
	t.Helper()
	RequireRoot(t)
	f, err := os.OpenFile(dev, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	size, err := f.Seek(0, 2)
	if err != nil {
		f.Close()
		t.Fatal(err)
	}
	page := os.Getpagesize()
	hdr := make([]byte, page)
	// union swap_header's info, after 1024 bytes of boot block:
	// version, last_page, nr_badpages (native byte order).
	binary.NativeEndian.PutUint32(hdr[1024:], 1)
	binary.NativeEndian.PutUint32(hdr[1028:], uint32(size/int64(page))-1)
	copy(hdr[page-10:], "SWAPSPACE2")
	_, err = f.WriteAt(hdr, 0)
	if err == nil {
		err = f.Sync()
	}
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	p, err := unix.BytePtrFromString(dev)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, e := unix.Syscall(unix.SYS_SWAPON, uintptr(unsafe.Pointer(p)), 0, 0); e == unix.ENOSYS {
		t.Skipf("this kernel has no swap (CONFIG_SWAP): swapon %s: %v", dev, e)
	} else if e != 0 {
		t.Fatalf("swapon %s: %v", dev, e)
	}
	t.Cleanup(func() {
		if _, _, e := unix.Syscall(unix.SYS_SWAPOFF, uintptr(unsafe.Pointer(p)), 0, 0); e != 0 {
			t.Errorf("swapoff %s: %v", dev, e)
		}
	})
}
