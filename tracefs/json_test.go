package tracefs

import (
	"encoding/binary"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestJSONFollowsCType decodes a sys_enter_openat record in the layout of
// the recorded 6.18 format, which stores `int dfd` and `int flags` in
// 8-byte slots with signed:0: JSON gives them as the ints they are (-100
// for AT_FDCWD, as bpftrace prints it), the user pointer filename as a hex
// string, and `umode_t mode` as its 16 bits.
func TestJSONFollowsCType(t *testing.T) {
	b, err := os.ReadFile("../testdata/kernels/6.18/events/syscalls/sys_enter_openat/format")
	if err != nil {
		t.Fatal(err)
	}
	f, err := ParseFormat(b)
	if err != nil {
		t.Fatal(err)
	}
	d, err := f.Decoder()
	if err != nil {
		t.Fatal(err)
	}
	rec := make([]byte, 48)
	put := func(name string, v uint64) {
		binary.NativeEndian.PutUint64(rec[f.Field(name).Offset:], v)
	}
	put("dfd", uint64(0xffffffffffffff9c)) // AT_FDCWD as the caller sign-extended it
	put("filename", 0x2070_0000_1000)
	put("flags", 0x80000) // O_CLOEXEC
	put("mode", 0xffff_0000_01a4)
	var r Record
	if err := d.Decode(rec, &r); err != nil {
		t.Fatal(err)
	}
	var got []string
	for i, fd := range f.Fields {
		if fd.Name == "__syscall_nr" {
			continue
		}
		got = append(got, fd.Name+":"+string(r.Values[i].AppendJSON(nil)))
	}
	want := `dfd:-100 filename:"0x207000001000" flags:524288 mode:420`
	if strings.Join(got, " ") != want {
		t.Errorf("JSON values:\n got %s\nwant %s", strings.Join(got, " "), want)
	}
	// The text form stays the kernel's: the stored bits.
	if s := string(r.Values[1].AppendText(nil, true)); s != "0xffffffffffffff9c" {
		t.Errorf("text of dfd: %s", s)
	}
}

// TestJSONBeyondDouble: integers a double cannot hold are strings, which a
// real consumer (jq, which reads numbers as doubles) keeps digit for digit.
func TestJSONBeyondDouble(t *testing.T) {
	cases := map[string]string{
		string(AppendJSONUint(nil, 1<<53-1)):              "9007199254740991",
		string(AppendJSONUint(nil, 1<<53)):                `"9007199254740992"`,
		string(AppendJSONUint(nil, 18446744073709551615)): `"18446744073709551615"`,
		string(AppendJSONInt(nil, -1<<53)):                `"-9007199254740992"`,
		string(AppendJSONInt(nil, -100)):                  "-100",
		string(AppendJSONAddr(nil, 0xffffffff8a2b1c40)):   `"0xffffffff8a2b1c40"`,
	}
	for got, want := range cases {
		if got != want {
			t.Errorf("got %s, want %s", got, want)
		}
	}
	jq, err := exec.LookPath("jq")
	if err != nil {
		t.Skip("jq is not installed (make deps installs it)")
	}
	line := `{"a":` + string(AppendJSONUint(nil, 18446744073709551615)) + `,"p":` + string(AppendJSONAddr(nil, 0xffffffff8a2b1c40)) + `,"n":` + string(AppendJSONInt(nil, -100)) + "}"
	cmd := exec.Command(jq, "-r", `"\(.a) \(.p) \(.n + 1)"`)
	cmd.Stdin = strings.NewReader(line)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(out)); got != "18446744073709551615 0xffffffff8a2b1c40 -99" {
		t.Errorf("jq read %s as %q", line, got)
	}
}
