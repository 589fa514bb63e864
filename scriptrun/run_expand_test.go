package scriptrun

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/tracelet/tracelet/script"
	"github.com/tracelet/tracelet/tracefs"
)

// kallsymsFunctions keeps the text symbols, once each and without their
// module, and leaves out data, the __pfx_/__cfi_ padding and the
// blacklist.
func TestKallsymsFunctions(t *testing.T) {
	file := filepath.Join(t.TempDir(), "kallsyms")
	const lines = `ffffffff81000000 T _stext
ffffffff81001000 t __pfx_vfs_read
ffffffff81001010 T vfs_read
ffffffff81002000 t lookup_fast.constprop.0
ffffffff81003000 D avenrun
ffffffff81004000 T __cfi_vfs_write
ffffffff81004010 T vfs_write
ffffffff81005000 t helper
ffffffff81006000 t helper
ffffffff81007000 T entry_SYSCALL_64
ffffffffc0000000 t ext4_file_open	[ext4]
`
	if err := os.WriteFile(file, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := kallsymsFunctions(file, map[string]bool{"entry_SYSCALL_64": true})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"_stext", "ext4_file_open", "helper", "lookup_fast.constprop.0", "vfs_read", "vfs_write"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// Where available_filter_functions cannot be read (the recorded tracefs
// has none; this host's answers EPERM), kprobe wildcards match the running
// kernel's /proc/kallsyms, and the program says so. A wildcard that
// matches nothing is dropped when its probe has other attach points, and
// is an error when it is the probe's only one.
func TestExpandKprobeFromKallsyms(t *testing.T) {
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "events"), 0o755); err != nil {
		t.Fatal(err)
	}
	fs, err := tracefs.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	prog, err := script.Parse("-e", []byte(`kprobe:vfs_rea*, kprobe:no_such_function_zz* { }`))
	if err != nil {
		t.Fatal(err)
	}
	if err := script.Expand(prog, wildcards{fs}); err != nil {
		t.Fatal(err)
	}
	if prog.KprobeSource != "/proc/kallsyms" {
		t.Errorf("KprobeSource = %q, want /proc/kallsyms", prog.KprobeSource)
	}
	var funcs []string
	for _, a := range prog.Probes[0].Attach {
		funcs = append(funcs, a.Func)
	}
	if !slices.Contains(funcs, "vfs_read") {
		t.Errorf("kprobe:vfs_rea* matched %q, without vfs_read", funcs)
	}
	prog, err = script.Parse("-e", []byte(`kprobe:no_such_function_zz* { }`))
	if err != nil {
		t.Fatal(err)
	}
	if err := script.Expand(prog, wildcards{fs}); err == nil || err.Error() != "-e:1:1: kprobe:no_such_function_zz* matches no kprobe\nkprobe:no_such_function_zz* { }\n^" {
		t.Errorf("got %v", err)
	}
}
