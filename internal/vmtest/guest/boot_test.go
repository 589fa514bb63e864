package guest

import (
	"errors"
	iofs "io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracelet/tracelet/internal/testenv"
	"github.com/tracelet/tracelet/kprobeevents"
	"github.com/tracelet/tracelet/tracefs"
)

// bootSnapshot is where the guest's /init copies tracefs state before
// anything else runs (vmtest.BootSnapshotDir; not imported, to keep the
// harness out of the guest binary).
const bootSnapshot = "/var/tracelet/boot"

// bootParam returns the kprobe_event= value of a kernel command line.
func bootParam(cmdline string) (string, bool) {
	for _, arg := range strings.Fields(cmdline) {
		if v, ok := strings.CutPrefix(arg, kprobeevents.BootParamName+"="); ok {
			return v, true
		}
	}
	return "", false
}

// TestBootKprobeEvent checks that every probe of the kprobe_event= boot
// parameter (encoded on the host by kprobeevents.EncodeBootParamFor, decoded
// here by kprobeevents.DecodeBootParam) was defined and armed when /init
// started: listed in kprobe_events as the same probe, with hits in
// kprobe_profile (a disabled kprobe runs no handler, so hits prove it
// enabled), and enabled in its events/ directory.
//
// The Debian kernels (6.1 and 6.12, amd64 and arm64) race while creating
// boot-time events: in about one boot in six under TCG (more on arm64) one
// event never gets its events/<group>/<event>/ directory, although it is
// listed and counts hits. That is the kernel's bug, not ours, so a missing
// directory is logged, not failed; everything the directory would show is
// still checked through kprobe_events and kprobe_profile.
func TestBootKprobeEvent(t *testing.T) {
	testenv.RequireKprobes(t)
	if !testenv.InVM() {
		t.Skip("only the VM suite boots with kprobe_event= (make vmtest)")
	}
	cmdline, err := os.ReadFile("/proc/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	param, ok := bootParam(string(cmdline))
	if !ok {
		t.Fatalf("the VM suite boots with kprobe_event=, but /proc/cmdline is %q", cmdline)
	}
	opts := kprobeevents.Options{Arch: kprobeevents.HostArch()}
	probes, err := kprobeevents.DecodeBootParamFor(param, opts)
	if err != nil || len(probes) == 0 {
		t.Fatalf("kprobe_event=%s: %v, %d probes", param, err, len(probes))
	}
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(bootSnapshot, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	defined := tracefs.ParseDynamicEvents(read("kprobe_events"))
	profile, err := tracefs.ParseProfile("kprobe_profile", read("kprobe_profile"))
	if err != nil {
		t.Fatal(err)
	}
	enabled := string(read("enabled"))
	fsys, err := tracefs.Find()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range probes {
		group, event := p.Group, p.Event
		if group == "" {
			group = "kprobes" // the kernel's default group for kprobes
		}
		ev := group + "/" + event
		var line string
		for _, d := range defined {
			if d.Group == group && d.Event == event {
				line = d.Raw
			}
		}
		if line == "" {
			t.Errorf("%s was not in kprobe_events when /init started: %+v", ev, defined)
			continue
		}
		// The kernel prints the probe back; it must be the one encoded.
		back, err := kprobeevents.ParseProbe(line, opts)
		if err == nil && p.MaxActive == 0 {
			// A kretprobe without r[MAXACTIVE] is listed with the
			// default the kernel chose, max(10, 2*CPUs).
			back.MaxActive = 0
		}
		if err != nil || back.String() != p.String() {
			t.Errorf("%s: kernel lists %q (%v), the command line defined %q", ev, line, err, p)
		}
		var n uint64
		for _, e := range profile {
			if e.Event == event {
				n = e.Hits
			}
		}
		if n == 0 {
			t.Errorf("%s had no hits in kprobe_profile when /init started: %+v", ev, profile)
		}
		if _, err := os.Stat(filepath.Join(fsys.Root(), "events", group, event)); errors.Is(err, iofs.ErrNotExist) {
			t.Logf("kernel race: %s is defined and has %d hits, but the kernel created no events/%s/ directory for it", ev, n, ev)
			continue
		}
		if !strings.Contains("\n"+enabled, "\n"+ev+" 1\n") {
			t.Errorf("%s was not enabled when /init started:\n%s", ev, enabled)
		}
		now, err := os.ReadFile(filepath.Join(fsys.Root(), "events", group, event, "enable"))
		if err != nil || strings.TrimSpace(string(now)) != "1" {
			t.Errorf("%s is no longer enabled: %q %v", ev, now, err)
		}
		t.Logf("%s: %s, %d hits at /init", ev, line, n)
	}
}

func TestBootParamOfCmdline(t *testing.T) {
	v, ok := bootParam("console=ttyS0 kprobe_event=p:kprobes/a,do_sys_openat2,x=$arg1;r:grp/b,vfs_read quiet")
	if !ok || v != "p:kprobes/a,do_sys_openat2,x=$arg1;r:grp/b,vfs_read" {
		t.Fatalf("bootParam = %q, %v", v, ok)
	}
	if _, ok := bootParam("console=ttyS0"); ok {
		t.Fatal("found kprobe_event= where there is none")
	}
}
