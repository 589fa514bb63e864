package trace

import (
	"encoding/binary"
	"os"
	"testing"

	"github.com/tracelet/tracelet/internal/testenv"
	"github.com/tracelet/tracelet/perf"
	"github.com/tracelet/tracelet/tracefs"
)

// TestJSONSchema: trace -f json keeps the fields of its version (README:
// JSON Lines), with and without -s stacks.
func TestJSONSchema(t *testing.T) {
	src, err := os.ReadFile("../testdata/kernels/6.18/events/syscalls/sys_enter_openat/format")
	if err != nil {
		t.Fatal(err)
	}
	f, err := tracefs.ParseFormat(src)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := f.Decoder()
	if err != nil {
		t.Fatal(err)
	}
	ev := &Event{Spec: Spec{System: "syscalls", Event: "sys_enter_openat"}, ID: f.ID, Format: f, dec: dec, hex: f.HexFields(), probeIP: -1, probeFunc: -1, probeRetIP: -1}
	s := &Sample{Event: ev, CPU: 1, Pid: 42, Tid: 43, Time: 123456789, Comm: "cat"}
	if err := dec.Decode(make([]byte, 48), &s.Record); err != nil {
		t.Fatal(err)
	}
	p := NewPrinter(nil)
	plain := p.AppendJSON(nil, s)
	var cc [16]byte
	binary.NativeEndian.PutUint64(cc[:], perf.PERF_CONTEXT_USER)
	binary.NativeEndian.PutUint64(cc[8:], 0x401000)
	s.Callchain = perf.Callchain(cc[:])
	stacked := p.AppendJSON(nil, s)
	testenv.CheckJSONSchema(t, "trace", JSONVersion, plain, stacked)
}
