package record

import "testing"

func TestReleaseAtLeast(t *testing.T) {
	for _, c := range []struct {
		rel  string
		want bool
	}{{"6.1.0-56-cloud-amd64", false}, {"6.12.117+deb12-cloud-amd64", false}, {"6.13.0", true}, {"6.18.0-1-generic", true}, {"7.0", true}, {"5.15.0", false}} {
		if got := releaseAtLeast(c.rel, 6, 13); got != c.want {
			t.Errorf("%s: %v", c.rel, got)
		}
	}
}

// TestLatFlags prints the flags byte of a uprobe event as 6.1 and 6.18
// printed it in their trace files (the same byte, 0xef, two meanings of
// bit 0x02).
func TestLatFlags(t *testing.T) {
	if got := string(appendLatFlags(nil, 0xef, 0xff)); got != map[bool]string{true: "DBZff", false: "DNZff"}[reschedLazy()] {
		t.Errorf("flags 0xef print %s", got)
	}
}
