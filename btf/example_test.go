package btf_test

import (
	"compress/gzip"
	"fmt"
	"io"
	"log"
	"os"

	"github.com/tracelet/tracelet/btf"
)

// vmlinux returns the BTF of a recorded kernel (6.18); a tracer would call
// btf.LoadFile(btf.KernelPath) instead.
func vmlinux() *btf.Spec {
	f, err := os.Open("testdata/vmlinux-6.18.44-fc-v1300.btf.gz")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		log.Fatal(err)
	}
	b, err := io.ReadAll(z)
	if err != nil {
		log.Fatal(err)
	}
	spec, err := btf.LoadBytes(b)
	if err != nil {
		log.Fatal(err)
	}
	return spec
}

func Example() {
	spec := vmlinux()
	task, err := spec.TypeByName("task_struct", btf.BTF_KIND_STRUCT)
	if err != nil {
		log.Fatal(err)
	}
	for _, path := range []string{"comm", "real_parent", "sched_reset_on_fork"} {
		f, err := spec.Member(task, path)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s at %d (bitfield %d): %s\n", path, f.Offset, f.BitfieldSize, spec.TypeString(f.Type))
	}
	// Output:
	// comm at 1752 (bitfield 0): char [16]
	// real_parent at 1280 (bitfield 0): struct task_struct *
	// sched_reset_on_fork at 1188 (bitfield 1): unsigned int
}

func ExampleSpec_Member() {
	spec := vmlinux()
	inode, _ := spec.TypeByName("inode", btf.BTF_KIND_STRUCT)
	// i_nlink is a member of an anonymous union inside struct inode.
	f, err := spec.Member(inode, "i_nlink")
	if err != nil {
		log.Fatal(err)
	}
	size, _ := spec.Sizeof(f.Type)
	fmt.Println(f.Offset, size, spec.TypeString(f.Type))
	// Output: 72 4 const unsigned int
}

func ExampleSpec_FuncProto() {
	spec := vmlinux()
	proto, err := spec.FuncProto("do_unlinkat")
	if err != nil {
		log.Fatal(err)
	}
	for _, p := range proto.Params {
		fmt.Println(spec.Declaration(p.Type, p.Name))
	}
	// Output:
	// int dfd
	// struct filename *name
}

func ExampleSpec_TracepointArgs() {
	spec := vmlinux()
	args, err := spec.TracepointArgs("sched_switch")
	if err != nil {
		log.Fatal(err)
	}
	for _, a := range args {
		fmt.Println(spec.TypeString(a.Type))
	}
	// Output:
	// bool
	// struct task_struct *
	// struct task_struct *
	// unsigned int
}

func ExampleSpec_EnumConstant() {
	spec := vmlinux()
	c, err := spec.EnumConstant("BPF_MAP_TYPE_HASH")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(c.Int64(), spec.TypeString(c.Type))
	// Output: 1 enum bpf_map_type
}
