package bpf

import (
	"encoding/binary"
	"fmt"
	"unsafe"

	"github.com/tracelet/tracelet/asm"
	"golang.org/x/sys/unix"
)

// progInfo is the head of struct bpf_prog_info, as far as we read it; the
// kernel copies min(info_len, its size) bytes.
type progInfo struct {
	typ             uint32
	id              uint32
	tag             [8]byte
	jitedProgLen    uint32
	xlatedProgLen   uint32
	jitedProgInsns  kptr
	xlatedProgInsns kptr
	loadTime        uint64
	createdByUID    uint32
	nrMapIDs        uint32
	mapIDs          kptr
	name            [16]byte
	ifindex         uint32
	gplCompatible   uint32
	netnsDev        uint64
	netnsIno        uint64
	nrJitedKsyms    uint32
	nrJitedFuncLens uint32
	jitedKsyms      kptr
	jitedFuncLens   kptr
}

// ProgramInfo is what the kernel reports about a loaded program.
type ProgramInfo struct {
	ID     uint32
	Tag    [8]byte
	Name   string
	MapIDs []uint32
	// Xlated is the program after the verifier's rewrites, with map fds
	// replaced by map ids: what `bpftool prog dump xlated` prints.
	Xlated asm.Instructions
}

func objInfo(fd int, info unsafe.Pointer, size uintptr) error {
	attr := objInfoAttr{fd: uint32(fd), infoLen: uint32(size), info: ptr(info)}
	_, err := sys(cmdObjGetInfoByFD, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	return err
}

// Info queries the kernel (BPF_OBJ_GET_INFO_BY_FD) in two rounds: sizes
// first, then the translated instructions and map ids.
func (p *Program) Info() (*ProgramInfo, error) {
	var pi progInfo
	if err := objInfo(p.fd, unsafe.Pointer(&pi), unsafe.Sizeof(pi)); err != nil {
		return nil, &Error{Op: "get info of", Object: "program " + p.name, Err: err}
	}
	xlated := make([]byte, pi.xlatedProgLen)
	mapIDs := make([]uint32, pi.nrMapIDs)
	second := progInfo{xlatedProgLen: pi.xlatedProgLen, nrMapIDs: pi.nrMapIDs}
	if len(xlated) > 0 {
		second.xlatedProgInsns = bytesPtr(xlated)
	}
	if len(mapIDs) > 0 {
		second.mapIDs = ptr(unsafe.Pointer(&mapIDs[0]))
	}
	if err := objInfo(p.fd, unsafe.Pointer(&second), unsafe.Sizeof(second)); err != nil {
		return nil, &Error{Op: "get info of", Object: "program " + p.name, Err: err}
	}
	if second.xlatedProgLen == 0 && pi.xlatedProgLen != 0 {
		return nil, &Error{Op: "get info of", Object: "program " + p.name, Err: fmt.Errorf("kernel withheld the translated program (kernel.kptr_restrict or bpf_dump_raw_ok): %w", unix.EPERM)}
	}
	insns, err := asm.Decode(xlated[:second.xlatedProgLen], binary.NativeEndian)
	if err != nil {
		return nil, &Error{Op: "decode translated", Object: "program " + p.name, Err: err}
	}
	return &ProgramInfo{ID: pi.id, Tag: pi.tag, Name: unix.ByteSliceToString(pi.name[:]), MapIDs: mapIDs[:min(len(mapIDs), int(second.nrMapIDs))], Xlated: insns}, nil
}

type mapInfo struct {
	typ        uint32
	id         uint32
	keySize    uint32
	valueSize  uint32
	maxEntries uint32
	mapFlags   uint32
	name       [16]byte
}

// ID is the map's kernel-wide id.
func (m *Map) ID() (uint32, error) {
	var mi mapInfo
	if err := objInfo(m.fd, unsafe.Pointer(&mi), unsafe.Sizeof(mi)); err != nil {
		return 0, &Error{Op: "get info of", Object: "map " + m.name, Err: err}
	}
	return mi.id, nil
}
