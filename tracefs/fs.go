package tracefs

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// ErrNotAvailable is wrapped by Find when no usable tracefs exists and none
// could be mounted.
var ErrNotAvailable = errors.New("tracefs not available")

// FS is a tracefs mount: the directory that holds README, events/ and the
// dynamic-event control files.
type FS struct {
	root string

	mu      sync.Mutex
	notices []string        // not yet returned by Notices
	noticed map[string]bool // kinds of notice given, each once
}

// Standard places, tried after /proc/self/mountinfo. The debugfs path is
// where kernels before 4.1 put it (and where many tools still look).
const (
	stdTracefs = "/sys/kernel/tracing"
	stdDebugfs = "/sys/kernel/debug/tracing"
)

// Find locates tracefs. It reads /proc/self/mountinfo (tracefs mounts first,
// then debugfs mounts with their tracing/ directory), then tries the two
// standard paths, and finally mounts tracefs at /sys/kernel/tracing when we
// are root. The error names every place it tried and wraps ErrNotAvailable.
func Find() (*FS, error) {
	var tried []string
	try := func(dir string) *FS {
		if dir == "" {
			return nil
		}
		for _, t := range tried {
			if t == dir {
				return nil
			}
		}
		tried = append(tried, dir)
		if isTracefsDir(dir) {
			return &FS{root: dir}
		}
		return nil
	}
	tracefs, debugfs, mierr := readMountinfo("/proc/self/mountinfo")
	for _, m := range tracefs {
		if fs := try(m); fs != nil {
			return fs, nil
		}
	}
	for _, m := range debugfs {
		if fs := try(filepath.Join(m, "tracing")); fs != nil {
			return fs, nil
		}
	}
	if fs := try(stdTracefs); fs != nil {
		return fs, nil
	}
	if fs := try(stdDebugfs); fs != nil {
		return fs, nil
	}
	var why []string
	if mierr != nil {
		why = append(why, "reading /proc/self/mountinfo: "+mierr.Error())
	}
	// The kernel creates /sys/kernel/tracing as an empty mount point when
	// CONFIG_TRACING is set; mounting needs CAP_SYS_ADMIN.
	if os.Geteuid() == 0 {
		if st, err := os.Stat(stdTracefs); err != nil || !st.IsDir() {
			why = append(why, stdTracefs+" does not exist (kernel without CONFIG_TRACING?)")
		} else if err := unix.Mount("nodev", stdTracefs, "tracefs", 0, ""); err != nil {
			why = append(why, fmt.Sprintf("mount -t tracefs nodev %s: %v", stdTracefs, err))
		} else if isTracefsDir(stdTracefs) {
			return &FS{root: stdTracefs}, nil
		} else {
			why = append(why, "mounted tracefs at "+stdTracefs+" but it has no README")
		}
	} else {
		why = append(why, "not root, so tracefs was not mounted")
	}
	return nil, fmt.Errorf("%w: tried %s; %s", ErrNotAvailable, strings.Join(tried, ", "), strings.Join(why, "; "))
}

// Open uses an explicit tracefs directory.
func Open(root string) (*FS, error) {
	if !isTracefsDir(root) {
		return nil, fmt.Errorf("%w: %s has no README or events/ (not a tracefs directory)", ErrNotAvailable, root)
	}
	return &FS{root: filepath.Clean(root)}, nil
}

// isTracefsDir reports whether dir is a populated tracefs: an unmounted
// mount point is an empty directory.
func isTracefsDir(dir string) bool {
	for _, f := range []string{"README", "events"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			return true
		}
	}
	return false
}

// readMountinfo returns the mount points of tracefs and debugfs, in the
// order the kernel lists them.
func readMountinfo(path string) (tracefs, debugfs []string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		mp, fstype, ok := parseMountinfoLine(sc.Text())
		if !ok {
			continue
		}
		switch fstype {
		case "tracefs":
			tracefs = append(tracefs, mp)
		case "debugfs":
			debugfs = append(debugfs, mp)
		}
	}
	return tracefs, debugfs, sc.Err()
}

// parseMountinfoLine extracts the mount point (field 5) and the filesystem
// type (first field after the " - " separator); see proc(5).
func parseMountinfoLine(line string) (mountpoint, fstype string, ok bool) {
	fields := strings.Fields(line)
	if len(fields) < 7 {
		return "", "", false
	}
	for i := 6; i < len(fields)-1; i++ {
		if fields[i] == "-" {
			return unescapeOctal(fields[4]), fields[i+1], true
		}
	}
	return "", "", false
}

// unescapeOctal undoes the kernel's \ooo escaping of space, tab, newline and
// backslash in mountinfo paths.
func unescapeOctal(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Root is the tracefs directory.
func (fs *FS) Root() string { return fs.root }

// Has reports whether a file or directory exists at the tracefs root, for
// feature detection: kprobe_events (CONFIG_KPROBE_EVENTS), uprobe_events,
// dynamic_events (5.0), kprobe_profile, error_log (5.4), README.
func (fs *FS) Has(file string) bool {
	_, err := os.Stat(fs.path(file))
	return err == nil
}

func (fs *FS) path(rel string) string { return filepath.Join(fs.root, rel) }

// readSmall reads a control file, capped at max bytes: some (trace,
// available_filter_functions) are huge or endless.
func readSmall(path string, max int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf := make([]byte, 0, 4096)
	for {
		if len(buf) == cap(buf) {
			if len(buf) >= max {
				return buf, fmt.Errorf("%s: larger than %d bytes", path, max)
			}
			nb := make([]byte, len(buf), min(2*cap(buf), max))
			copy(nb, buf)
			buf = nb
		}
		n, err := f.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
		if n == 0 {
			return buf, nil
		}
	}
}

// writeOnce opens path with O_WRONLY|O_APPEND (never O_TRUNC: on
// kprobe_events, uprobe_events, dynamic_events and trigger files O_TRUNC
// deletes every entry, including other tools') and issues exactly one
// write(2), because the kernel parses each write as a whole command and does
// not reassemble a definition split across writes.
func writeOnce(path, data string) error {
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_APPEND|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	for {
		n, err := unix.Write(fd, []byte(data))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if n != len(data) {
			return fmt.Errorf("short write: %d of %d bytes", n, len(data))
		}
		return nil
	}
}
