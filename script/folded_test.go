package script

import (
	"bytes"
	"io"
	"maps"
	"strconv"
	"strings"
	"testing"

	"github.com/tracelet/tracelet/asm"
	"github.com/tracelet/tracelet/flamegraph"
)

// A ustack or kstack kept in a map keys another map by the stack id taken
// where it was stored: offcputime takes a thread's stacks when it leaves
// the CPU and uses them when it comes back, in another task's context.
func TestStoredStackIsNotRetaken(t *testing.T) {
	obj, err := CompileSource("-e", []byte(`profile:hz:99 { @u[tid] = ustack; @k[tid] = kstack; }
interval:s:1 { @[@k[1], @u[1], comm] = count(); }`), CheckOptions{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	calls := func(p *Prog) int {
		n := 0
		for _, ins := range p.Insns {
			if ins.IsBuiltinCall() && ins.Constant == int64(asm.FnGetStackid) {
				n++
			}
		}
		return n
	}
	if n := calls(obj.Programs[0]); n != 2 {
		t.Errorf("profile probe: %d bpf_get_stackid calls, want 2\n%s", n, obj.Programs[0].Insns)
	}
	if n := calls(obj.Programs[1]); n != 0 {
		t.Errorf("interval probe: %d bpf_get_stackid calls, want 0 (the stacks come from @k and @u)\n%s", n, obj.Programs[1].Insns)
	}
}

// Fold turns a map keyed by stacks into folded stacks: the other keys at
// the root, then the user frames, then the kernel frames ("_[k]"), each
// root first; unresolved and missing stacks are marked.
func TestFold(t *testing.T) {
	obj, err := CompileSource("-e", []byte(`profile:hz:99 { @[kstack, ustack, comm] = count(); @plain[comm] = count(); }`), CheckOptions{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var m, plain *Map
	for _, x := range obj.Maps {
		if x.Info != nil && x.Info.Name == "" {
			m = x
		}
		if x.Info != nil && x.Info.Name == "plain" {
			plain = x
		}
	}
	if m == nil || plain == nil || !Foldable(m) || Foldable(plain) {
		t.Fatalf("maps: %v %v", m, plain)
	}
	key := func(kid, uid int32, pid uint32, comm string) []byte {
		b := make([]byte, 40)
		copy(b, le64(uint64(uint32(kid))))
		copy(b[8:], le64(uint64(uint32(uid))))
		copy(b[16:], le64(uint64(pid)))
		copy(b[24:], comm)
		return b
	}
	stacks := map[int64][]uint64{1: {0xa1, 0xa2}, 2: {0xb1, 0xb2, 0xb3}}
	r := &Resolver{
		Stack: func(id int64, depth int) []uint64 { return stacks[id] },
		Ksym: func(addr uint64, _ bool) string {
			return map[uint64]string{0xa1: "__schedule", 0xa2: "do_syscall_64"}[addr]
		},
		Usym: func(pid uint32, addr uint64, _ bool) string {
			if pid != 42 {
				return ""
			}
			return map[uint64]string{0xb1: "spinTarget", 0xb3: "main"}[addr]
		},
	}
	entries := []Entry{
		{Key: key(1, 2, 42, "prog"), Values: [][]byte{le64(3), le64(4)}},
		{Key: key(-14, 2, 42, "prog"), Values: [][]byte{le64(5)}}, // user mode: no kernel stack
		{Key: key(1, -17, 42, "prog"), Values: [][]byte{le64(1)}}, // -EEXIST: a collision
		{Key: key(1, -14, 0, "kworker"), Values: [][]byte{le64(2)}},
	}
	p := flamegraph.NewProfile()
	obj.Fold(p, m, entries, r)
	var out bytes.Buffer
	p.WriteFolded(&out)
	want := strings.Join([]string{
		"kworker;do_syscall_64_[k];__schedule_[k] 2",
		"prog;[Missed User Stack];do_syscall_64_[k];__schedule_[k] 1",
		"prog;main;[unknown] 0xb2;spinTarget 5",
		"prog;main;[unknown] 0xb2;spinTarget;do_syscall_64_[k];__schedule_[k] 7",
	}, "\n") + "\n"
	if out.String() != want {
		t.Errorf("folded:\n%s\nwant:\n%s", out.String(), want)
	}
}

// Printing a map of kernel stacks, as text, JSON or folded, first hands
// KsymBatch every frame it will name, in keys and in values, so that the
// symbols are looked up in one pass; Ksym is asked only for those.
func TestKsymBatch(t *testing.T) {
	obj, err := CompileSource("-e", []byte(`profile:hz:99 { @[kstack, comm] = count(); @v[tid] = kstack; }`), CheckOptions{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	stacks := map[int64][]uint64{1: {0xa1, 0xa2}, 2: {0xb1}}
	var batched map[uint64]bool
	r := &Resolver{
		Stack: func(id int64, depth int) []uint64 { return stacks[id] },
		KsymBatch: func(addrs []uint64) {
			batched = map[uint64]bool{}
			for _, a := range addrs {
				batched[a] = true
			}
		},
		Ksym: func(addr uint64, _ bool) string {
			if !batched[addr] {
				t.Errorf("Ksym(%#x) before KsymBatch gave it", addr)
			}
			return "f" + strconv.FormatUint(addr, 16)
		},
	}
	id := func(n int32, rest ...byte) []byte { return append(le64(uint64(uint32(n))), rest...) }
	for _, m := range obj.Maps {
		if m.Info == nil {
			continue
		}
		var entries []Entry
		want := map[uint64]bool{}
		switch m.Info.Name {
		case "":
			key := append(id(1), make([]byte, 16)...)
			copy(key[8:], "prog")
			entries = []Entry{{Key: key, Values: [][]byte{le64(3)}}, {Key: append(id(-14), key[8:]...), Values: [][]byte{le64(1)}}}
			want = map[uint64]bool{0xa1: true, 0xa2: true}
		case "v":
			entries = []Entry{{Key: le64(7), Values: [][]byte{id(2)}}}
			want = map[uint64]bool{0xb1: true}
		default:
			continue
		}
		for i, write := range []func() error{
			func() error { return obj.WriteMap(io.Discard, m, entries, r) },
			func() error { return obj.WriteMapJSON(io.Discard, m, entries, r) },
			func() error { obj.Fold(flamegraph.NewProfile(), m, entries, r); return nil },
		} {
			if i == 2 && !Foldable(m) {
				continue
			}
			batched = nil
			if err := write(); err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(batched, want) {
				t.Errorf("@%s, printer %d: batch %v, want %v", m.Info.Name, i, batched, want)
			}
		}
	}
}
