package vmtest

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"
)

// cpioEntry is a member as readNewc decodes it, independently of the writer.
type cpioEntry struct {
	name         string
	mode, nlink  uint32
	rmaj, rmin   uint32
	data         string
	headerOffset int
}

// readNewc parses a newc archive by the format's definition: a 110-byte
// header of "070701" and 13 hex fields, the name with its NUL padded to 4
// bytes (counting the header), then the data padded to 4.
func readNewc(b []byte) ([]cpioEntry, error) {
	var out []cpioEntry
	off := 0
	for {
		if off+110 > len(b) {
			return nil, fmt.Errorf("truncated header at %d", off)
		}
		h := string(b[off : off+110])
		if h[:6] != "070701" {
			return nil, fmt.Errorf("bad magic %q at %d", h[:6], off)
		}
		field := func(i int) uint32 {
			v, err := strconv.ParseUint(h[6+8*i:14+8*i], 16, 32)
			if err != nil {
				panic(err)
			}
			return uint32(v)
		}
		mode, nlink, size, rmaj, rmin, nameSize, check := field(1), field(4), field(6), field(9), field(10), field(11), field(12)
		if check != 0 {
			return nil, fmt.Errorf("check field %d, want 0 for newc", check)
		}
		nameEnd := off + 110 + int(nameSize)
		if nameEnd > len(b) || b[nameEnd-1] != 0 {
			return nil, fmt.Errorf("name at %d not NUL-terminated", off)
		}
		name := string(b[off+110 : nameEnd-1])
		dataOff := (nameEnd + 3) &^ 3
		if dataOff+int(size) > len(b) {
			return nil, fmt.Errorf("%s: truncated data", name)
		}
		e := cpioEntry{name: name, mode: mode, nlink: nlink, rmaj: rmaj, rmin: rmin, data: string(b[dataOff : dataOff+int(size)]), headerOffset: off}
		off = (dataOff + int(size) + 3) &^ 3
		if name == "TRAILER!!!" {
			if off != len(b) {
				return nil, fmt.Errorf("%d bytes after the trailer", len(b)-off)
			}
			return out, nil
		}
		out = append(out, e)
	}
}

func TestCpioRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	w := newCpioWriter(&buf)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(w.Dir("/bin", 0o755))
	must(w.File("bin/a", 0o755, 1, strings.NewReader("x")))        // data needs 3 bytes of padding
	must(w.File("/bin/abcd", 0o644, 4, strings.NewReader("1234"))) // none
	must(w.File("/empty", 0o600, 0, nil))
	must(w.Symlink("/bin/sh", "busybox"))
	must(w.CharDev("/dev/console", 0o600, 5, 1))
	must(w.Close())

	got, err := readNewc(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	want := []cpioEntry{
		{name: "bin", mode: sIFDIR | 0o755, nlink: 2},
		{name: "bin/a", mode: sIFREG | 0o755, nlink: 1, data: "x"},
		{name: "bin/abcd", mode: sIFREG | 0o644, nlink: 1, data: "1234"},
		{name: "empty", mode: sIFREG | 0o600, nlink: 1},
		{name: "bin/sh", mode: sIFLNK | 0o777, nlink: 1, data: "busybox"},
		{name: "dev/console", mode: sIFCHR | 0o600, nlink: 1, rmaj: 5, rmin: 1},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d entries, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		g := got[i]
		g.headerOffset = 0
		if g != want[i] {
			t.Errorf("entry %d = %+v, want %+v", i, g, want[i])
		}
		if got[i].headerOffset%4 != 0 {
			t.Errorf("entry %s starts at %d, not 4-aligned", got[i].name, got[i].headerOffset)
		}
	}
}

// TestCpioHeaderBytes pins one header to the format's text, field by field.
func TestCpioHeaderBytes(t *testing.T) {
	var buf bytes.Buffer
	w := newCpioWriter(&buf)
	if err := w.File("init", 0o755, 2, strings.NewReader("hi")); err != nil {
		t.Fatal(err)
	}
	want := "070701" + // magic
		"00000001" + "000081ed" + // ino 1, mode S_IFREG|0755
		"00000000" + "00000000" + "00000001" + "00000000" + // uid, gid, nlink, mtime
		"00000002" + // filesize
		"00000000" + "00000000" + "00000000" + "00000000" + // dev and rdev
		"00000005" + "00000000" + // namesize with NUL, check
		"init\x00" + "\x00" + // name, padded: 110+5 = 115 -> 116
		"hi" + "\x00\x00"
	if got := buf.String(); got != want {
		t.Errorf("header:\n got %q\nwant %q", got, want)
	}
}

func TestCpioRejects(t *testing.T) {
	w := newCpioWriter(io.Discard)
	if err := w.File("", 0o644, 0, nil); err == nil {
		t.Error("empty name accepted")
	}
	w = newCpioWriter(io.Discard)
	if err := w.File("a\x00b", 0o644, 0, nil); err == nil {
		t.Error("NUL in name accepted")
	}
	w = newCpioWriter(io.Discard)
	if err := w.File("short", 0o644, 10, strings.NewReader("abc")); err == nil {
		t.Error("short data accepted")
	}
}
