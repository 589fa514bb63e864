package script

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"

	"github.com/tracelet/tracelet/btf"
)

// layoutSrc parses src's struct definitions and lays them out on base for
// model; the errors are returned as text, one a line.
func layoutSrc(t *testing.T, src string, base *btf.Spec, model dataModel) (*btf.Spec, map[string]btf.TypeID, string) {
	t.Helper()
	prog, err := Parse("-e", []byte(src+"\nBEGIN { exit(); }"))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	var errs strings.Builder
	spec, ids := layoutStructs(prog.Structs, base, model, func(p Pos, format string, args ...any) {
		fmt.Fprintf(&errs, "%d:%d: %s\n", p.Line, p.Col, fmt.Sprintf(format, args...))
	})
	return spec, ids, errs.String()
}

// The C layouts below are what gcc 12 gives with -m64 and -m32 (offsets of
// bitfields read from initialised globals in its assembly); arm's (AAPCS:
// 8-byte alignment of long long on a 32-bit target) are worked by hand.
const layoutDefs = `
struct mix { char c; long long ll; short s; void *p; long l; int a[3]; char tail; };
struct bf { unsigned int a:3, b:30; unsigned char c; unsigned long long d:60, e:10; };
struct bf2 { char x; unsigned int y:4; unsigned int :0; unsigned short z:9; long long w:40; char q; };
struct un { char c; union { int i; long long ll; } u; char d[5]; };
`

func TestStructLayoutC(t *testing.T) {
	// member: bit offset (and width for bitfields); "size": the struct's.
	type want map[string][2]uint32
	for _, tc := range []struct {
		name  string
		model dataModel
		want  map[string]want
	}{
		{"x86_64", dataModel{Ptr: 8, Align8: 8}, map[string]want{
			"mix": {"ll": {64}, "s": {128}, "p": {192}, "l": {256}, "a": {320}, "tail": {416}, "size": {56}},
			"bf":  {"a": {0, 3}, "b": {32, 30}, "c": {64}, "d": {128, 60}, "e": {192, 10}, "size": {32}},
			"bf2": {"y": {8, 4}, "z": {32, 9}, "w": {64, 40}, "q": {104}, "size": {16}},
			"un":  {"u": {64}, "d": {128}, "size": {24}},
		}},
		{"i386", dataModel{Ptr: 4, Align8: 4}, map[string]want{
			"mix": {"ll": {32}, "s": {96}, "p": {128}, "l": {160}, "a": {192}, "tail": {288}, "size": {40}},
			"bf":  {"a": {0, 3}, "b": {32, 30}, "c": {64}, "d": {96, 60}, "e": {156, 10}, "size": {24}},
			"bf2": {"y": {8, 4}, "z": {32, 9}, "w": {41, 40}, "q": {88}, "size": {12}},
			"un":  {"u": {32}, "d": {96}, "size": {20}},
		}},
		{"arm", dataModel{Ptr: 4, Align8: 8}, map[string]want{
			"mix": {"ll": {64}, "s": {128}, "p": {160}, "l": {192}, "a": {224}, "tail": {320}, "size": {48}},
			"un":  {"u": {64}, "d": {128}, "size": {24}},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec, ids, errs := layoutSrc(t, layoutDefs, nil, tc.model)
			if errs != "" {
				t.Fatal(errs)
			}
			if got := spec.PointerSize(); got != tc.model.Ptr {
				t.Errorf("pointer size %d, want %d", got, tc.model.Ptr)
			}
			for st, members := range tc.want {
				id := ids["struct "+st]
				for name, w := range members {
					if name == "size" {
						if n, err := spec.Sizeof(id); err != nil || n != w[0] {
							t.Errorf("sizeof(struct %s) = %d (%v), want %d", st, n, err, w[0])
						}
						continue
					}
					f, err := spec.Member(id, name)
					if err != nil {
						t.Errorf("struct %s: %v", st, err)
						continue
					}
					if f.BitOffset != w[0] || f.BitfieldSize != w[1] {
						t.Errorf("struct %s member %s at bit %d width %d, want bit %d width %d", st, name, f.BitOffset, f.BitfieldSize, w[0], w[1])
					}
				}
			}
		})
	}
}

// kernelDefs are kernel structs as a script would copy them from the
// headers, with every member (but perf_event_attr's prefix): their layout
// must be the kernel's own, as its BTF records it.
var kernelDefs = []struct {
	name     string
	def      string
	complete bool
}{
	{"load_weight", "struct load_weight { unsigned long weight; u32 inv_weight; };", true},
	{"list_head", "struct list_head { struct list_head *next, *prev; };", true},
	{"hlist_node", "struct hlist_node { struct hlist_node *next, **pprev; };", true},
	{"rb_node", "struct rb_node { unsigned long __rb_parent_color; struct rb_node *rb_right; struct rb_node *rb_left; };", true},
	{"timespec64", "struct timespec64 { time64_t tv_sec; long tv_nsec; };", true},
	{"qstr", "struct qstr { union { struct { u32 hash; u32 len; }; u64 hash_len; }; const unsigned char *name; };", true},
	{"perf_event_attr", `struct perf_event_attr {
		__u32 type; __u32 size; __u64 config;
		union { __u64 sample_period; __u64 sample_freq; };
		__u64 sample_type; __u64 read_format;
		__u64 disabled : 1, inherit : 1, pinned : 1, exclusive : 1, exclude_user : 1,
			exclude_kernel : 1, exclude_hv : 1, exclude_idle : 1, mmap : 1, comm : 1,
			freq : 1, inherit_stat : 1, enable_on_exec : 1, task : 1, watermark : 1,
			precise_ip : 2, mmap_data : 1, sample_id_all : 1;
	};`, false},
}

// checkKernelLayout compares each of kernelDefs, laid out by the script's
// rules for kernel's data model, with the kernel's BTF of the same struct.
func checkKernelLayout(t *testing.T, kernel *btf.Spec) {
	for _, d := range kernelDefs {
		spec, ids, errs := layoutSrc(t, d.def, kernel, modelOf(kernel))
		if errs != "" {
			t.Errorf("%s: %s", d.name, errs)
			continue
		}
		mine := ids["struct "+d.name]
		theirs, err := kernel.TypeByName(d.name, btf.BTF_KIND_STRUCT)
		if err != nil {
			t.Fatal(err)
		}
		if d.complete {
			a, _ := spec.Sizeof(mine)
			b, _ := kernel.Sizeof(theirs)
			if a != b {
				t.Errorf("sizeof(struct %s) = %d, the kernel's is %d", d.name, a, b)
			}
		}
		typ, err := spec.Type(mine)
		if err != nil {
			t.Fatal(err)
		}
		names := memberNames(spec, typ)
		for _, n := range names {
			a, err1 := spec.Member(mine, n)
			b, err2 := kernel.Member(theirs, n)
			if err1 != nil || err2 != nil {
				t.Errorf("struct %s member %s: %v, %v", d.name, n, err1, err2)
				continue
			}
			if a.BitOffset != b.BitOffset || a.BitfieldSize != b.BitfieldSize {
				t.Errorf("struct %s member %s at bit %d width %d, the kernel's at bit %d width %d", d.name, n, a.BitOffset, a.BitfieldSize, b.BitOffset, b.BitfieldSize)
			}
			sa, _ := spec.Sizeof(a.Type)
			sb, _ := kernel.Sizeof(b.Type)
			if sa != sb {
				t.Errorf("struct %s member %s is %d bytes, the kernel's %d", d.name, n, sa, sb)
			}
		}
	}
}

// memberNames are the names of typ's members, and of the members of its
// anonymous structs and unions (qstr's hash, len and hash_len).
func memberNames(spec *btf.Spec, typ *btf.Type) []string {
	var names []string
	for _, m := range typ.Members {
		if m.Name != "" {
			names = append(names, m.Name)
		} else if inner, err := spec.Type(spec.Resolve(m.Type)); err == nil {
			names = append(names, memberNames(spec, inner)...)
		}
	}
	return names
}

// TestStructLayoutBTF checks the layout of kernel structs copied into a
// script against the BTF recorded from Linux 6.18 (x86_64).
func TestStructLayoutBTF(t *testing.T) {
	checkKernelLayout(t, fixtureBTF(t))
}

// TestStructLayoutKernel checks it against the running kernel's BTF: in
// the VM suite's guests, i386's 4-byte pointers and alignment of u64 and
// arm64's layout.
func TestStructLayoutKernel(t *testing.T) {
	spec, err := btf.LoadFile(btf.KernelPath)
	if errors.Is(err, fs.ErrNotExist) {
		t.Skipf("this kernel publishes no BTF (%s): %v", btf.KernelPath, err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer spec.Close()
	t.Logf("%s: pointers of %d bytes", btf.KernelPath, spec.PointerSize())
	checkKernelLayout(t, spec)
}

// A script's struct is typed and read as the kernel's are: casts, -> and
// '.' chains (through an embedded kernel struct and an anonymous union),
// array elements, bitfields, sizeof and offsetof. Its definition hides
// the kernel's struct cfs_rq, as bpftrace's does.
func TestCheckStructDefs(t *testing.T) {
	src := `struct cfs_rq {
	struct load_weight load;
	unsigned long runnable_weight;
	unsigned int nr_running;
	unsigned int h_nr_running;
};
struct pair { int a[2]; unsigned flag : 1, mode : 3; union { u16 x; char y; }; struct pair *next; };
kprobe:f
{
	$q = (struct cfs_rq *)curtask->se.cfs_rq;
	$p = (pair *)arg0;
	printf("%d %d %d %d %d %d\n", $q->nr_running, $q->load.inv_weight, $p->a[1], $p->mode, $p->next->x, $p->y);
	@s[sizeof(struct cfs_rq), sizeof(struct pair), offsetof(struct pair, next)] = count();
}`
	prog, info, err := checkBTF(t, src)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, r := range info.Resolved {
		fmt.Fprintln(&b, r)
	}
	// The union after the bitfields (bits 64 to 67) starts at the next
	// multiple of its alignment, byte 10, as gcc places it.
	want := `10:33: curtask->se: struct sched_entity, offset 128
10:36: curtask->se.cfs_rq: struct cfs_rq *, offset 168
12:36: $q->nr_running: uint32, offset 24
12:52: $q->load: struct load_weight, offset 0
12:57: $q->load.inv_weight: uint32, offset 8
12:73: $p->a: int [2], offset 0
12:83: $p->mode: uint32, offset 8, bits 65:3
12:93: $p->next: struct pair *, offset 16
12:99: $p->next->x: uint16, offset 10
12:106: $p->y: int8, offset 10
`
	if got := b.String(); got != want {
		t.Errorf("resolved\n%s\nwant\n%s", got, want)
	}
	keys := info.Map("s").Keys
	if len(keys) != 3 {
		t.Fatalf("@s keys %v", keys)
	}
	var sizes []uint64
	for _, k := range prog.Probes[0].Body[len(prog.Probes[0].Body)-1].(*AssignStmt).Target.(*MapExpr).Keys {
		v, _ := foldConst(k)
		sizes = append(sizes, v)
	}
	if fmt.Sprint(sizes) != "[32 24 16]" {
		t.Errorf("sizeof and offsetof: %v, want [32 24 16]", sizes)
	}
}

// Without the kernel's BTF, a script whose structs need no kernel type
// still compiles.
func TestCheckStructDefsNoBTF(t *testing.T) {
	prog, err := Parse("-e", []byte(`struct s { u32 a; u64 b; char name[16]; }; uprobe:/bin/sh:main { printf("%d %s\n", ((struct s *)arg0)->b, ((struct s *)arg0)->name); }`))
	if err != nil {
		t.Fatal(err)
	}
	info, err := Check(prog, CheckOptions{Formats: fixtureFormats})
	if err != nil {
		t.Fatal(err)
	}
	// The data model is then the one tracelet was built for: i386 aligns
	// a u64 to 4 bytes.
	b := modelOf(nil).Align8
	if len(info.Resolved) != 2 || info.Resolved[0].Offset != b || info.Resolved[1].Offset != b+8 {
		t.Errorf("resolved %v, want b at %d and name at %d", info.Resolved, b, b+8)
	}
}

func TestStructDefErrors(t *testing.T) {
	for _, tc := range []struct{ src, err string }{
		{"struct a { int x; };\nstruct a { int y; };", "2:1: struct a is defined twice: first at 1:1"},
		{"struct a { int x; long x; };", "1:24: struct a has two members named x: the first at 1:16"},
		{"struct a { foo_t x; };", "1:12: unknown type foo_t for member x: it is neither defined earlier in the script, nor an integer type (int, unsigned long, u32, ...), nor in the kernel's BTF"},
		{"struct a { struct a x; };", "1:12: struct a is not complete here: a member of it can only be a pointer to it (struct a *x)"},
		{"struct a { struct b x; };\nstruct b { int y; };", "1:12: struct b is not complete here"},
		{"struct a { int x : 33; };", "1:20: bitfield x is 33 bits wide: it must be from 1 to the 32 bits of int"},
		{"struct a { char *p : 3; };", "1:18: bitfield p is char *: only integer members can be bitfields"},
		{"struct a { int x[$1]; };", "the length of array x must be a constant"},
		{"struct a { signed unsigned x; };", "1:12: unknown type signed unsigned for member x"},
		{"struct a { int x; }", ""}, // the ';' is optional, as in many scripts
		{"struct { int x; };", "1:8: expected the name of the struct, found \"{\""},
		{"struct a { int ; };", "1:16: expected the member's name after its type int, found \";\""},
		{"struct a { int x; ", "2:7: expected the member's name after its type BEGIN, found \"{\" (is the '}' that closes struct a missing?)"},
	} {
		prog, err := Parse("-e", []byte(tc.src+"\nBEGIN { exit(); }"))
		if err == nil {
			_, err = Check(prog, CheckOptions{Formats: fixtureFormats, BTF: fixtureBTF(t)})
		}
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%q: %v", tc.src, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%q: got %v, want %q", tc.src, err, tc.err)
		}
	}
}
