package btf

import (
	"os"
	"testing"
)

// BenchmarkOneLiner is what a one-liner costs: load the running kernel's
// BTF, find struct task_struct and walk real_parent then comm, find struct
// filename's name, and read the prototype of do_unlinkat. The same work is
// measured against cilium/ebpf in bench/cilium.
func BenchmarkOneLiner(b *testing.B) {
	if _, err := os.Stat(KernelPath); err != nil {
		b.Skipf("this kernel has no BTF: %v", err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := oneLiner(KernelPath); err != nil {
			b.Fatal(err)
		}
	}
}

func oneLiner(path string) error {
	s, err := LoadFile(path)
	if err != nil {
		return err
	}
	defer s.Close()
	task, err := s.TypeByName("task_struct", BTF_KIND_STRUCT)
	if err != nil {
		return err
	}
	parent, err := s.Member(task, "real_parent")
	if err != nil {
		return err
	}
	if _, err := s.Member(s.Target(s.Resolve(parent.Type)), "comm"); err != nil {
		return err
	}
	fname, err := s.TypeByName("filename", BTF_KIND_STRUCT)
	if err != nil {
		return err
	}
	if _, err := s.Member(fname, "name"); err != nil {
		return err
	}
	_, err = s.FuncProto("do_unlinkat")
	return err
}

// BenchmarkLoadBytes is the pass that loading makes over the types of the
// recorded vmlinux, in memory.
func BenchmarkLoadBytes(b *testing.B) {
	data, err := fixtureData()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := LoadBytes(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIndex builds the name index of the recorded vmlinux, which many
// lookups lead to.
func BenchmarkIndex(b *testing.B) {
	data, err := fixtureData()
	if err != nil {
		b.Fatal(err)
	}
	s, err := LoadBytes(data)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		s.buildIndex()
	}
}
