package tracefs

import (
	"fmt"
	"strconv"
	"strings"
)

// ProfileEntry is one line of kprobe_profile or uprobe_profile. The kernel
// prints the event name without its group.
type ProfileEntry struct {
	Path   string // uprobe_profile only: the probed file
	Event  string
	Hits   uint64
	Misses uint64 // kprobe_profile only: kretprobe maxactive misses and kprobe misses
}

// Profile reads kprobe_profile or uprobe_profile.
func (fs *FS) Profile(file string) ([]ProfileEntry, error) {
	if file != "kprobe_profile" && file != "uprobe_profile" {
		return nil, fmt.Errorf("tracefs: %q is not a profile file (kprobe_profile or uprobe_profile)", file)
	}
	b, err := readSmall(fs.path(file), 64<<20)
	if err != nil {
		return nil, err
	}
	return ParseProfile(file, b)
}

// ParseProfile parses the text of a profile file. The layouts differ:
//
//	kprobe_profile (probes_profile_seq_show): "  %-44s %15lu %15lu\n"  event, hits, misses
//	uprobe_profile (probes_profile_seq_show): "  %s %-44s %15lu\n"     path, event, hits
//
// A uprobe path could hold spaces, so uprobe lines are read from the right.
func ParseProfile(file string, b []byte) ([]ProfileEntry, error) {
	var out []ProfileEntry
	for n, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		var e ProfileEntry
		var err error
		switch file {
		case "kprobe_profile":
			if len(f) != 3 {
				return nil, fmt.Errorf("tracefs: kprobe_profile line %d: want EVENT HITS MISSES, got %q", n+1, l)
			}
			e.Event = f[0]
			if e.Hits, err = strconv.ParseUint(f[1], 10, 64); err == nil {
				e.Misses, err = strconv.ParseUint(f[2], 10, 64)
			}
		case "uprobe_profile":
			if len(f) < 3 {
				return nil, fmt.Errorf("tracefs: uprobe_profile line %d: want PATH EVENT HITS, got %q", n+1, l)
			}
			e.Path = strings.Join(f[:len(f)-2], " ")
			e.Event = f[len(f)-2]
			e.Hits, err = strconv.ParseUint(f[len(f)-1], 10, 64)
		default:
			return nil, fmt.Errorf("tracefs: %q is not a profile file", file)
		}
		if err != nil {
			return nil, fmt.Errorf("tracefs: %s line %d: %w", file, n+1, err)
		}
		out = append(out, e)
	}
	return out, nil
}
