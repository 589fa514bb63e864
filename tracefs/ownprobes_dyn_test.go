package tracefs

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// An eprobe (listed only in dynamic_events) left by a tracelet that died
// is one of our probes, stale: probe list shows it and the stale clear
// removes it, as it does a dead run's kprobes and uprobes.
func TestOwnProbesEprobe(t *testing.T) {
	fs := mustFS(t)
	if !fs.Has(DynamicEvents) {
		t.Skip("no dynamic_events (Linux 5.0)")
	}
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	group, event := OwnerGroup(dead.Process.Pid), uniq("ep")
	f, err := os.OpenFile(filepath.Join(fs.Root(), DynamicEvents), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.WriteString("e:" + group + "/" + event + " syscalls.sys_enter_getppid\n")
	f.Close()
	if errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOENT) {
		// 6.18 on the host lists e: in its README and still refuses
		// every eprobe with EINVAL (nothing in error_log).
		t.Skipf("this kernel defines no eprobe (%v): CONFIG_EPROBE_EVENTS, Linux 5.15", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if hasEvent(t, fs, DynamicEvents, group, event) {
			appendRaw(t, fs, DynamicEvents, "-:"+group+"/"+event+"\n")
		}
	})
	all, err := fs.OwnProbes()
	if err != nil {
		t.Fatal(err)
	}
	var found *OwnProbe
	for i := range all {
		if all[i].Group == group && all[i].Event == event {
			found = &all[i]
		}
	}
	if found == nil || !found.Stale || found.File != DynamicEvents || !strings.HasPrefix(found.Def, "e:") {
		t.Fatalf("OwnProbes: %+v, want %s/%s, stale, from dynamic_events", found, group, event)
	}
	if _, err := fs.ClearProbes(true); err != nil {
		t.Logf("ClearProbes: %v (other runs' probes may be busy)", err)
	}
	if hasEvent(t, fs, DynamicEvents, group, event) {
		t.Errorf("the dead run's eprobe %s/%s is still defined after the stale clear", group, event)
	}
}
