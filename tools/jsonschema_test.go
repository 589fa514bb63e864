package tools

import (
	"bytes"
	"testing"
	"time"

	"github.com/tracelet/tracelet/internal/testenv"
)

// TestJSONSchema: each tool's JSON line keeps the shape of its version
// (README: JSON Lines). Every field is set, so that the omitempty ones
// count too.
func TestJSONSchema(t *testing.T) {
	now := time.Unix(1700000000, 123)
	rows := []struct {
		tool string
		v    any
	}{
		{"execsnoop", &ExecEvent{Comm: "ls", Pid: 2, PPid: 1, UID: 1000, Args: []string{"/bin/ls", "-l"}, Truncated: true}},
		{"exitsnoop", &ExitEvent{Comm: "ls", Pid: 2, PPid: 1, Tid: 2, Age: time.Second, Status: 9, Signal: 9, Known: true, Text: "signal 9 (KILL)"}},
		{"opensnoop", &OpenEvent{Pid: 2, Tid: 2, UID: 0, Comm: "cat", FD: 3, Flags: 0x80000, Path: "/etc/passwd"}},
		{"sigsnoop", &SignalEvent{Pid: 2, Tid: 2, Comm: "kill", Cmdline: "kill -9 3", Sig: 9, SigName: "SIGKILL", TPid: 3, TComm: "sleep", Delivered: true}},
		{"syscount", &SyscountReport{Rows: []SyscountRow{{Key: 0, Name: "read", Count: 5, Total: time.Millisecond}}}},
		{"funccount", &FunccountReport{Rows: []FuncCount{{Name: "vfs_read", Count: 5}}}},
		{"funclatency", &Histogram{Unit: "usec", Slots: []uint64{0, 1}}},
	}
	var lines [][]byte
	for _, r := range rows {
		var b bytes.Buffer
		p := &Printer{W: &b, Format: JSON, Tool: r.tool}
		if err := p.Row(now, "", r.v); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, bytes.TrimSpace(b.Bytes()))
	}
	testenv.CheckJSONSchema(t, "tools", JSONVersion, lines...)
}
