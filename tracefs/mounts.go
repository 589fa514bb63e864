package tracefs

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
)

// MountPoint is where a file system of type fstype (debugfs, securityfs)
// is mounted, from /proc/self/mountinfo; "" where it is not.
func MountPoint(fstype string) string {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return ""
	}
	return mountPointIn(string(b), fstype)
}

// mountPointIn finds fstype's first mount point in mountinfo text:
// "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE
// SUPEROPTS", the optional fields ending at "-".
func mountPointIn(mountinfo, fstype string) string {
	for _, l := range strings.Split(mountinfo, "\n") {
		f := strings.Fields(l)
		for i := 6; i+1 < len(f); i++ {
			if f[i] == "-" {
				if f[i+1] == fstype && len(f) > 4 {
					return unescapeOctal(f[4])
				}
				break
			}
		}
	}
	return ""
}

// KprobeBlacklist reads <debugfs>/kprobes/blacklist ("0xSTART-0xEND\tSYM",
// "... SYM [MOD]" for a module's): the functions register_kprobe refuses
// (NOKPROBE_SYMBOL, the entry code). Without debugfs it is empty, and the
// kernel still refuses them when a probe is added.
func KprobeBlacklist() map[string]bool {
	out := map[string]bool{}
	dir := MountPoint("debugfs")
	if dir == "" {
		dir = "/sys/kernel/debug"
	}
	f, err := os.Open(filepath.Join(dir, "kprobes", "blacklist"))
	if err != nil {
		return out
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) >= 2 {
			out[fields[1]] = true
		}
	}
	return out
}
