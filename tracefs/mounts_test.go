package tracefs

import (
	"strings"
	"testing"
)

// A file system is found wherever mountinfo puts it, after the optional
// fields, with octal escapes undone, and not found when it is not mounted.
func TestMountPointIn(t *testing.T) {
	mi := `22 28 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
23 22 0:7 / /sys/kernel/security rw,nosuid,nodev,noexec,relatime shared:8 master:2 - securityfs securityfs rw
31 22 0:27 / /mnt/my\040debug rw,relatime - debugfs debugfs rw
30 22 0:26 / /sys/kernel/tracing rw,relatime shared:12 - tracefs nodev rw
`
	for fstype, want := range map[string]string{"securityfs": "/sys/kernel/security", "debugfs": "/mnt/my debug", "tracefs": "/sys/kernel/tracing", "bpf": ""} {
		if got := mountPointIn(mi, fstype); got != want {
			t.Errorf("mountPointIn(%s) = %q, want %q", fstype, got, want)
		}
	}
	if got := mountPointIn(mi[:strings.Index(mi, "23 22")], "securityfs"); got != "" {
		t.Errorf("without securityfs: %q, want \"\"", got)
	}
}
