package script

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tracelet/tracelet/asm"
)

func checkBTF(t *testing.T, src string) (*Program, *Info, error) {
	t.Helper()
	prog, err := Parse("-e", []byte(src))
	if err != nil {
		return nil, nil, err
	}
	info, err := Check(prog, CheckOptions{Formats: fixtureFormats, BTF: fixtureBTF(t)})
	return prog, info, err
}

// The members a script reaches are typed and placed from the BTF of the
// recorded 6.18 kernel: -d prints this tree and these lines.
func TestCheckBTFResolved(t *testing.T) {
	prog, info, err := checkBTF(t, `tracepoint:syscalls:sys_enter_getppid /curtask->mm != 0/ { printf("%s %d %d\n", curtask->real_parent->comm, ((struct task_struct *)curtask)->mm->map_count, curtask->sched_reset_on_fork); }`)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString(prog.String())
	for _, r := range info.Resolved {
		fmt.Fprintln(&b, r)
	}
	want := `Program
 tracepoint:syscalls:sys_enter_getppid
  predicate
   != :: bool
    ->mm :: struct mm_struct *
     builtin: curtask :: struct task_struct *
    int: 0 :: int64
  call: printf :: void
   string: "%s %d %d\n" :: string[10]
   ->comm :: char [16]
    ->real_parent :: struct task_struct *
     builtin: curtask :: struct task_struct *
   ->map_count :: int32
    ->mm :: struct mm_struct *
     (struct task_struct *) :: struct task_struct *
      builtin: curtask :: struct task_struct *
   ->sched_reset_on_fork :: uint32
    builtin: curtask :: struct task_struct *
1:49: curtask->mm: struct mm_struct *, offset 1136
1:90: curtask->real_parent: struct task_struct *, offset 1280
1:103: curtask->real_parent->comm: char [16], offset 1752
1:142: ((struct task_struct *)curtask)->mm: struct mm_struct *, offset 1136
1:146: ((struct task_struct *)curtask)->mm->map_count: int32, offset 176
1:166: curtask->sched_reset_on_fork: uint32, offset 1188, bits 9504:1
`
	if got := b.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestCheckBTFConstants(t *testing.T) {
	for _, c := range []struct {
		src  string
		want uint64
	}{
		{"sizeof(struct task_struct)", 3264},
		{"offsetof(struct task_struct, comm)", 1752},
		{"offsetof(struct task_struct, se.vruntime)", 248},
		{"sizeof(curtask->comm)", 16},
		{"sizeof(curtask)", 8},
		{"sizeof(uint32)", 4},
		{"sizeof(pid_t)", 4},
		{"sizeof(union bpf_attr)", 168},
	} {
		prog, _, err := checkBTF(t, "BEGIN { @ = "+c.src+"; }")
		if err != nil {
			t.Errorf("%s: %v", c.src, err)
			continue
		}
		v, ok := foldConst(prog.Probes[0].Body[0].(*AssignStmt).Value)
		if !ok {
			t.Errorf("%s: not a constant", c.src)
			continue
		}
		if v != c.want {
			t.Errorf("%s = %d, want %d", c.src, v, c.want)
		}
	}
}

func TestCheckBTFErrors(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{`BEGIN { @ = curtask->nosuch; }`, `-e:1:22: struct task_struct has no field "nosuch"`},
		{`BEGIN { @ = (struct nosuch *)0; }`, `-e:1:13: struct nosuch: no such type in the kernel's BTF`},
		{`BEGIN { @ = curtask->pid->x; }`, `-e:1:27: only args and kernel structs have fields (args->x, curtask->x), not field pid`},
		{`BEGIN { @ = offsetof(struct task_struct, in_iowait); }`, `-e:1:13: offsetof(struct task_struct, in_iowait): a bitfield has no byte offset`},
		{`BEGIN { @ = curtask->comm[16]; }`, `-e:1:27: index 16 is beyond the 16 elements of char [16]`},
		{`BEGIN { @ = comm->x; }`, `-e:1:19: only args and kernel structs have fields (args->x, curtask->x), not builtin comm`},
	} {
		_, _, err := checkBTF(t, c.src)
		if err == nil {
			t.Errorf("%s: no error", c.src)
			continue
		}
		if !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%s:\n got %v\nwant %s", c.src, err, c.want)
		}
	}
}

// Without BTF, a script that needs it fails before anything is loaded,
// and says what to do.
func TestCheckNoBTF(t *testing.T) {
	prog, err := Parse("-e", []byte(`BEGIN { printf("%d\n", curtask->pid); }`))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Check(prog, CheckOptions{BTFError: fmt.Errorf("open /sys/kernel/btf/vmlinux: no such file or directory")})
	want := "-e:1:24: curtask needs the kernel's type information (BTF), and open /sys/kernel/btf/vmlinux: no such file or directory: give a BTF file with --btf FILE (raw BTF, or a vmlinux with a .BTF section)"
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("got %v\nwant %s", err, want)
	}
}

// Each member read is one bpf_probe_read_kernel at the member's offset,
// the offsets of a chain of members folded into one; a bitfield is read
// as the bytes that hold it, shifted and masked.
func TestCompileBTFListing(t *testing.T) {
	amd64, _ := asm.ArchFor("amd64")
	prog, info, err := checkBTF(t, `tracepoint:syscalls:sys_enter_getppid { @ = curtask->in_iowait; @s[curtask->real_parent->comm] = count(); }`)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := Compile(prog, info, Options{Arch: amd64})
	if err != nil {
		t.Fatal(err)
	}
	got := obj.Programs[0].Insns.String()
	want := `   1: (85) call bpf_get_current_task#35
   2: (bf) r3 = r0
   3: (07) r3 += 1193
   4: (bf) r1 = r10
   5: (07) r1 += -24
   6: (b7) r2 = 1
   7: (85) call bpf_probe_read_kernel#113
   8: (71) r7 = *(u8 *)(r10 -24)
   9: (57) r7 &= 1
`
	want2 := `  19: (85) call bpf_get_current_task#35
  20: (bf) r3 = r0
  21: (07) r3 += 1280
  22: (bf) r1 = r10
  23: (07) r1 += -24
  24: (b7) r2 = 8
  25: (85) call bpf_probe_read_kernel#113
  26: (79) r3 = *(u64 *)(r10 -24)
  27: (07) r3 += 1752
  28: (bf) r1 = r10
  29: (07) r1 += -16
  30: (b7) r2 = 16
  31: (85) call bpf_probe_read_kernel#113
`
	if !strings.Contains(got, want) || !strings.Contains(got, want2) {
		t.Errorf("got\n%s\nwant it to hold\n%s\nand\n%s", got, want, want2)
	}
}

// Names that are no builtin, constant or macro are the kernel's
// enumerators when BTF is there, as in bpftrace.
func TestParseEnumConstant(t *testing.T) {
	spec := fixtureBTF(t)
	prog, err := ParseWith("-e", []byte(`BEGIN { @ = SKB_DROP_REASON_NOT_SPECIFIED + BPF_MAP_TYPE_HASH * 100; }`), ParseOptions{Constant: enumConstants(spec)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Check(prog, CheckOptions{}); err != nil {
		t.Fatal(err)
	}
	if v, ok := foldConst(prog.Probes[0].Body[0].(*AssignStmt).Value); !ok || v != 2+1*100 {
		t.Errorf("got %d, %v; want 102", v, ok)
	}
	if _, err := ParseWith("-e", []byte(`BEGIN { @ = NO_SUCH_ENUMERATOR; }`), ParseOptions{Constant: enumConstants(spec)}); err == nil ||
		!strings.HasPrefix(err.Error(), `-e:1:13: unknown builtin "NO_SUCH_ENUMERATOR"`) {
		t.Errorf("got %v", err)
	}
}

// A raw tracepoint's args->NAME and args.NAME are its prototype's
// parameters, the context's u64s in order.
func TestCheckRawTracepointArgs(t *testing.T) {
	_, info, err := checkBTF(t, `rawtracepoint:sched_switch { @[args.next->comm, args->prev_state] = count(); }`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range info.Resolved {
		got = append(got, r.String())
	}
	want := "1:37: args.next: struct task_struct *, offset 16|1:43: args.next->comm: char [16], offset 1752|1:55: args->prev_state: uint32, offset 24"
	if s := strings.Join(got, "|"); s != want {
		t.Errorf("got  %s\nwant %s", s, want)
	}
	_, _, err = checkBTF(t, `rawtracepoint:sched_switch { @ = args->nxt; }`)
	if err == nil || !strings.HasPrefix(err.Error(), `-e:1:40: rawtracepoint sched_switch has no argument "nxt"; did you mean "next"? (arguments: preempt, prev, next, prev_state)`) {
		t.Errorf("got %v", err)
	}
}

// fentry and lsm wildcards expand over the FUNCs of BTF.
func TestExpandBTF(t *testing.T) {
	prog, err := Parse("-e", []byte(`fentry:do_unlink* { @[probe] = count(); } lsm:file_ope* { @o = count(); } kprobe:vfs_read { }`))
	if err != nil {
		t.Fatal(err)
	}
	if err := ExpandBTF(prog, fixtureBTF(t)); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range prog.Probes {
		for _, a := range p.Attach {
			got = append(got, a.Raw)
		}
	}
	if s := strings.Join(got, " "); s != "fentry:do_unlinkat lsm:file_open kprobe:vfs_read" {
		t.Errorf("got %s", s)
	}
	prog, _ = Parse("-e", []byte(`fexit:no_such_fn* { }`))
	if err := ExpandBTF(prog, fixtureBTF(t)); err == nil || !strings.HasPrefix(err.Error(), "-e:1:1: fexit:no_such_fn* matches no function in the kernel's BTF") {
		t.Errorf("got %v", err)
	}
}

// With BTF, a rawtracepoint is a tp_btf program where Options.TPBTF says
// the kernel has them, and a raw_tp one otherwise; arguments past the
// prototype's are refused.
func TestCompileRawTracepointTPBTF(t *testing.T) {
	amd64, _ := asm.ArchFor("amd64")
	for _, tpbtf := range []bool{false, true} {
		prog, info, err := checkBTF(t, `rawtracepoint:sched_switch { @[args.prev->pid] = count(); }`)
		if err != nil {
			t.Fatal(err)
		}
		obj, err := Compile(prog, info, Options{Arch: amd64, TPBTF: tpbtf})
		if err != nil {
			t.Fatal(err)
		}
		p := obj.Programs[0]
		got := fmt.Sprintf("%v %v %v %v", p.Type, p.AttachType, p.AttachBTFID != 0, strings.Contains(p.Insns.String(), "call bpf_probe_read_kernel"))
		want := "raw_tracepoint AttachType(0) false true"
		if tpbtf {
			want = "tracing tp_btf true false"
		}
		if got != want {
			t.Errorf("TPBTF %v: got %s, want %s", tpbtf, got, want)
		}
	}
	if _, _, err := checkBTF(t, `rawtracepoint:sched_switch { @ = arg4; }`); err == nil ||
		!strings.HasPrefix(err.Error(), "-e:1:34: arg4: rawtracepoint sched_switch has 4 arguments (arg0 to arg3)") {
		t.Errorf("got %v", err)
	}
}

// A bare type name is a typedef or a base type, else the struct or union
// of that name, as bpftrace reads (file *)arg0 (ttysnoop.bt): the members
// are the struct's.
func TestCheckBTFBareStructName(t *testing.T) {
	_, bare, err := checkBTF(t, `kprobe:vfs_read { @[((file *)arg0)->f_inode->i_ino] = count(); }`)
	if err != nil {
		t.Fatal(err)
	}
	_, full, err := checkBTF(t, `kprobe:vfs_read { @[((struct file *)arg0)->f_inode->i_ino] = count(); }`)
	if err != nil {
		t.Fatal(err)
	}
	var b, f []string
	for _, r := range bare.Resolved {
		_, s, _ := strings.Cut(r.String(), ": ")
		b = append(b, strings.Replace(s, "struct file", "file", 1))
	}
	for _, r := range full.Resolved {
		_, s, _ := strings.Cut(r.String(), ": ")
		f = append(f, strings.Replace(s, "struct file", "file", 1))
	}
	if strings.Join(b, "\n") != strings.Join(f, "\n") || len(b) == 0 {
		t.Errorf("(file *): %q\n(struct file *): %q", b, f)
	}
	if _, _, err := checkBTF(t, `kprobe:vfs_read { @ = ((no_such_type_zz *)arg0)->x; }`); err == nil || !strings.Contains(err.Error(), "no_such_type_zz: no such type in the kernel's BTF") {
		t.Errorf("unknown bare name: %v", err)
	}
}
