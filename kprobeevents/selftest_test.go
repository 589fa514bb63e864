package kprobeevents

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// fakeBTF knows the few kernel functions and structs the kernel's selftests
// probe, with their real prototypes (Linux 6.12):
//
//	ssize_t vfs_read(struct file *file, char __user *buf, size_t count, loff_t *pos);
//	void kfree(const void *objp);
//	void __probestub_kfree(void *__data, unsigned long call_site, const void *ptr);
type fakeBTF struct{}

var (
	btfChar    = &BTFType{Kind: BTFInt, Name: "char", Size: 1}
	btfLong    = &BTFType{Kind: BTFInt, Name: "long", Size: 8, Signed: true}
	btfULong   = &BTFType{Kind: BTFInt, Name: "long unsigned int", Size: 8}
	btfLongLng = &BTFType{Kind: BTFInt, Name: "long long int", Size: 8, Signed: true}
	btfUInt    = &BTFType{Kind: BTFInt, Name: "unsigned int", Size: 4}
	btfVoidPtr = &BTFType{Kind: BTFPtr, Elem: &BTFType{Kind: BTFOther}}
	btfFile    = &BTFType{Kind: BTFStruct, Name: "file"}
	btfPath    = &BTFType{Kind: BTFStruct, Name: "path"}
	btfDentry  = &BTFType{Kind: BTFStruct, Name: "dentry"}
	btfQstr    = &BTFType{Kind: BTFStruct, Name: "qstr"}
)

// fakeMembers are the members the fake resolves; every other name of
// struct file's real members (6.12, include/linux/fs.h) is an opaque one.
var fakeMembers = map[string]map[string]*BTFType{
	"file": {
		"f_path": btfPath, "f_inode": {Kind: BTFPtr, Elem: &BTFType{Kind: BTFStruct, Name: "inode"}},
		"f_flags": btfUInt, "f_pos": btfLongLng, "private_data": btfVoidPtr,
	},
	"path":   {"mnt": {Kind: BTFPtr, Elem: &BTFType{Kind: BTFStruct, Name: "vfsmount"}}, "dentry": {Kind: BTFPtr, Elem: btfDentry}},
	"dentry": {"d_name": btfQstr, "d_iname": {Kind: BTFArray, Elem: btfChar, Len: 40}, "d_parent": {Kind: BTFPtr, Elem: btfDentry}},
	"qstr":   {"name": {Kind: BTFPtr, Elem: btfChar}, "len": btfUInt},
}

var fileMembers = []string{"f_count", "f_lock", "f_mode", "f_op", "f_mapping", "private_data",
	"f_inode", "f_flags", "f_iocb_flags", "f_cred", "f_path", "f_pos_lock", "f_pipe", "f_pos",
	"f_security", "f_owner", "f_wb_err", "f_sb_err", "f_ep", "f_task_work", "f_llist", "f_ra", "f_freeptr"}

func (fakeBTF) Func(name string) (*BTFFunc, error) {
	switch name {
	case "vfs_read":
		return &BTFFunc{Return: btfLong, Params: []BTFParam{
			{"file", &BTFType{Kind: BTFPtr, Elem: btfFile}}, {"buf", &BTFType{Kind: BTFPtr, Elem: btfChar}},
			{"count", btfULong}, {"pos", &BTFType{Kind: BTFPtr, Elem: btfLongLng}}}}, nil
	case "kfree":
		return &BTFFunc{Params: []BTFParam{{"objp", btfVoidPtr}}}, nil
	case "__probestub_kfree":
		return &BTFFunc{Params: []BTFParam{{"__data", btfVoidPtr}, {"call_site", btfULong}, {"ptr", btfVoidPtr}}}, nil
	}
	return nil, fmt.Errorf("no BTF for %s", name)
}

func (fakeBTF) Member(t *BTFType, name string) (*BTFType, bool, error) {
	if m, ok := fakeMembers[t.Name][name]; ok {
		return m, true, nil
	}
	if t.Name == "file" {
		for _, n := range fileMembers {
			if n == name {
				return &BTFType{Kind: BTFOther}, true, nil
			}
		}
	}
	return nil, false, nil
}

// fakeEvents has the event the eprobe selftest attaches to, with the
// fields of its format file.
type fakeEvents struct{}

func (fakeEvents) Fields(sys, event string) ([]string, error) {
	if sys == "syscalls" && event == "sys_enter_openat" {
		return []string{"__syscall_nr", "dfd", "filename", "flags", "mode"}, nil
	}
	return nil, errors.New("no such event")
}

var ext612 = ExtensionsOf(ExtFprobe, ExtTprobe, ExtEprobe, ExtBTFArgs, ExtBTFFields, ExtArgNReturn)

type selftestCase struct {
	file, flags string
	tcLine      int
	kind        ErrorKind
	col         int
	def         string
	target      Target
	line        int
}

func loadSelftests(t *testing.T) []selftestCase {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "testdata", "kprobeevents", "selftests-6.12.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []selftestCase
	var file string
	var target Target
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		if line[0] == '[' {
			hdr := strings.Fields(strings.Trim(line, "[]"))
			file, target = hdr[0], TargetAuto
			switch hdr[1] {
			case "kprobe":
				target = TargetKprobe
			case "uprobe":
				target = TargetUprobe
			}
			continue
		}
		parts := strings.Split(line, "\t")
		head := strings.Fields(parts[0])
		if len(parts) < 2 || len(head) != 2 {
			t.Fatalf("selftests-6.12.txt:%d: bad line %q", n, line)
		}
		tcLine, _ := strconv.Atoi(head[0])
		kind, ok := ParseErrorKind(head[1])
		if !ok {
			t.Fatalf("selftests-6.12.txt:%d: unknown class %q", n, head[1])
		}
		caret := strings.LastIndexByte(parts[1], '^')
		if caret < 0 {
			t.Fatalf("selftests-6.12.txt:%d: no caret", n)
		}
		c := selftestCase{file: file, tcLine: tcLine, kind: kind, col: caret,
			def: strings.ReplaceAll(parts[1], "^", ""), target: target, line: n}
		if len(parts) > 2 {
			c.flags = parts[2]
		}
		out = append(out, c)
	}
	return out
}

func (c selftestCase) has(flag string) bool {
	for _, f := range strings.Fields(c.flags) {
		if f == flag {
			return true
		}
	}
	return false
}

func (c selftestCase) options() Options {
	o := Options{Arch: ArchX86_64, Target: c.target, Kernel: Kernel{6, 12}, Extensions: ext612,
		BTF: fakeBTF{}, Events: fakeEvents{}}
	if c.has("nobtfargs") {
		o.Extensions = ExtensionsOf(ExtFprobe, ExtTprobe, ExtEprobe, ExtArgNReturn)
	}
	if c.has("pre6.10") {
		o.Kernel = Kernel{6, 9}
		o.Extensions = ExtensionsOf(ExtFprobe, ExtTprobe, ExtEprobe, ExtBTFArgs, ExtBTFFields)
	}
	return o
}

// TestKernelSelftests replays the kernel's syntax-error selftests: each
// static case must give the kernel's class at the kernel's column, and
// each case only the running kernel can judge must parse.
func TestKernelSelftests(t *testing.T) {
	type tally struct{ total, static, match, runtime int }
	per := map[string]*tally{}
	var order []string
	for _, c := range loadSelftests(t) {
		tl := per[c.file]
		if tl == nil {
			tl = &tally{}
			per[c.file] = tl
			order = append(order, c.file)
		}
		tl.total++
		where := fmt.Sprintf("%s:%d (selftests-6.12.txt:%d)", c.file, c.tcLine, c.line)
		_, err := Parse(c.def, c.options())
		if c.has("runtime") {
			tl.runtime++
			if err != nil {
				t.Errorf("%s: %q: %s is for the running kernel, but Parse failed: %v", where, c.def, c.kind, err)
			}
			continue
		}
		tl.static++
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("%s: Parse(%q) = %v, want %s at col %d", where, c.def, err, c.kind, c.col)
			continue
		}
		if e.Kind != c.kind || e.Col != c.col {
			t.Errorf("%s: Parse(%q): got %s col %d (%s), want %s col %d\n%s", where, c.def, e.Kind, e.Col, e.Msg, c.kind, c.col, e.Caret())
			continue
		}
		tl.match++
	}
	for _, f := range order {
		tl := per[f]
		t.Logf("%s: %d cases, %d static of which %d match, %d run-time only", f, tl.total, tl.static, tl.match, tl.runtime)
	}
}

// TestFprobeMaxActive: before 6.14 an f: exit probe takes MAXACTIVE and
// trace_fprobe_show prints it back; since then f: and t: take none.
func TestFprobeMaxActive(t *testing.T) {
	d, err := Parse("f16 vfs_read%return", Options{Arch: ArchX86_64, Kernel: Kernel{6, 12}})
	if err != nil {
		t.Fatal(err)
	}
	if got := d.String(); got != "f16:fprobes/vfs_read__exit vfs_read%return" {
		t.Errorf("6.12: %s", got)
	}
	if _, err := Parse(d.String(), Options{Arch: ArchX86_64, Kernel: Kernel{6, 12}}); err != nil {
		t.Errorf("6.12 printed line does not parse back: %v", err)
	}
	if _, err := Parse("f16 vfs_read%return", Options{Arch: ArchX86_64, Kernel: Kernel{6, 14}}); !errors.Is(err, &Error{Kind: BAD_MAXACT}) {
		t.Errorf("6.14: %v", err)
	}
}

// TestTooManyEntryArgs: since 6.14 an fprobe exit probe keeps the entry
// arguments it reads in at most 15 words.
func TestTooManyEntryArgs(t *testing.T) {
	var args []string
	for i := 1; i <= 16; i++ {
		args = append(args, fmt.Sprintf("a%d=$arg%d", i, i))
	}
	def := "f:g/e vfs_read%return " + strings.Join(args, " ")
	for _, tt := range []struct {
		k    Kernel
		n    int
		want ErrorKind
	}{{Kernel{6, 18}, 16, TOO_MANY_EARGS}, {Kernel{6, 18}, 15, 0}, {Kernel{6, 12}, 16, 0}} {
		d := "f:g/e vfs_read%return " + strings.Join(args[:tt.n], " ")
		_, err := Parse(d, Options{Arch: ArchX86_64, Kernel: tt.k})
		if tt.want == 0 && err != nil || tt.want != 0 && !errors.Is(err, &Error{Kind: tt.want}) {
			t.Errorf("%s, %d arguments: %v, want %v", tt.k, tt.n, err, tt.want)
		}
	}
	var e *Error
	if _, err := Parse(def, Options{Arch: ArchX86_64}); !errors.As(err, &e) || e.Col != strings.Index(def, "a1=") {
		t.Errorf("caret: %v", err)
	}
	// The same argument read twice takes one slot.
	if _, err := Parse(def+" again=$arg1 more=+8($arg2)", Options{Arch: ArchX86_64, Kernel: Kernel{6, 12}}); err != nil {
		t.Errorf("6.12: %v", err)
	}
}

// wideBTF has a function whose argument names overflow the kernel's
// 128-byte expansion buffer.
type wideBTF struct{ fakeBTF }

func (wideBTF) Func(name string) (*BTFFunc, error) {
	var ps []BTFParam
	for i := 0; i < 5; i++ {
		ps = append(ps, BTFParam{Name: fmt.Sprintf("a_rather_long_parameter_name_%d", i), Type: btfULong})
	}
	return &BTFFunc{Params: ps}, nil
}

func TestArgsTooLong(t *testing.T) {
	opts := Options{Arch: ArchX86_64, BTF: wideBTF{}}
	_, err := Parse("p:g/e wide x=%di $arg*", opts)
	var e *Error
	if !errors.As(err, &e) || e.Kind != ARGS_2LONG || e.Col != 17 {
		t.Errorf("$arg*: %v", err)
	}
	if _, err := Parse("p:g/e wide $arg1 $arg2", opts); err != nil {
		t.Errorf("two names: %v", err)
	}
}
