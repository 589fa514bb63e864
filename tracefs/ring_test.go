package tracefs

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// pageBuilder writes a ring page by the kernel's rules (rb_update_event).
type pageBuilder struct{ data []byte }

func (p *pageBuilder) hdr(typeLen, delta uint32) {
	p.data = binary.NativeEndian.AppendUint32(p.data, typeLen|delta<<5)
}

func (p *pageBuilder) event(delta uint32, body []byte) {
	n := (len(body) + 3) &^ 3
	if n <= 28*4 && n > 0 {
		p.hdr(uint32(n/4), delta)
	} else {
		p.hdr(0, delta)
		p.data = binary.NativeEndian.AppendUint32(p.data, uint32(n+4))
	}
	p.data = append(p.data, body...)
	p.data = append(p.data, make([]byte, n-len(body))...)
}

func (p *pageBuilder) page(ts uint64, commitFlags uint64, size int) []byte {
	b := make([]byte, 16, size)
	binary.NativeEndian.PutUint64(b, ts)
	binary.NativeEndian.PutUint64(b[8:], uint64(len(p.data))|commitFlags)
	b = append(b, p.data...)
	return b[:cap(b)][:max(len(b), size)]
}

func TestParseRingPageSynthetic(t *testing.T) {
	if RingCommitSize != 8 {
		t.Skip("synthetic pages are built for 64-bit kernels")
	}
	var pb pageBuilder
	pb.event(5, []byte("abcd")) // small event, delta 5
	pb.hdr(ringTypeTimeExt, 3)  // time extend: 7<<27 | 3
	pb.data = binary.NativeEndian.AppendUint32(pb.data, 7)
	pb.event(0, make([]byte, 200)) // type_len 0 (over 112 bytes)
	pb.hdr(ringTypePadding, 1)     // discarded event
	pb.data = binary.NativeEndian.AppendUint32(pb.data, 12)
	pb.data = append(pb.data, make([]byte, 8)...)
	pb.event(10, []byte("xyz"))
	page := pb.page(1000, ringMissedEvents|ringMissedStored, 4096)
	binary.NativeEndian.PutUint64(page[16+len(pb.data):], 42) // stored missed count
	var got []RingEvent
	rp, err := ParseRingPage(page, func(ev RingEvent) error {
		got = append(got, RingEvent{ev.Timestamp, append([]byte(nil), ev.Data...)})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !rp.MissedEvents || rp.Missed != 42 || rp.Events != 3 || rp.Timestamp != 1000 || rp.DataSize != len(pb.data) {
		t.Errorf("page %+v", rp)
	}
	wantTS := []uint64{1005, 1005 + (7<<27 | 3), 1005 + (7<<27 | 3) + 10}
	wantLen := []int{4, 200, 4}
	if len(got) != 3 {
		t.Fatalf("%d events", len(got))
	}
	for i, ev := range got {
		if ev.Timestamp != wantTS[i] || len(ev.Data) != wantLen[i] {
			t.Errorf("event %d: ts %d len %d, want %d %d", i, ev.Timestamp, len(ev.Data), wantTS[i], wantLen[i])
		}
	}
	if string(got[0].Data) != "abcd" || string(got[2].Data[:3]) != "xyz" {
		t.Errorf("data %q %q", got[0].Data, got[2].Data)
	}
	// An error from fn stops the walk.
	stop := errors.New("stop")
	if _, err := ParseRingPage(page, func(RingEvent) error { return stop }); err != stop {
		t.Errorf("fn error: %v", err)
	}
	// Absolute time stamps keep the top bits of the running time.
	if v := fixAbsTS(5, 0x10<<56|100); v != 0x10<<56|5+1<<59 {
		t.Errorf("fixAbsTS wrap = %#x", v)
	}
	if v := fixAbsTS(0x200, 0x10<<56|100); v != 0x10<<56|0x200 {
		t.Errorf("fixAbsTS = %#x", v)
	}
	if v := fixAbsTS(0x200, 100); v != 0x200 {
		t.Errorf("fixAbsTS low = %#x", v)
	}
}

func TestParseRingPageCorrupt(t *testing.T) {
	var pb pageBuilder
	pb.event(1, []byte("abcdefgh"))
	page := pb.page(1, 0, 64)
	for name, mut := range map[string]func([]byte){
		"commit past page": func(p []byte) { binary.NativeEndian.PutUint64(p[8:], 1<<20) },
		"event past data":  func(p []byte) { binary.NativeEndian.PutUint32(p[16:], 20|1<<5) },
		"bad length": func(p []byte) {
			binary.NativeEndian.PutUint32(p[16:], 0|1<<5)
			binary.NativeEndian.PutUint32(p[20:], 9999)
		},
	} {
		p := append([]byte(nil), page...)
		mut(p)
		var re *RingError
		if _, err := ParseRingPage(p, nil); !errors.As(err, &re) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := ParseRingPage(page[:10], nil); err == nil {
		t.Error("short page accepted")
	}
}

func FuzzRingPage(f *testing.F) {
	pages, _ := filepath.Glob(filepath.Join("..", "testdata", "kernels", "*", "ring", "*", "page*.bin"))
	for _, p := range pages {
		b, _ := os.ReadFile(p)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, page []byte) {
		ParseRingPage(page, func(ev RingEvent) error {
			if len(ev.Data) > len(page) {
				t.Fatal("event larger than page")
			}
			return nil
		})
	})
}

func BenchmarkParseRingPage(b *testing.B) {
	pages, _ := filepath.Glob(filepath.Join("..", "testdata", "kernels", "6.18", "ring", "*", "page*.bin"))
	if len(pages) == 0 {
		b.Fatal("no ring fixtures")
	}
	page, _ := os.ReadFile(pages[0])
	n := 0
	fn := func(RingEvent) error { n++; return nil }
	b.ReportAllocs()
	for b.Loop() {
		ParseRingPage(page, fn)
	}
}
