package tracefs

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/tracelet/tracelet/btf"
	"github.com/tracelet/tracelet/kprobeevents"
)

// btfFixture is the 6.18 development host's vmlinux BTF.
const btfFixture = "../btf/testdata/vmlinux-6.18.44-fc-v1300.btf.gz"

func loadBTFFixture(t *testing.T) *btf.Spec {
	t.Helper()
	f, err := os.Open(btfFixture)
	if os.IsNotExist(err) && os.Getenv("TRACELET_VM") != "" {
		// The VM suite's guests get a package's testdata and ../testdata
		// only; the host runs these tests on the fixture.
		t.Skip("no BTF fixture in the guest:", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	s, err := btf.LoadBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// grammarFor is the grammar of a recorded kernel (its README) with the
// BTF fixture.
func grammarFor(t *testing.T, release string, spec *btf.Spec, offsets bool) kprobeevents.Options {
	t.Helper()
	b, err := os.ReadFile("../testdata/kernels/" + release + "/README")
	if err != nil {
		t.Fatal(err)
	}
	f, err := ParseFeatures(b)
	if err != nil {
		t.Fatal(err)
	}
	k, _ := kprobeevents.ParseKernel(release)
	o := f.Options(kprobeevents.Options{Arch: kprobeevents.ArchX86_64, Kernel: k, BTF: KernelBTF(spec)})
	o.Offsets = offsets || !f.BTFFields
	return o
}

// offsetOf is offsetof() through the btf package, to cross-check Lower.
func offsetOf(t *testing.T, s *btf.Spec, typ, path string) uint32 {
	t.Helper()
	id, err := s.TypeByName(typ, btf.BTF_KIND_STRUCT)
	if err != nil {
		t.Fatal(err)
	}
	f, err := s.Member(id, path)
	if err != nil {
		t.Fatal(err)
	}
	return f.Offset
}

func TestLowerMemberChain(t *testing.T) {
	s := loadBTFFixture(t)
	fileDentry := offsetOf(t, s, "file", "f_path.dentry")
	dentryName := offsetOf(t, s, "dentry", "d_name.name")
	taskComm := offsetOf(t, s, "task_struct", "comm")
	for _, release := range []string{"6.1.0-56-cloud-amd64", "6.12.117+deb12-cloud-amd64"} {
		for _, c := range []struct{ spec, want string }{
			{"f vfs_read file->f_path.dentry->d_name.name:string count",
				fmt.Sprintf("p:tracelet/vfs_read__entry vfs_read arg1=+0(+%d(+%d(%%di))):string count=%%dx:u64", dentryName, fileDentry)},
			{"p:rd vfs_read name=file->f_path.dentry->d_name.name:string buf pos",
				fmt.Sprintf("p:tracelet/rd vfs_read name=+0(+%d(+%d(%%di))):string buf=%%si:x64 pos=%%cx:x64", dentryName, fileDentry)},
			{"f vfs_read%return $retval",
				"r:tracelet/vfs_read__exit vfs_read arg1=$retval:s64"},
			{"p:all vfs_read $arg*",
				"p:tracelet/all vfs_read file=%di:x64 buf=%si:x64 count=%dx:u64 pos=%cx:x64"},
			{"p:wk wake_up_new_task p->comm:string",
				fmt.Sprintf("p:tracelet/wk wake_up_new_task arg1=+%d(%%di):string", taskComm)},
		} {
			o := grammarFor(t, release, s, true)
			p, notes, err := ParseSpecNotes(c.spec, o, "tracelet")
			if err != nil {
				t.Errorf("%s: %q: %v", release, c.spec, err)
				continue
			}
			if got := p.String(); got != c.want {
				t.Errorf("%s: %q\n got %s\nwant %s\nnotes %q", release, c.spec, got, c.want, notes)
			}
			// What Lower wrote, the kernel's grammar accepts as is.
			if err := p.Validate(o); err != nil {
				t.Errorf("%s: %q: lowered probe refused: %v", release, c.spec, err)
			}
		}
	}
}

func TestLowerBitfield(t *testing.T) {
	s := loadBTFFixture(t)
	id, err := s.TypeByName("task_struct", btf.BTF_KIND_STRUCT)
	if err != nil {
		t.Fatal(err)
	}
	f, err := s.Member(id, "sched_reset_on_fork")
	if err != nil {
		t.Fatal(err)
	}
	if f.BitfieldSize != 1 {
		t.Fatalf("sched_reset_on_fork: %+v, want a 1-bit bitfield", f)
	}
	o := grammarFor(t, "6.1.0-56-cloud-amd64", s, true)
	p, _, err := ParseSpecNotes("p:s wake_up_new_task p->sched_reset_on_fork p->pid", o, "tracelet")
	if err != nil {
		t.Fatal(err)
	}
	pid := offsetOf(t, s, "task_struct", "pid")
	want := fmt.Sprintf("p:tracelet/s wake_up_new_task arg1=+%d(%%di):b1@%d/8 arg2=+%d(%%di):s32", f.BitOffset/8, f.BitOffset%8, pid)
	if got := p.String(); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if err := p.Validate(o); err != nil {
		t.Errorf("lowered probe refused: %v", err)
	}
}

// TestBTFChecks: with the kernel's BTF, what the kernel would refuse is
// refused with its error class and caret, before anything is written.
func TestBTFChecks(t *testing.T) {
	s := loadBTFFixture(t)
	for _, c := range []struct {
		spec string
		kind kprobeevents.ErrorKind
		col  int
	}{
		{"f vfs_read filp", kprobeevents.NO_BTFARG, 11},
		{"f vfs_read file->f_nosuch", kprobeevents.NO_BTF_FIELD, 17},
		{"f vfs_read file->f_path.nosuch", kprobeevents.NO_BTF_FIELD, 24},
		{"f vfs_read file->f_pos:string", kprobeevents.BAD_TYPE4STR, 11},
		{"f vfs_read count->x", kprobeevents.NO_PTR_STRCT, 18},
	} {
		for _, offsets := range []bool{false, true} {
			o := grammarFor(t, "6.12.117+deb12-cloud-amd64", s, offsets)
			_, err := ParseSpec(c.spec, o, "tracelet")
			var pe *kprobeevents.Error
			if !errors.As(err, &pe) || pe.Kind != c.kind || pe.Col != c.col {
				t.Errorf("offsets %v: %q: got %v, want %s at col %d", offsets, c.spec, err, c.kind, c.col)
			}
		}
	}
	// A function that BTF does not have.
	o := grammarFor(t, "6.1.0-56-cloud-amd64", s, true)
	if _, err := ParseSpec("f no_such_function_x file", o, "tracelet"); err == nil || !strings.Contains(err.Error(), "no_such_function_x") {
		t.Errorf("unknown function: %v", err)
	}
}
