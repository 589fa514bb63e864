package main

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/tracelet/tracelet/internal/testenv"
	"github.com/tracelet/tracelet/tracefs"
)

// onlyKernel runs script with sh in a mount namespace of its own, so that
// what it mounts and hides never reaches the rest of the machine (Go makes
// the new namespace's mounts private before the exec).
func onlyKernel(t *testing.T, script string) (string, error) {
	t.Helper()
	testenv.RequireRoot(t)
	if testenv.InVM() {
		// The guest's root is its initramfs (rootfs), which cannot be
		// bind-remounted read-only; the host's root can.
		t.Skip("the VM guest has no root file system to make read-only: this case runs in the host suite")
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(sh, "-ec", script)
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestReadOnlyRootNoEtc: tracelet needs nothing but the kernel and a
// writable tracefs. With the root file system read-only, /etc and
// /usr/share empty and read-only, and no environment at all (no HOME, no
// PATH), it still reports the kernel, defines a uprobe, lists it with its
// hits and removes it.
func TestReadOnlyRootNoEtc(t *testing.T) {
	testenv.RequireRoot(t)
	fs, err := tracefs.Find()
	if err != nil {
		t.Fatal(err)
	}
	path, off, err := tracefs.ResolveSymbol(testenv.TestProg(t), testenv.CABITarget)
	if err != nil {
		t.Fatal(err)
	}
	event := fmt.Sprintf("ro%d", os.Getpid())
	t.Cleanup(func() { runCLI(t, "probe", "del", "tracelet/"+event) })
	script := fmt.Sprintf(`
mount -o remount,bind,ro /
for d in /etc /usr/share; do
	[ -d "$d" ] && mount -t tmpfs -o ro tmpfs "$d"
done
if touch /tracelet-rw-probe 2>/dev/null; then rm -f /tracelet-rw-probe; echo "the root is still writable"; exit 3; fi
if [ -e /etc/passwd ]; then echo "/etc is still there"; exit 3; fi
t() { /usr/bin/env -i %[1]q "$@"; }
t doctor | grep -E '^(tracefs|uprobe_events) +yes'
t probe add %[2]q
t probe list
t probe del tracelet/%[3]s
`, tracelet, hostRegs(fmt.Sprintf("p:%s %s:0x%x a=%%di:s64", event, path, off)), event)
	out, err := onlyKernel(t, script)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"tracefs ", "uprobe_events ", "tracelet/" + event} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(dynamicEvents(t), "tracelet/"+event+" ") {
		t.Errorf("probe del inside the namespace left tracelet/%s in %s", event, fs.Root())
	}
}

// TestNoTracefs: with tracefs unmounted and no way to mount it (the
// directory it mounts on is gone), every command that needs it fails with
// an error that says where it looked and why it could not mount, and doctor
// says so in its tracefs line.
func TestNoTracefs(t *testing.T) {
	script := fmt.Sprintf(`
grep -E ' (tracefs|debugfs) ' /proc/self/mountinfo | cut -d' ' -f5 | sort -r | while read m; do umount -l "$m"; done
mount -t tmpfs -o ro tmpfs /sys/kernel
if grep -qE ' (tracefs|debugfs) ' /proc/self/mountinfo; then echo "tracefs is still mounted"; exit 3; fi
set +e
%[1]q probe list; echo "probe list exit $?"
%[1]q doctor; echo "doctor exit $?"
`, tracelet)
	out, err := onlyKernel(t, script)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{
		"probe list exit 1",
		"tracefs not available",
		"tried /sys/kernel/tracing, /sys/kernel/debug/tracing",
		"/sys/kernel/tracing does not exist",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(out, "\ntracefs ") || !strings.Contains(out, " no ") {
		t.Errorf("doctor does not say tracefs is missing:\n%s", out)
	}
}
