package btf

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// The recorded BTF of a real kernel, so that the kernel tests also run on
// machines without BTF, and on other operating systems.
const fixture = "testdata/vmlinux-6.18.44-fc-v1300.btf.gz"

var fixtureData = sync.OnceValues(func() ([]byte, error) {
	f, err := os.Open(fixture)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(z)
})

// kernelSpecs returns the specs that the kernel tests check: the fixture
// always, and the running kernel's when it has BTF.
func kernelSpecs(t *testing.T) map[string]*Spec {
	t.Helper()
	specs := map[string]*Spec{}
	data, err := fixtureData()
	if err != nil {
		t.Fatal(err)
	}
	if specs[fixture], err = LoadBytes(data); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(KernelPath); err != nil {
		t.Logf("only the fixture: this kernel has no BTF (%v)", err)
		return specs
	}
	s, err := LoadFile(KernelPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	specs[KernelPath] = s
	return specs
}

// runningKernel returns the running kernel's spec, or skips.
func runningKernel(t *testing.T) *Spec {
	t.Helper()
	if _, err := os.Stat(KernelPath); errors.Is(err, os.ErrNotExist) {
		t.Skipf("this kernel lacks BTF: no %s", KernelPath)
	}
	s, err := LoadFile(KernelPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func mustType(t *testing.T, s *Spec, name string, k Kind) TypeID {
	t.Helper()
	id, err := s.TypeByName(name, k)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestKernelMembers(t *testing.T) {
	for src, s := range kernelSpecs(t) {
		t.Run(filepath.Base(src), func(t *testing.T) {
			for _, c := range []struct {
				typ, path, want string
				bitfield        bool
			}{
				{"task_struct", "comm", "char [16]", false},
				{"task_struct", "real_parent", "struct task_struct *", false},
				{"task_struct", "pid", "pid_t", false},
				{"task_struct", "sched_reset_on_fork", "unsigned int", true},
				{"inode", "i_nlink", "const unsigned int", false}, // in an anonymous union
				{"dentry", "d_name.name", "const unsigned char *", false},
				{"sock", "__sk_common.skc_dport", "__be16", false},
				{"filename", "name", "const char *", false},
				{"file", "f_path.dentry", "struct dentry *", false},
				{"sk_buff", "len", "unsigned int", false},
			} {
				id := mustType(t, s, c.typ, BTF_KIND_STRUCT)
				f, err := s.Member(id, c.path)
				if err != nil {
					t.Errorf("%s.%s: %v", c.typ, c.path, err)
					continue
				}
				if got := s.TypeString(f.Type); got != c.want {
					t.Errorf("%s.%s: %s, want %s", c.typ, c.path, got, c.want)
				}
				if (f.BitfieldSize != 0) != c.bitfield || f.Offset != f.BitOffset/8 {
					t.Errorf("%s.%s: %+v", c.typ, c.path, f)
				}
			}
			// The offsets of this kernel, as bpftool prints them.
			if src == fixture {
				task := mustType(t, s, "task_struct", BTF_KIND_STRUCT)
				for path, want := range map[string]Field{
					"comm":                {334, 1752, 14016, 0},
					"real_parent":         {115, 1280, 10240, 0},
					"sched_reset_on_fork": {9, 1188, 9504, 1},
				} {
					if got, err := s.Member(task, path); got != want || err != nil {
						t.Errorf("task_struct.%s: %+v %v, want %+v", path, got, err, want)
					}
				}
			}
			task := mustType(t, s, "task_struct", BTF_KIND_STRUCT)
			parent, _ := s.Member(task, "real_parent")
			if s.Kind(s.Resolve(parent.Type)) != BTF_KIND_PTR {
				t.Fatal("real_parent is not a pointer")
			}
			if n, err := s.Sizeof(parent.Type); n != 8 || err != nil {
				t.Errorf("sizeof real_parent: %d %v", n, err)
			}
		})
	}
}

func TestKernelFuncs(t *testing.T) {
	for src, s := range kernelSpecs(t) {
		t.Run(filepath.Base(src), func(t *testing.T) {
			p, err := s.FuncProto("do_unlinkat")
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Params) != 2 || p.Params[0].Name != "dfd" || p.Params[1].Name != "name" {
				t.Errorf("do_unlinkat params %+v", p.Params)
			}
			fn := mustType(t, s, "do_unlinkat", BTF_KIND_FUNC)
			if got := s.TypeString(fn); got != "int do_unlinkat(int dfd, struct filename *name)" {
				t.Errorf("do_unlinkat: %s", got)
			}
			args, err := s.TracepointArgs("sched_switch")
			if err != nil {
				t.Fatal(err)
			}
			var spelled []string
			for _, a := range args {
				spelled = append(spelled, s.TypeString(a.Type))
			}
			// TP_PROTO(bool preempt, struct task_struct *prev, struct task_struct *next, unsigned int prev_state)
			if got := strings.Join(spelled, ", "); got != "bool, struct task_struct *, struct task_struct *, unsigned int" {
				t.Errorf("sched_switch args: %s", got)
			}
			if p, err := s.FuncProto("_printk"); err != nil || !p.Variadic() {
				t.Errorf("_printk: %+v %v", p, err)
			}
		})
	}
}

func TestKernelEnums(t *testing.T) {
	for src, s := range kernelSpecs(t) {
		t.Run(filepath.Base(src), func(t *testing.T) {
			for name, want := range map[string]int64{"BPF_MAP_TYPE_HASH": 1, "TASK_COMM_LEN": 16, "BPF_PROG_TYPE_KPROBE": 2} {
				c, err := s.EnumConstant(name)
				if err != nil || c.Int64() != want {
					t.Errorf("%s: %+v %v, want %d", name, c, err, want)
				}
			}
			for _, name := range []string{"sock", "bpf_map_type", "u64", "pid_t"} {
				found := false
				for id := range s.TypesByName(name) {
					found = found || s.Name(id) == name
				}
				if !found {
					t.Errorf("TypesByName(%q) found nothing", name)
				}
			}
		})
	}
}

// TestBpftool compares every type of the fixture and of the running kernel
// with what bpftool prints for them.
func TestBpftool(t *testing.T) {
	bpftool, err := exec.LookPath("bpftool")
	if err != nil {
		t.Skip("bpftool is not installed: no oracle")
	}
	data, err := fixtureData()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "vmlinux.btf")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	paths := []string{path}
	if _, err := os.Stat(KernelPath); err == nil {
		paths = append(paths, KernelPath)
	}
	for _, path := range paths {
		out, err := exec.Command(bpftool, "btf", "dump", "file", path).Output()
		if err != nil {
			t.Fatalf("bpftool btf dump file %s: %v", path, err)
		}
		s, err := LoadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var mine bytes.Buffer
		for id := TypeID(1); id < TypeID(s.NumTypes()); id++ {
			typ, err := s.Type(id)
			if err != nil {
				t.Fatal(err)
			}
			writeBpftool(&mine, s, typ)
		}
		s.Close()
		want := strings.Split(string(out), "\n")
		got := strings.Split(mine.String(), "\n")
		bad := 0
		for i := range max(len(want), len(got)) {
			var w, g string
			if i < len(want) {
				w = want[i]
			}
			if i < len(got) {
				g = got[i]
			}
			if w != g {
				if bad++; bad <= 10 {
					t.Errorf("%s line %d:\n got %q\nwant %q", path, i+1, g, w)
				}
			}
		}
		t.Logf("%s: %d lines compared, %d differ", path, len(want), bad)
	}
}

// writeBpftool prints t as bpftool btf dump prints raw types.
func writeBpftool(w io.Writer, s *Spec, t *Type) {
	name := func(n string) string {
		if n == "" {
			return "(anon)"
		}
		return n
	}
	fmt.Fprintf(w, "[%d] %s '%s'", t.ID, strings.TrimPrefix(t.Kind.String(), "BTF_KIND_"), name(t.Name))
	switch t.Kind {
	case BTF_KIND_INT:
		enc := map[IntEncoding]string{0: "(none)", BTF_INT_SIGNED: "SIGNED", BTF_INT_CHAR: "CHAR", BTF_INT_BOOL: "BOOL"}[t.Int.Encoding]
		fmt.Fprintf(w, " size=%d bits_offset=%d nr_bits=%d encoding=%s\n", t.Size, t.Int.Offset, t.Int.Bits, enc)
	case BTF_KIND_PTR, BTF_KIND_CONST, BTF_KIND_VOLATILE, BTF_KIND_RESTRICT, BTF_KIND_TYPEDEF, BTF_KIND_TYPE_TAG:
		fmt.Fprintf(w, " type_id=%d\n", t.Type)
	case BTF_KIND_ARRAY:
		fmt.Fprintf(w, " type_id=%d index_type_id=%d nr_elems=%d\n", t.Array.Type, t.Array.IndexType, t.Array.Nelems)
	case BTF_KIND_STRUCT, BTF_KIND_UNION:
		fmt.Fprintf(w, " size=%d vlen=%d\n", t.Size, len(t.Members))
		for _, m := range t.Members {
			fmt.Fprintf(w, "\t'%s' type_id=%d bits_offset=%d", name(m.Name), m.Type, m.BitOffset)
			if m.BitfieldSize != 0 {
				fmt.Fprintf(w, " bitfield_size=%d", m.BitfieldSize)
			}
			fmt.Fprintln(w)
		}
	case BTF_KIND_ENUM, BTF_KIND_ENUM64:
		enc := "UNSIGNED"
		if t.Signed() {
			enc = "SIGNED"
		}
		fmt.Fprintf(w, " encoding=%s size=%d vlen=%d\n", enc, t.Size, len(t.Values))
		for _, v := range t.Values {
			switch {
			case t.Kind == BTF_KIND_ENUM && t.Signed():
				fmt.Fprintf(w, "\t'%s' val=%d\n", v.Name, int64(v.Value))
			case t.Kind == BTF_KIND_ENUM:
				fmt.Fprintf(w, "\t'%s' val=%d\n", v.Name, v.Value)
			case t.Signed():
				fmt.Fprintf(w, "\t'%s' val=%dLL\n", v.Name, int64(v.Value))
			default:
				fmt.Fprintf(w, "\t'%s' val=%dULL\n", v.Name, v.Value)
			}
		}
	case BTF_KIND_FWD:
		kind := "struct"
		if t.KindFlag {
			kind = "union"
		}
		fmt.Fprintf(w, " fwd_kind=%s\n", kind)
	case BTF_KIND_FUNC:
		fmt.Fprintf(w, " type_id=%d linkage=%s\n", t.Type, t.Linkage)
	case BTF_KIND_FUNC_PROTO:
		fmt.Fprintf(w, " ret_type_id=%d vlen=%d\n", t.Type, len(t.Params))
		for _, p := range t.Params {
			fmt.Fprintf(w, "\t'%s' type_id=%d\n", name(p.Name), p.Type)
		}
	case BTF_KIND_VAR:
		fmt.Fprintf(w, " type_id=%d, linkage=%s\n", t.Type, t.Linkage)
	case BTF_KIND_DATASEC:
		fmt.Fprintf(w, " size=%d vlen=%d\n", t.Size, len(t.Vars))
		for _, v := range t.Vars {
			fmt.Fprintf(w, "\ttype_id=%d offset=%d size=%d (%s '%s')\n", v.Type, v.Offset, v.Size,
				strings.TrimPrefix(s.Kind(v.Type).String(), "BTF_KIND_"), s.Name(v.Type))
		}
	case BTF_KIND_FLOAT:
		fmt.Fprintf(w, " size=%d\n", t.Size)
	case BTF_KIND_DECL_TAG:
		fmt.Fprintf(w, " type_id=%d component_idx=%d\n", t.Type, t.ComponentIdx)
	default:
		fmt.Fprintln(w)
	}
}

// TestConcurrentLookups asks one spec from many goroutines while its index
// is being built.
func TestConcurrentLookups(t *testing.T) {
	data, err := fixtureData()
	if err != nil {
		t.Fatal(err)
	}
	s, err := LoadBytes(data)
	if err != nil {
		t.Fatal(err)
	}
	want := mustType(t, s, "do_unlinkat", BTF_KIND_FUNC)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 20 {
				if id, err := s.TypeByName("do_unlinkat", BTF_KIND_FUNC); id != want || err != nil {
					t.Errorf("do_unlinkat: %d %v", id, err)
					return
				}
				if s.PointerSize() != 8 {
					t.Error("pointer size")
				}
			}
		})
	}
	wg.Wait()
	if !s.indexed.Load() {
		t.Error("160 lookups did not build the index")
	}
}

// TestLazyPass corrupts a type in the middle of the recorded vmlinux: the
// spec loads, the types before it are found without a pass over all of
// them, and the lookups that reach it report it.
func TestLazyPass(t *testing.T) {
	good, err := fixtureData()
	if err != nil {
		t.Fatal(err)
	}
	s, err := LoadBytes(good)
	if err != nil {
		t.Fatal(err)
	}
	task := mustType(t, s, "task_struct", BTF_KIND_STRUCT)
	if s.done.Load() || s.known.Load() > chunkLen {
		t.Fatalf("finding task_struct (%d) made a pass over %d types", task, s.known.Load())
	}
	const bad = 50000
	if !s.have(bad - 1) {
		t.Fatalf("the fixture has fewer than %d types", bad)
	}
	off := int(s.HdrLen) + int(s.TypeOff) + int(s.offset(bad-1))
	data := bytes.Clone(good)
	data[off+7] |= 0x1f // kind 31, which does not exist
	c, err := LoadBytes(data)
	if err != nil {
		t.Fatalf("the first types are good, yet: %v", err)
	}
	if id := mustType(t, c, "task_struct", BTF_KIND_STRUCT); id != task {
		t.Errorf("task_struct is %d, want %d", id, task)
	}
	_, err = c.TypeByName("do_unlinkat", BTF_KIND_FUNC)
	var fe *FormatError
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), "unknown kind 31") {
		t.Errorf("do_unlinkat beyond the bad type: %v, want the FormatError", err)
	}
	if err := c.Err(); !errors.As(err, &fe) || fe.Off != int64(s.offset(bad-1)) {
		t.Errorf("Err: %v, want unknown kind at %#x", err, s.offset(bad-1))
	}
	if n := c.NumTypes(); n != bad {
		t.Errorf("NumTypes: %d, want %d (void and the types before the bad one)", n, bad)
	}
	if err := s.Err(); err != nil {
		t.Errorf("Err of the good spec: %v", err)
	}
}
