package script

import (
	"encoding/binary"
	"strings"
	"testing"
)

func TestFormatPrintf(t *testing.T) {
	obj, err := CompileSource("-e", []byte(`BEGIN { printf("%d|%5u|%-4x|%08X|%o|%c|%s|%-6s|%.2s|%p|%hhd|%hu|100%%\n", -5, 42, 255, 48879, 8, 65, "str", comm, "abcdef", 4096, 511, 70000); }`),
		CheckOptions{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	pf := obj.Printfs[0]
	rec := make([]byte, pf.Size)
	put := func(i int, v uint64) { binary.NativeEndian.PutUint64(rec[pf.Offsets[i]:], v) }
	for i, v := range []int64{-5, 42, 255, 48879, 8, 65} {
		put(i, uint64(v))
	}
	copy(rec[pf.Offsets[6]:], "str")
	copy(rec[pf.Offsets[7]:], "bash")
	copy(rec[pf.Offsets[8]:], "abcdef")
	put(9, 4096)
	put(10, 511)
	put(11, 70000)
	var out strings.Builder
	if _, err := obj.HandleRecord(&out, rec, nil); err != nil {
		t.Fatal(err)
	}
	want := "-5|   42|ff  |0000BEEF|10|A|str|bash  |ab|0x1000|-1|4464|100%\n"
	if out.String() != want {
		t.Errorf("got  %q\nwant %q", out.String(), want)
	}
	// An action record: a print names its call, which names the map,
	// top and div; an unknown one is an error.
	obj.Prints = append(obj.Prints, &Print{Map: 3, Top: 5, Div: 1000})
	binary.NativeEndian.PutUint64(rec, ActionID(ActionPrint, len(obj.Prints)-1))
	if r, err := obj.HandleRecord(&out, rec[:8], nil); err != nil || r != (Record{Action: ActionPrint, Map: 3, Top: 5, Div: 1000}) {
		t.Errorf("action record: %+v, %v", r, err)
	}
	binary.NativeEndian.PutUint64(rec, ActionID(ActionPrint, len(obj.Prints)))
	if _, err := obj.HandleRecord(&out, rec[:8], nil); err == nil {
		t.Error("a print record of no print call accepted")
	}
	binary.NativeEndian.PutUint64(rec, 7)
	if _, err := obj.HandleRecord(&out, rec, nil); err == nil {
		t.Error("unknown printf id accepted")
	}
}

func TestDrawHistEdges(t *testing.T) {
	var b strings.Builder
	buckets := make([]uint64, 66)
	buckets[0] = 3  // negative values
	buckets[1] = 1  // zeros
	buckets[65] = 0 // keep the range short
	DrawHist(&b, buckets)
	want := "(..., 0)               3 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n" +
		"[0]                    1 |@@@@@@@@@@@@@@@@@                                   |\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
	for p, want := range map[int]string{0: "1", 9: "512", 10: "1K", 21: "2M", 30: "1G", 43: "8T", 50: "1P", 63: "8E"} {
		if got := hist2Label(p); got != want {
			t.Errorf("hist2Label(%d) = %s, want %s", p, got, want)
		}
	}
	for n, want := range map[int64]string{0: "0", 1000: "1000", 2048: "2K", 3 << 20: "3M"} {
		if got := lhistLabel(n); got != want {
			t.Errorf("lhistLabel(%d) = %s, want %s", n, got, want)
		}
	}
}

// Maps of strings print their values, sorted by key; integers by value.
func TestWriteMapSorting(t *testing.T) {
	obj, err := CompileSource("-e", []byte(`BEGIN { @s[pid] = comm; @n[comm, 1] = 1; }`), CheckOptions{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := obj.Maps[mapIdx(t, obj, "s")]
	n := obj.Maps[mapIdx(t, obj, "n")]
	key := func(v uint64) []byte { return binary.NativeEndian.AppendUint64(nil, v) }
	str := func(s string, size int) []byte { b := make([]byte, size); copy(b, s); return b }
	var out strings.Builder
	obj.WriteMap(&out, s, []Entry{
		{Key: key(20), Values: [][]byte{str("zsh", 16)}},
		{Key: key(3), Values: [][]byte{str("bash", 16)}},
	}, nil)
	obj.WriteMap(&out, n, []Entry{
		{Key: append(str("b", 16), key(1)...), Values: [][]byte{key(9)}},
		{Key: append(str("a", 16), key(1)...), Values: [][]byte{key(9)}},
		{Key: append(str("c", 16), key(1)...), Values: [][]byte{key(2)}},
	}, nil)
	want := "@s[3]: bash\n@s[20]: zsh\n@n[c, 1]: 2\n@n[a, 1]: 9\n@n[b, 1]: 9\n"
	if out.String() != want {
		t.Errorf("got %q\nwant %q", out.String(), want)
	}
}
