package tracefs

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A synthetic format covering every kind, with a record built by hand.
const synthFormat = `name: synth
ID: 77
format:
	field:unsigned short common_type;	offset:0;	size:2;	signed:0;
	field:unsigned char common_flags;	offset:2;	size:1;	signed:0;
	field:unsigned char common_preempt_count;	offset:3;	size:1;	signed:0;
	field:int common_pid;	offset:4;	size:4;	signed:1;

	field:s8 a;	offset:8;	size:1;	signed:1;
	field:u16 b;	offset:9;	size:2;	signed:0;
	field:s32 c;	offset:11;	size:4;	signed:1;
	field:u64 d;	offset:15;	size:8;	signed:0;
	field:char comm[8];	offset:23;	size:8;	signed:0;
	field:s16 arr[];	offset:31;	size:6;	signed:1;
	field:__data_loc char[] str;	offset:37;	size:4;	signed:1;
	field:__data_loc unsigned int[] dyn;	offset:41;	size:4;	signed:0;
	field:__rel_loc char[] rel;	offset:45;	size:4;	signed:0;
	field:__data_loc char[][2] sa;	offset:49;	size:8;	signed:1;
	field:u8 odd[3];	offset:57;	size:3;	signed:0;

print fmt: "a=%d", REC->a
`

func synthRecord() []byte {
	ne := binary.NativeEndian
	r := make([]byte, 60)
	ne.PutUint16(r[0:], 77)
	r[2], r[3] = 1, 2
	ne.PutUint32(r[4:], uint32(0xfffffffe)) // pid -2
	r[8] = 0x80                             // -128
	ne.PutUint16(r[9:], 0xbeef)
	ne.PutUint32(r[11:], uint32(0xfffffff9)) // -7
	ne.PutUint64(r[15:], 0x0102030405060708)
	copy(r[23:], "abc\x00zzz\x00")
	ne.PutUint16(r[31:], 0xffff) // -1
	ne.PutUint16(r[33:], 2)
	ne.PutUint16(r[35:], 0x8000)
	copy(r[57:], []byte{9, 8, 7})
	loc := func(off, n int) uint32 { return uint32(n)<<16 | uint32(off) }
	// dynamic data after the fixed part
	str := len(r)
	r = append(r, "hello\x00"...)
	ne.PutUint32(r[37:], loc(str, 6))
	dyn := len(r)
	r = binary.NativeEndian.AppendUint32(r, 10)
	r = binary.NativeEndian.AppendUint32(r, 20)
	ne.PutUint32(r[41:], loc(dyn, 8))
	rel := len(r)
	r = append(r, "rel\x00"...)
	ne.PutUint32(r[45:], loc(rel-(45+4), 4))
	s0 := len(r)
	r = append(r, "x\x00"...)
	ne.PutUint32(r[49:], loc(s0, 2))
	ne.PutUint32(r[53:], loc(0, 0)) // fault
	return r
}

func synthDecoder(t testing.TB) *Decoder {
	f, err := ParseFormat([]byte(synthFormat))
	if err != nil {
		t.Fatal(err)
	}
	d, err := f.Decoder()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestDecodeSynthetic(t *testing.T) {
	d := synthDecoder(t)
	var r Record
	if err := d.Decode(synthRecord(), &r); err != nil {
		t.Fatal(err)
	}
	if r.Type != 77 || r.Flags != 1 || r.PreemptCount != 2 || r.Pid != -2 {
		t.Errorf("common: %+v", r)
	}
	v := r.Values
	check := func(i int, ok bool, what string) {
		t.Helper()
		if !ok {
			t.Errorf("%s: %+v", what, v[i])
		}
	}
	check(0, v[0].Kind == KindInt && v[0].Int == -128, "s8")
	check(1, v[1].Kind == KindUint && v[1].Uint == 0xbeef, "u16")
	check(2, v[2].Kind == KindInt && v[2].Int == -7, "s32")
	check(3, v[3].Kind == KindUint && v[3].Uint == 0x0102030405060708, "u64")
	check(4, v[4].Kind == KindString && string(v[4].Bytes) == "abc", "char[8]")
	check(5, v[5].Kind == KindArray && v[5].Len() == 3 && v[5].IntAt(0) == -1 && v[5].IntAt(1) == 2 && v[5].IntAt(2) == -32768 && v[5].UintAt(2) == 0x8000, "s16 arr")
	check(6, v[6].Kind == KindString && string(v[6].Bytes) == "hello" && !v[6].Fault, "data_loc string")
	check(7, v[7].Kind == KindArray && v[7].Len() == 2 && v[7].UintAt(0) == 10 && v[7].UintAt(1) == 20 && v[7].ElemSize == 4, "data_loc array")
	check(8, v[8].Kind == KindString && string(v[8].Bytes) == "rel", "rel_loc")
	s0, ok0 := v[9].StringAt(0)
	_, ok1 := v[9].StringAt(1)
	check(9, v[9].Kind == KindStringArray && v[9].Len() == 2 && ok0 && string(s0) == "x" && !ok1, "string array")
	check(10, v[10].Kind == KindArray && v[10].Len() == 3 && v[10].UintAt(2) == 7, "u8[3]")
	if s := v[9].String(); s != `{"x",(fault)}` {
		t.Errorf("string array String() = %s", s)
	}
	if s := v[5].String(); s != "{-1,2,-32768}" {
		t.Errorf("array String() = %s", s)
	}
	// Out-of-range element accessors return zero, never panic.
	if v[5].UintAt(3) != 0 || v[5].IntAt(-1) != 0 || v[0].UintAt(0) != 0 {
		t.Error("out-of-range element not zero")
	}
}

func TestDecodeCorrupt(t *testing.T) {
	d := synthDecoder(t)
	good := synthRecord()
	var r Record
	var ce *CorruptError
	// Too short for the fixed fields.
	if err := d.Decode(good[:40], &r); !errors.As(err, &ce) {
		t.Errorf("short record: %v", err)
	}
	// A string location past the end.
	bad := append([]byte(nil), good...)
	binary.NativeEndian.PutUint32(bad[37:], 50<<16|uint32(len(bad)-10))
	if err := d.Decode(bad, &r); !errors.As(err, &ce) || ce.Field != "str" {
		t.Errorf("string past end: %v", err)
	}
	// An array whose length is not a multiple of its element.
	bad = append([]byte(nil), good...)
	binary.NativeEndian.PutUint32(bad[41:], 3<<16|60)
	if err := d.Decode(bad, &r); !errors.As(err, &ce) || ce.Field != "dyn" {
		t.Errorf("ragged array: %v", err)
	}
	// A rel_loc pointing past the end.
	bad = append([]byte(nil), good...)
	binary.NativeEndian.PutUint32(bad[45:], 4<<16|0xfff0)
	if err := d.Decode(bad, &r); !errors.As(err, &ce) {
		t.Errorf("rel_loc past end: %v", err)
	}
}

func TestDecodeNoAllocs(t *testing.T) {
	d := synthDecoder(t)
	rec := synthRecord()
	var r Record
	d.Decode(rec, &r)
	if n := testing.AllocsPerRun(100, func() { d.Decode(rec, &r) }); n != 0 {
		t.Errorf("Decode allocates %v times per record", n)
	}
}

func TestParseFormatErrors(t *testing.T) {
	for _, bad := range []string{
		"",
		"ID: 5\n",
		"name: x\nID: zz\n",
		"name: x\nformat:\n\tfield:int a;\toffset:zz;\tsize:4;\tsigned:1;\n",
		"name: x\nformat:\n\tfield:int a;\tsize:4;\tsigned:1;\n",
		"name: x\nformat:\n\tfield:int;\toffset:0;\tsize:4;\tsigned:1;\n",
		"name: x\nformat:\n\tfield:int a;\toffset:0;\tsize:99999999;\tsigned:1;\n",
		"name: x\nsomething else\n",
		"name: x\nprint fmt: \"%d\", REC->a\n" + strings.Repeat("\n", maxFormatSize),
	} {
		if _, err := ParseFormat([]byte(bad)); err == nil {
			t.Errorf("ParseFormat(%q) accepted", bad)
		}
	}
}

// TestParseFormatPrintFmt: the print fmt runs from "print fmt: " to the end
// of the file, newlines inside it kept and the file's own end dropped.
func TestParseFormatPrintFmt(t *testing.T) {
	const head = "name: x\nID: 7\nformat:\n\tfield:int a;\toffset:8;\tsize:4;\tsigned:1;\n\n"
	for _, c := range []struct{ file, want string }{
		{"print fmt: \"a=%d\", REC->a\n", `"a=%d", REC->a`},
		{"print fmt: \"a=%d\", REC->a", `"a=%d", REC->a`},
		{"print fmt: \"a=%d\", REC->a\n\n\n", `"a=%d", REC->a`},
		{"print fmt: \"a=%d\n\", REC->a\n", "\"a=%d\n\", REC->a"},
		{"print fmt: \"lines:\n  a=%d\n\nname: y\n\", REC->a\n", "\"lines:\n  a=%d\n\nname: y\n\", REC->a"},
		{"print fmt: \"\n\"\n", "\"\n\""},
	} {
		f, err := ParseFormat([]byte(head + c.file))
		if err != nil {
			t.Errorf("%q: %v", c.file, err)
			continue
		}
		if f.PrintFmt != c.want || f.Name != "x" || len(f.Fields) != 1 {
			t.Errorf("%q: print fmt %q, want %q", c.file, f.PrintFmt, c.want)
		}
		if g, err := ParseFormat([]byte(f.String())); err != nil || g.PrintFmt != c.want {
			t.Errorf("%q: reparsed %v, %v", c.file, g, err)
		}
	}
}

// FuzzParseFormat: any bytes parse or return an error, never panic; what
// parses prints back as a format file that parses to the same print fmt.
func FuzzParseFormat(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join("..", "testdata", "kernels", "*", "events", "*", "*", "format"))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ff, err := ParseFormat(b)
		if err != nil {
			return
		}
		if g, err := ParseFormat([]byte(ff.String())); err == nil && g.PrintFmt != ff.PrintFmt {
			t.Errorf("print fmt %q reparsed as %q", ff.PrintFmt, g.PrintFmt)
		}
	})
}

// FuzzDecode: any bytes, against every recorded format, must decode or
// return an error; never panic or read outside the record.
func FuzzDecode(f *testing.F) {
	f.Add(synthRecord())
	f.Add([]byte{})
	var decs []*Decoder
	decs = append(decs, synthDecoder(f))
	paths, _ := filepath.Glob(filepath.Join("..", "testdata", "kernels", "*", "ring", "*", "*.format"))
	more, _ := filepath.Glob(filepath.Join("..", "testdata", "kernels", "*", "events", "*", "*", "format"))
	for _, p := range append(paths, more...) {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		ff, err := ParseFormat(b)
		if err != nil {
			f.Fatal(err)
		}
		d, err := ff.Decoder()
		if err != nil {
			f.Fatal(err)
		}
		decs = append(decs, d)
	}
	pages, _ := filepath.Glob(filepath.Join("..", "testdata", "kernels", "*", "ring", "*", "page*.bin"))
	for _, p := range pages {
		b, _ := os.ReadFile(p)
		ParseRingPage(b, func(ev RingEvent) error { f.Add(append([]byte(nil), ev.Data...)); return nil })
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var r Record
		for _, d := range decs {
			if err := d.Decode(raw, &r); err != nil {
				continue
			}
			for _, v := range r.Values {
				_ = v.String()
				for i := 0; i < v.Len(); i++ {
					v.StringAt(i)
					v.IntAt(i)
				}
			}
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	d := synthDecoder(b)
	rec := synthRecord()
	var r Record
	b.ReportAllocs()
	b.SetBytes(int64(len(rec)))
	for b.Loop() {
		if err := d.Decode(rec, &r); err != nil {
			b.Fatal(err)
		}
	}
}
