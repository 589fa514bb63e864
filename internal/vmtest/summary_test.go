package vmtest

import (
	"strings"
	"testing"
)

func TestWriteSummary(t *testing.T) {
	k1, _ := lookupKernel("6.1-amd64")
	k2, _ := lookupKernel("6.1-arm64")
	ok := feed(&Report{Kernel: k1, Expected: []string{"p"}}, "=== TRACELET-VM-BOOT release=a machine=x86_64\n=== TRACELET-VM-BEGIN pkg=p\n--- PASS: TestX (0.01s)\n=== TRACELET-VM-RESULT pkg=p status=0\n=== TRACELET-VM-DONE rc=0")
	bad := feed(&Report{Kernel: k2, Expected: []string{"p"}, LogPath: "/logs/6.1-arm64.log"}, "=== TRACELET-VM-BOOT release=b machine=aarch64\n=== TRACELET-VM-BEGIN pkg=p\n=== RUN   TestX\n    x_test.go:3: got 1, want 2\n--- FAIL: TestX (0.01s)\n=== RUN   TestY\n    y_test.go:9: a log of a passing test\n--- PASS: TestY (0.00s)\n"+strings.Repeat("filler\n", packageTailLen)+"=== TRACELET-VM-RESULT pkg=p status=1\n=== TRACELET-VM-DONE rc=1")
	var b strings.Builder
	if n := WriteSummary(&b, []*Report{ok, bad}); n != 1 {
		t.Errorf("failed = %d, want 1", n)
	}
	out := b.String()
	for _, want := range []string{
		"6.1-amd64  a ", "PASS\n", "6.1-arm64  b ", "FAIL\n",
		"package  test       6.1-amd64  6.1-arm64",
		"p        TestX      PASS       FAIL",
		"=== FAIL 6.1-arm64 (b), full console log: /logs/6.1-arm64.log",
		"--- guest output of p on 6.1-arm64 (last 400 lines):\n    filler\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	// The failure's own lines end the output, past a tail that no longer
	// holds them; a passing test's log is not among them.
	brief := "\n=== failed tests, in brief\n6.1-arm64 p: x_test.go:3: got 1, want 2\n6.1-arm64 p: --- FAIL: TestX (0.01s)\n"
	if !strings.HasSuffix(out, brief) {
		t.Errorf("summary does not end with\n%s\nit ends with\n%s", brief, out[max(0, len(out)-300):])
	}
}
