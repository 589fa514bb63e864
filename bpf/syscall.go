package bpf

import (
	"encoding/binary"
	"errors"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// bpf(2) commands, from enum bpf_cmd.
const (
	cmdMapCreate         = 0
	cmdMapLookupElem     = 1
	cmdMapUpdateElem     = 2
	cmdMapDeleteElem     = 3
	cmdMapGetNextKey     = 4
	cmdProgLoad          = 5
	cmdObjGetInfoByFD    = 15
	cmdRawTracepointOpen = 17
	cmdMapLookupBatch    = 24
	cmdMapUpdateBatch    = 26
	cmdMapDeleteBatch    = 27
	cmdLinkCreate        = 28
)

// Attribute structs mirror the members of union bpf_attr that each command
// reads. Pointers travel as 64-bit kptr fields so that the layout is the same for 32-bit
// and 64-bit processes, as the kernel's __aligned_u64 requires.

type mapCreateAttr struct {
	mapType    uint32
	keySize    uint32
	valueSize  uint32
	maxEntries uint32
	mapFlags   uint32
	innerMapFD uint32
	numaNode   uint32
	mapName    [16]byte
	mapIfindex uint32
}

type mapElemAttr struct {
	mapFD uint32
	_     uint32
	key   kptr
	value kptr // or next_key
	flags uint64
}

type mapBatchAttr struct {
	inBatch   kptr
	outBatch  kptr
	keys      kptr
	values    kptr
	count     uint32
	mapFD     uint32
	elemFlags uint64
	flags     uint64
}

type progLoadAttr struct {
	progType           uint32
	insnCnt            uint32
	insns              kptr
	license            kptr
	logLevel           uint32
	logSize            uint32
	logBuf             kptr
	kernVersion        uint32
	progFlags          uint32
	progName           [16]byte
	progIfindex        uint32
	expectedAttachType uint32
	progBTFFD          uint32
	funcInfoRecSize    uint32
	funcInfo           kptr
	funcInfoCnt        uint32
	lineInfoRecSize    uint32
	lineInfo           kptr
	lineInfoCnt        uint32
	attachBTFID        uint32
	attachBTFObjFD     uint32 // union with attach_prog_fd (5.11+ for module BTF)
	coreReloCnt        uint32
	fdArray            kptr
	coreRelos          kptr
	coreReloRecSize    uint32
	logTrueSize        uint32 // written back by 6.4+: the size the log needed
}

type objInfoAttr struct {
	fd      uint32
	infoLen uint32
	info    kptr
}

type linkCreateAttr struct {
	progFD     uint32
	targetFD   uint32
	attachType uint32
	flags      uint32
	bpfCookie  uint64 // perf_event.bpf_cookie
	_          [4]uint64
}

type rawTracepointAttr struct {
	name   kptr
	progFD uint32
	_      uint32
	cookie uint64
}

// kptr is a pointer field of a bpf_attr (__aligned_u64). It holds a real
// Go pointer rather than an integer so that the garbage collector keeps the
// buffer alive and, more importantly, so that the compiler moves the buffer
// to the heap: a buffer left on a goroutine stack can move when the stack
// grows between taking its address and the system call, and the kernel would
// then read, or write the verifier log into, stale memory. Its layout per
// word size and byte order is in kptr_*.go.
func ptr(p unsafe.Pointer) kptr { return kptr{p: p} }

func bytesPtr(b []byte) kptr {
	if len(b) == 0 {
		return kptr{}
	}
	return ptr(unsafe.Pointer(&b[0]))
}

// sys issues one bpf(2) command. EINTR is retried: a signal arriving during a
// long verification makes the kernel give up with EINTR (or EAGAIN on
// older kernels for PROG_LOAD), and trying again is what the caller wants.
func sys(cmd int, attr unsafe.Pointer, size uintptr) (int, error) {
	for try := 0; ; try++ {
		r, _, errno := unix.Syscall(unix.SYS_BPF, uintptr(cmd), uintptr(attr), size)
		runtime.KeepAlive(attr)
		if errno == 0 {
			return int(r), nil
		}
		if (errno == unix.EINTR || (errno == unix.EAGAIN && cmd == cmdProgLoad)) && try < 10 {
			continue
		}
		return -1, errno
	}
}

// errnoOf extracts the errno from err, or 0.
func errnoOf(err error) unix.Errno {
	var e unix.Errno
	if errors.As(err, &e) {
		return e
	}
	return 0
}

func objName(name string) [16]byte {
	// The kernel accepts [A-Za-z0-9_.] and at most 15 bytes
	// (bpf_obj_name_cpy): drop anything else instead of failing the load.
	var out [16]byte
	n := 0
	for i := 0; i < len(name) && n < 15; i++ {
		c := name[i]
		if c == '_' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
			out[n] = c
			n++
		}
	}
	return out
}

// errENOTSUPP is the kernel-internal ENOTSUPP (524) that some bpf(2) paths
// leak to user space.
const errENOTSUPP = unix.Errno(524)

func nativeOrder() binary.ByteOrder { return binary.NativeEndian }

// keep holds Go buffers alive until after a system call that reads them
// through integers.
func keep(bufs ...[]byte) { runtime.KeepAlive(bufs) }
