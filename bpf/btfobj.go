package bpf

import (
	"errors"
	"fmt"
	"io/fs"
	"unsafe"

	"golang.org/x/sys/unix"
)

const (
	cmdBTFGetFDByID = 19
	cmdBTFGetNextID = 23
)

// idAttr is the bpf_attr of the *_GET_NEXT_ID and *_GET_FD_BY_ID commands.
type idAttr struct {
	id        uint32 // start_id, or the id to open
	nextID    uint32
	openFlags uint32
}

// btfInfo is struct bpf_btf_info.
type btfInfo struct {
	btf       kptr
	btfSize   uint32
	id        uint32
	name      kptr
	nameLen   uint32
	kernelBTF uint32
}

// BTFObject is an fd of a BTF object the kernel holds: vmlinux's, a
// module's, or a program's. A program that attaches to a type of a
// module's split BTF names the module's object by its fd
// (ProgramSpec.AttachBTFObjFD).
type BTFObject struct {
	fd   int
	ID   uint32
	Name string // "vmlinux", the module's name, or "" for a program's
}

// FD is the object's file descriptor.
func (o *BTFObject) FD() int { return o.fd }

// Close releases the fd.
func (o *BTFObject) Close() error {
	if o.fd < 0 {
		return nil
	}
	err := unix.Close(o.fd)
	o.fd = -1
	return err
}

// ModuleBTF opens the kernel BTF object of the loaded module name, walking
// the kernel's BTF objects by id (5.11: modules' BTF objects and their
// names). The error wraps fs.ErrNotExist when no loaded module has that name.
func ModuleBTF(name string) (*BTFObject, error) {
	var id uint32
	for {
		attr := idAttr{id: id}
		if _, err := sys(cmdBTFGetNextID, unsafe.Pointer(&attr), unsafe.Sizeof(attr)); err != nil {
			if errors.Is(err, unix.ENOENT) {
				return nil, &Error{Op: "find BTF of", Object: "module " + name, Err: fmt.Errorf("no loaded module of that name has BTF: %w", fs.ErrNotExist)}
			}
			return nil, &Error{Op: "find BTF of", Object: "module " + name, Err: err}
		}
		id = attr.nextID
		open := idAttr{id: id}
		fd, err := sys(cmdBTFGetFDByID, unsafe.Pointer(&open), unsafe.Sizeof(open))
		if err != nil {
			if errors.Is(err, unix.ENOENT) {
				continue // unloaded meanwhile
			}
			return nil, &Error{Op: "find BTF of", Object: "module " + name, Err: err}
		}
		var buf [64]byte
		info := btfInfo{name: ptr(unsafe.Pointer(&buf[0])), nameLen: uint32(len(buf))}
		if err := objInfo(fd, unsafe.Pointer(&info), unsafe.Sizeof(info)); err != nil {
			unix.Close(fd)
			return nil, &Error{Op: "find BTF of", Object: "module " + name, Err: err}
		}
		if info.kernelBTF != 0 && unix.ByteSliceToString(buf[:]) == name {
			return &BTFObject{fd: fd, ID: info.id, Name: name}, nil
		}
		unix.Close(fd)
	}
}
