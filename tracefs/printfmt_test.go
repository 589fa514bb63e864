package tracefs

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// TestHexFields: the print format, not the field type, says which fields
// the kernel prints in hex (a kprobe's x32 and u32 are both "u32").
func TestHexFields(t *testing.T) {
	for _, c := range []struct {
		format string
		want   []string
	}{
		{"events/tracelet/tracelet_kprobe/format", []string{"__probe_ip", "reg", "reg_x8", "reg_x16", "reg_x32", "reg_x64", "sp", "pc",
			"arg2", "arg3", "uderef_x", "how_flags", "how_mode", "how_resolve", "neg_off", "nested", "stack", "stack0", "stack1",
			"imm", "imm_hex", "sym_off", "sym_type", "arg44", "arg45"}},
		{"events/syscalls/sys_enter_openat/format", []string{"dfd", "filename", "flags", "mode"}},
		{"events/syscalls/sys_exit_openat/format", []string{"ret"}},
	} {
		b, err := os.ReadFile(filepath.Join("..", "testdata", "kernels", "6.1.0-56-cloud-amd64", c.format))
		if err != nil {
			t.Fatal(err)
		}
		f, err := ParseFormat(b)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]bool{}
		for _, n := range c.want {
			want[n] = true
		}
		if got := f.HexFields(); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %v, want %v", c.format, got, want)
		}
	}
}
