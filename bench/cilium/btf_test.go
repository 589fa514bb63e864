package cilium

import (
	"fmt"
	"os"
	"testing"

	ciliumbtf "github.com/cilium/ebpf/btf"

	"github.com/tracelet/tracelet/btf"
)

// BenchmarkBTF measures what a one-liner asks of the kernel's BTF, from
// loading /sys/kernel/btf/vmlinux to the answers: struct task_struct, its
// member real_parent and that pointer's target's comm; struct filename's
// member name; the prototype of do_unlinkat. Both libraries map the file,
// and neither keeps a cache between iterations (cilium's LoadKernelSpec
// loads afresh; its Cache is not used).
//
//	cd bench/cilium && go test -run '^$' -bench BTF -benchmem -count 6
func BenchmarkBTF(b *testing.B) {
	if _, err := os.Stat(btf.KernelPath); err != nil {
		b.Skipf("this kernel has no BTF: %v", err)
	}
	b.Run("tracelet", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := traceletOneLiner(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cilium", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := ciliumOneLiner(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func traceletOneLiner() error {
	s, err := btf.LoadFile(btf.KernelPath)
	if err != nil {
		return err
	}
	defer s.Close()
	task, err := s.TypeByName("task_struct", btf.BTF_KIND_STRUCT)
	if err != nil {
		return err
	}
	parent, err := s.Member(task, "real_parent")
	if err != nil {
		return err
	}
	ptr := s.Resolve(parent.Type)
	if s.Kind(ptr) != btf.BTF_KIND_PTR {
		return fmt.Errorf("real_parent: %s", s.TypeString(parent.Type))
	}
	comm, err := s.Member(s.Target(ptr), "comm")
	if err != nil {
		return err
	}
	if n, err := s.Sizeof(comm.Type); err != nil || n != 16 {
		return fmt.Errorf("comm: %d bytes, %v", n, err)
	}
	fname, err := s.TypeByName("filename", btf.BTF_KIND_STRUCT)
	if err != nil {
		return err
	}
	if _, err := s.Member(fname, "name"); err != nil {
		return err
	}
	proto, err := s.FuncProto("do_unlinkat")
	if err != nil {
		return err
	}
	if len(proto.Params) != 2 || proto.Params[0].Name != "dfd" {
		return fmt.Errorf("do_unlinkat: %+v", proto.Params)
	}
	return nil
}

func ciliumOneLiner() error {
	s, err := ciliumbtf.LoadKernelSpec()
	if err != nil {
		return err
	}
	var task *ciliumbtf.Struct
	if err := s.TypeByName("task_struct", &task); err != nil {
		return err
	}
	parent, err := member(task, "real_parent")
	if err != nil {
		return err
	}
	ptr, ok := ciliumbtf.UnderlyingType(parent.Type).(*ciliumbtf.Pointer)
	if !ok {
		return fmt.Errorf("real_parent: %v", parent.Type)
	}
	target, ok := ciliumbtf.UnderlyingType(ptr.Target).(*ciliumbtf.Struct)
	if !ok {
		return fmt.Errorf("real_parent: %v", ptr.Target)
	}
	comm, err := member(target, "comm")
	if err != nil {
		return err
	}
	if n, err := ciliumbtf.Sizeof(comm.Type); err != nil || n != 16 {
		return fmt.Errorf("comm: %d bytes, %v", n, err)
	}
	var fname *ciliumbtf.Struct
	if err := s.TypeByName("filename", &fname); err != nil {
		return err
	}
	if _, err := member(fname, "name"); err != nil {
		return err
	}
	var fn *ciliumbtf.Func
	if err := s.TypeByName("do_unlinkat", &fn); err != nil {
		return err
	}
	proto, ok := fn.Type.(*ciliumbtf.FuncProto)
	if !ok || len(proto.Params) != 2 || proto.Params[0].Name != "dfd" {
		return fmt.Errorf("do_unlinkat: %v", fn.Type)
	}
	return nil
}

// member finds a direct member by name, as the one-liner's members are.
func member(s *ciliumbtf.Struct, name string) (ciliumbtf.Member, error) {
	for _, m := range s.Members {
		if m.Name == name {
			return m, nil
		}
	}
	return ciliumbtf.Member{}, fmt.Errorf("%s has no member %s", s.Name, name)
}
