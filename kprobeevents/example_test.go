package kprobeevents_test

import (
	"errors"
	"fmt"

	"github.com/tracelet/tracelet/kprobeevents"
)

func ExampleParse() {
	d, err := kprobeevents.Parse("p do_sys_open dfd=%ax:x64", kprobeevents.Options{Arch: kprobeevents.ArchX86_64})
	if err != nil {
		panic(err)
	}
	// The group, the generated event name and the argument names are
	// filled in, as the kernel prints the line back.
	fmt.Println(d)
	// Output: p:kprobes/p_do_sys_open_0 do_sys_open dfd=%ax:x64
}

func ExampleParse_printedBack() {
	// A line read from uprobe_events parses and formats back unchanged.
	line := "r:uprobes/p_bash_0x4245c0 /bin/bash:0x00000000004245c0 line=+0($retval):string"
	p, err := kprobeevents.ParseProbe(line, kprobeevents.Options{Arch: kprobeevents.ArchX86_64})
	if err != nil {
		panic(err)
	}
	fmt.Println(p.Type, p.Path, p.Offset == 0x4245c0, p.String() == line)
	// Output: uretprobe /bin/bash true true
}

func ExampleError_Caret() {
	_, err := kprobeevents.Parse("p:tracelet_1/open do_sys_openat2 ret=$retval", kprobeevents.Options{Arch: kprobeevents.ArchX86_64})
	var e *kprobeevents.Error
	if errors.As(err, &e) {
		fmt.Println(e.Kind, e.Col)
		fmt.Println(e.Caret())
	}
	// Output:
	// RETVAL_ON_PROBE 37
	//   Command: p:tracelet_1/open do_sys_openat2 ret=$retval
	//                                                 ^
}

func ExampleParse_otherArchitecture() {
	_, err := kprobeevents.Parse("p vfs_read buf=%si", kprobeevents.Options{Arch: kprobeevents.ArchARM64})
	fmt.Println(err)
	// Output: probe "p vfs_read buf=%si", col 15: BAD_REG_NAME: %si is an x86_64 register, not an arm64 one (on arm64 use %x0..%x30, %lr, %sp, %pc, %pstate)
}

func ExampleParse_kernelVersion() {
	opts := kprobeevents.Options{Arch: kprobeevents.ArchX86_64, Kernel: kprobeevents.Kernel{Major: 6, Minor: 1}}
	_, err := kprobeevents.Parse("r:ev vfs_read count=$arg3", opts)
	fmt.Println(err)
	opts.Kernel = kprobeevents.Kernel{Major: 6, Minor: 12}
	_, err = kprobeevents.Parse("r:ev vfs_read count=$arg3", opts)
	fmt.Println(err)
	// Output:
	// probe "r:ev vfs_read count=$arg3", col 20: BAD_VAR: $argN is only available at a function entry ($argN works on a kprobe at SYM (offset 0) and, since 6.10, on a kretprobe)
	// <nil>
}

func ExampleProbe_String() {
	p := &kprobeevents.Probe{
		Type:   kprobeevents.Kretprobe,
		Group:  "tracelet_42",
		Event:  "open",
		Symbol: "do_sys_openat2",
		Args: []kprobeevents.Arg{
			{Name: "fd", Fetch: &kprobeevents.Fetch{Kind: kprobeevents.FetchRetval}, Type: kprobeevents.Type{Kind: kprobeevents.TypeS32}},
		},
	}
	fmt.Println(p, p.Validate(kprobeevents.Options{Arch: kprobeevents.ArchX86_64}))
	// Output: r:tracelet_42/open do_sys_openat2 fd=$retval:s32 <nil>
}

func ExampleBootParam() {
	// BootParam validates for the host architecture, so these
	// definitions use no registers (nor $argN, which 32-bit arm and
	// mips kernels lack).
	p, _ := kprobeevents.ParseProbe("p:myprobe do_sys_open comm=$comm", kprobeevents.Options{})
	r, _ := kprobeevents.ParseProbe("r:myret do_sys_open $retval", kprobeevents.Options{})
	s, err := kprobeevents.BootParam([]*kprobeevents.Probe{p, r})
	fmt.Println(s, err)
	// Output: kprobe_event=p:kprobes/myprobe,do_sys_open,comm=$comm;r:kprobes/myret,do_sys_open,arg1=$retval <nil>
}

func ExampleParseShorthand() {
	sh, err := kprobeevents.ParseShorthand("r:bash:readline line=+0($retval):string", kprobeevents.Options{Arch: kprobeevents.ArchX86_64})
	if err != nil {
		panic(err)
	}
	fmt.Println(sh.Binary, sh.Symbol)
	// The tracefs package finds bash in PATH and readline's file offset.
	p, err := sh.Resolve("/usr/bin/bash", 0xd5a30)
	fmt.Println(p, err)
	// Output:
	// bash readline
	// r:uprobes/r_bash_readline /usr/bin/bash:0x00000000000d5a30 line=+0($retval):string <nil>
}

// oneFunc is a BTF that knows one function, vfs_read; a real one reads
// /sys/kernel/btf/vmlinux.
type oneFunc struct{}

func (oneFunc) Func(name string) (*kprobeevents.BTFFunc, error) {
	if name != "vfs_read" {
		return nil, errors.New("no BTF entry")
	}
	ptr := func(t *kprobeevents.BTFType) *kprobeevents.BTFType {
		return &kprobeevents.BTFType{Kind: kprobeevents.BTFPtr, Elem: t}
	}
	char := &kprobeevents.BTFType{Kind: kprobeevents.BTFInt, Name: "char", Size: 1}
	return &kprobeevents.BTFFunc{
		Return: &kprobeevents.BTFType{Kind: kprobeevents.BTFInt, Name: "long", Size: 8, Signed: true},
		Params: []kprobeevents.BTFParam{
			{Name: "file", Type: ptr(&kprobeevents.BTFType{Kind: kprobeevents.BTFStruct, Name: "file"})},
			{Name: "buf", Type: ptr(char)},
			{Name: "count", Type: &kprobeevents.BTFType{Kind: kprobeevents.BTFInt, Name: "long unsigned int", Size: 8}},
			{Name: "pos", Type: ptr(&kprobeevents.BTFType{Kind: kprobeevents.BTFInt, Name: "long long int", Size: 8, Signed: true})},
		}}, nil
}

func (oneFunc) Member(*kprobeevents.BTFType, string) (*kprobeevents.BTFType, bool, error) {
	return nil, false, nil
}

func ExampleParse_fprobe() {
	opts := kprobeevents.Options{Arch: kprobeevents.ArchX86_64, BTF: oneFunc{}}
	// $arg* stands for every argument, named as in the function's BTF.
	d, err := kprobeevents.Parse("f vfs_read $arg*", opts)
	if err != nil {
		panic(err)
	}
	fmt.Println(d)
	// A $retval makes an f: probe an exit probe.
	d, _ = kprobeevents.Parse("f:myfp/read vfs_read ret=$retval", opts)
	fmt.Println(d)
	_, err = kprobeevents.Parse("f vfs_read hoge", opts)
	var e *kprobeevents.Error
	if errors.As(err, &e) {
		fmt.Println(e.Kind, e.Col)
	}
	// Output:
	// f:fprobes/vfs_read__entry vfs_read file=file buf=buf count=count pos=pos
	// f:myfp/read vfs_read%return ret=$retval
	// NO_BTFARG 11
}

func ExampleParse_eventProbe() {
	// The kernel does not print the filter back.
	p, err := kprobeevents.ParseProbe("e:my/open syscalls.sys_enter_openat name=+0($filename):ustring if dfd == -100",
		kprobeevents.Options{Arch: kprobeevents.ArchX86_64})
	if err != nil {
		panic(err)
	}
	fmt.Println(p)
	fmt.Printf("%s.%s if %s\n", p.AttachGroup, p.AttachEvent, p.Filter)
	// Output:
	// e:my/open syscalls.sys_enter_openat name=+0($filename):ustring
	// syscalls.sys_enter_openat if dfd == -100
}
