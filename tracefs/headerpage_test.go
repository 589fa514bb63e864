package tracefs

import (
	"os"
	"testing"
)

func TestParseCommitSize(t *testing.T) {
	for _, c := range []struct {
		text string
		want int
	}{
		{"\tfield: u64 timestamp;\toffset:0;\tsize:8;\tsigned:0;\n\tfield: local_t commit;\toffset:8;\tsize:8;\tsigned:1;\n", 8},
		{"\tfield: u64 timestamp;\toffset:0;\tsize:8;\tsigned:0;\n\tfield: local_t commit;\toffset:8;\tsize:4;\tsigned:1;\n", 4},
	} {
		if n, ok := parseCommitSize(c.text); !ok || n != c.want {
			t.Errorf("%q: %d %v, want %d", c.text, n, ok, c.want)
		}
	}
	if _, ok := parseCommitSize("garbage"); ok {
		t.Error("parsed garbage")
	}
}

// TestRingCommitSizeKernel reads the running kernel's header_page: on a
// 64-bit kernel the commit is 8 bytes whatever tracelet's word size (this
// test also runs as a 386 binary on x86_64).
func TestRingCommitSizeKernel(t *testing.T) {
	fs := mustFS(t)
	b, err := os.ReadFile(fs.path("events/header_page"))
	if err != nil {
		t.Fatal(err)
	}
	want, ok := parseCommitSize(string(b))
	if !ok {
		t.Fatalf("header_page without a commit size:\n%s", b)
	}
	if got := fs.RingCommitSize(); got != want {
		t.Errorf("RingCommitSize = %d, header_page says %d", got, want)
	}
}
