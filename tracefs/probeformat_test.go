package tracefs

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tracelet/tracelet/kprobeevents"
)

// TestProbeFormatFixtures renders the format of every probe definition
// recorded from a real kernel (testdata/kernels/*/dynamic_events) and
// compares it, byte for byte, with the format file that kernel made for
// it: what decoding a record from its definition relies on.
func TestProbeFormatFixtures(t *testing.T) {
	dirs, _ := filepath.Glob("../testdata/kernels/*")
	compared, refused := 0, 0
	for _, dir := range dirs {
		defs, err := os.ReadFile(filepath.Join(dir, "dynamic_events"))
		if err != nil {
			continue
		}
		readme, err := os.ReadFile(filepath.Join(dir, "README"))
		if err != nil {
			t.Fatal(err)
		}
		feat, err := ParseFeatures(readme)
		if err != nil {
			t.Fatal(err)
		}
		arch := kprobeevents.ArchX86_64
		if strings.HasSuffix(dir, "arm64") {
			arch = kprobeevents.ArchARM64
		}
		for _, ev := range ParseDynamicEvents(defs) {
			formats, _ := filepath.Glob(filepath.Join(dir, "events", "*", ev.Event, "format"))
			if len(formats) != 1 {
				continue
			}
			want, err := os.ReadFile(formats[0])
			if err != nil {
				t.Fatal(err)
			}
			p, err := kprobeevents.ParseProbe(ev.Raw, kprobeevents.Options{Arch: arch})
			if err != nil {
				t.Errorf("%s: %v", ev.Raw, err)
				continue
			}
			wf, err := ParseFormat(want)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ProbeFormatText(p, wf.ID, arch.PtrBits(), feat.BTFArgs)
			if feat.BTFArgs && btfTyped(p) {
				// 6.5+ types these from its BTF: refused, not guessed.
				if err == nil {
					t.Errorf("%s: %s has BTF-typed arguments, and its format was rendered without BTF", filepath.Base(dir), ev.Raw)
				}
				refused++
				continue
			}
			if err != nil {
				t.Errorf("%s: %v", ev.Raw, err)
				continue
			}
			if got != string(want) {
				t.Errorf("%s: format of %s\ngot:\n%s\nwant:\n%s", filepath.Base(dir), ev.Raw, got, want)
			}
			compared++
		}
	}
	if compared < 6 || refused == 0 {
		t.Fatalf("compared %d recorded probe formats, want the kprobe, kretprobe and uprobe of each recorded kernel", compared)
	}
	t.Logf("%d recorded probe formats rendered exactly, %d with BTF-typed arguments refused", compared, refused)
}

func btfTyped(p *kprobeevents.Probe) bool {
	for _, a := range p.Args {
		if a.Type.IsZero() && (a.Fetch.Kind == kprobeevents.FetchBTF || a.Fetch.Kind == kprobeevents.FetchRetval) {
			return true
		}
	}
	return false
}

// TestProbeFormat32 checks the 32-bit layout: a 4-byte unsigned long head
// and x32 as the default type.
func TestProbeFormat32(t *testing.T) {
	p, err := kprobeevents.ParseProbe(`r:g/e do_sys_openat2 ret=$retval s=+0($stack):string`, kprobeevents.Options{Arch: kprobeevents.ArchI386})
	if err != nil {
		t.Fatal(err)
	}
	f, err := ProbeFormat(p, 7, 32, false)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, fd := range f.Fields {
		got = append(got, fd.Type+" "+fd.Name+"@"+itoa(fd.Offset)+"/"+itoa(fd.Size))
	}
	want := "unsigned long __probe_func@8/4 unsigned long __probe_ret_ip@12/4 u32 ret@16/4 __data_loc char[] s@20/4"
	if strings.Join(got, " ") != want || f.System != "g" || f.Name != "e" || f.ID != 7 {
		t.Errorf("got %s:%s id %d %s\nwant %s", f.System, f.Name, f.ID, strings.Join(got, " "), want)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
