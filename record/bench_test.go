package record

import (
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/tracelet/tracelet/tracefs"
)

// benchEvent decodes a kretprobe record of the 6.1 fixture's format
// (testdata/kernels/6.1.0-56-cloud-amd64), built by hand: values in every
// field and "fixturerec" in its __data_loc string.
func benchEvent(b testing.TB) *Event {
	b.Helper()
	src, err := os.ReadFile("../testdata/kernels/6.1.0-56-cloud-amd64/events/tracelet/tracelet_kretprobe/format")
	if err != nil {
		b.Fatal(err)
	}
	f, err := tracefs.ParseFormat(src)
	if err != nil {
		b.Fatal(err)
	}
	info, err := NewEventInfo(f)
	if err != nil {
		b.Fatal(err)
	}
	raw := make([]byte, 93, 128)
	binary.LittleEndian.PutUint16(raw, uint16(f.ID))
	binary.LittleEndian.PutUint32(raw[4:], 4242)
	binary.LittleEndian.PutUint64(raw[8:], 0xffffffff812f5a50)
	binary.LittleEndian.PutUint64(raw[24:], 3)
	comm := "fixturerec\x00"
	binary.LittleEndian.PutUint32(raw[61:], uint32(len(comm))<<16|uint32(len(raw)))
	raw = append(raw, comm...)
	ev := &Event{Time: 4405752123, CPU: 1, Comm: "fixturerec"}
	if err := info.Decode(raw, ev); err != nil {
		b.Fatal(err)
	}
	return ev
}

func BenchmarkAppendText(b *testing.B) {
	ev := benchEvent(b)
	p := NewPrinter(FormatText)
	var line []byte
	b.ReportAllocs()
	for b.Loop() {
		line = p.Append(line[:0], ev)
	}
	b.SetBytes(int64(len(line)))
	if !strings.Contains(string(line), "ret_comm=\"fixturerec\"") {
		b.Fatalf("line %q", line)
	}
}

func BenchmarkAppendJSON(b *testing.B) {
	ev := benchEvent(b)
	p := NewPrinter(FormatJSON)
	var line []byte
	b.ReportAllocs()
	for b.Loop() {
		line = p.Append(line[:0], ev)
	}
	b.SetBytes(int64(len(line)))
}

// BenchmarkReportText reads back the text of 1000 events.
func BenchmarkReportText(b *testing.B) {
	ev := benchEvent(b)
	p := NewPrinter(FormatText)
	var file []byte
	for i := 0; i < 1000; i++ {
		file = p.Append(file, ev)
	}
	b.SetBytes(int64(len(file)))
	b.ReportAllocs()
	for b.Loop() {
		r := NewReader(bytes.NewReader(file))
		n := 0
		for {
			_, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != 1000 {
			b.Fatalf("read %d", n)
		}
	}
}
