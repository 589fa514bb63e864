package bpf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"unsafe"

	"github.com/tracelet/tracelet/asm"
	"github.com/tracelet/tracelet/btf"
	"golang.org/x/sys/unix"
)

// DefaultLogCap bounds the verifier log buffer. A log can grow to many
// megabytes for a large program; ply capped its buffer after it took half
// the memory of small devices.
const DefaultLogCap = 16 << 20

// firstLogSize is the first buffer tried after a failure without a log.
const firstLogSize = 64 << 10

// minLogSize is the smallest log buffer every kernel takes: before 6.4,
// bpf_verifier_log_attr_valid refused log_size < 128 with EINVAL, which
// would hide the verifier's answer behind an error about the log. A
// smaller LogCap is rounded up to it.
const minLogSize = 128

// ProgramSpec describes a program to load.
type ProgramSpec struct {
	Name         string
	Type         ProgramType
	Instructions asm.Instructions // labels may be unresolved; NewProgram assembles
	License      string           // "GPL" unlocks GPL-only helpers (bpf_probe_read, perf output, ...)
	// KernelVersion overrides kern_version. Zero means: for kprobe programs
	// on kernels older than 5.0, the running kernel's code from the vDSO.
	KernelVersion uint32
	// Maps binds the names of LoadMapPtr/LoadMapValue to maps.
	Maps map[string]*Map
	// LogCap bounds the verifier log buffer (DefaultLogCap when 0).
	LogCap int
	// LogAlways loads with a log even on success (for Program.VerifierLog).
	LogAlways bool

	// AttachType is expected_attach_type. Tracing programs need it to say
	// what they are (AttachTraceFentry, AttachTraceFexit,
	// AttachTraceRawTp), LSM programs need AttachLSMMac; the verifier
	// checks the program against it, and AttachTracing attaches with it.
	AttachType AttachType
	// AttachBTFID is attach_btf_id, the kernel BTF type the program
	// attaches to: the FUNC for fentry and fexit, the btf_trace_<tp>
	// TYPEDEF for tp_btf, the bpf_lsm_<hook> FUNC for LSM (see
	// btf.Spec.TypeByName).
	AttachBTFID btf.TypeID
	// AttachBTFObjFD is attach_btf_obj_fd (5.11+): the fd of a module's
	// BTF object when AttachBTFID is a type of that module's split BTF.
	// Zero means vmlinux.
	AttachBTFObjFD int
}

// Program is a loaded BPF program.
type Program struct {
	name       string
	typ        ProgramType
	attachType AttachType
	fd         int
	log        []string
	close      sync.Once
}

// NewProgram assembles, binds maps, and loads the program. The first load
// runs without a verifier log, which costs nothing when the program is
// fine; a failure is retried with a log that grows up to the cap, to
// explain it.
func NewProgram(spec ProgramSpec) (*Program, error) {
	insns, err := spec.Instructions.Assemble()
	if err != nil {
		return nil, fmt.Errorf("load program %s: %w", spec.Name, err)
	}
	for i := range insns {
		ins := &insns[i]
		if !ins.IsLoadMap() || ins.Reference == "" {
			continue
		}
		m := spec.Maps[ins.Reference]
		if m == nil {
			return nil, fmt.Errorf("load program %s: instruction %d refers to map %q, which is not in ProgramSpec.Maps", spec.Name, i, ins.Reference)
		}
		*ins = ins.BindMap(m.FD())
	}
	code, err := insns.Encode(binary.NativeEndian)
	if err != nil {
		return nil, fmt.Errorf("load program %s: %w", spec.Name, err)
	}
	if spec.Type.MinKernel() == "" {
		return nil, fmt.Errorf("load program %s: unknown program type %d", spec.Name, spec.Type)
	}
	license := append([]byte(spec.License), 0)
	attr := progLoadAttr{
		progType: uint32(spec.Type),
		insnCnt:  uint32(len(code) / asm.InstructionSize),
		insns:    bytesPtr(code),
		license:  bytesPtr(license),
		progName: objName(spec.Name),

		expectedAttachType: uint32(spec.AttachType),
		attachBTFID:        uint32(spec.AttachBTFID),
		attachBTFObjFD:     uint32(spec.AttachBTFObjFD),
	}
	attr.kernVersion = spec.KernelVersion
	if attr.kernVersion == 0 && spec.Type == Kprobe {
		// Kernels before 5.0 refuse a kprobe program whose kern_version
		// is not the running kernel's.
		if major, _ := unameRelease(); major < 5 {
			if attr.kernVersion, err = KernelVersionCode(); err != nil {
				return nil, fmt.Errorf("load program %s: kern_version: %w", spec.Name, err)
			}
		}
	}
	ensureMemlock()
	logCap := spec.LogCap
	if logCap <= 0 {
		logCap = DefaultLogCap
	}
	logCap = max(logCap, minLogSize)
	var logBuf []byte
	if spec.LogAlways {
		logBuf = make([]byte, min(firstLogSize, logCap))
	}
	for {
		attr.logLevel, attr.logSize, attr.logBuf = 0, 0, kptr{}
		if logBuf != nil {
			attr.logLevel, attr.logSize, attr.logBuf = 1, uint32(len(logBuf)), bytesPtr(logBuf)
		}
		fd, err := sys(cmdProgLoad, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
		if errnoOf(err) == unix.EINVAL && attr.progName[0] != 0 {
			// Program names arrived in 4.15.
			attr.progName = [16]byte{}
			fd, err = sys(cmdProgLoad, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
		}
		// Keep the Go buffers alive across the system call: the kernel
		// reads them through the integers in attr.
		runtime.KeepAlive(code)
		runtime.KeepAlive(license)
		if err == nil {
			p := &Program{name: spec.Name, typ: spec.Type, attachType: spec.AttachType, fd: fd}
			if logBuf != nil {
				p.log = splitLog(logBuf)
			}
			return p, nil
		}
		full := errnoOf(err) == unix.ENOSPC && logBuf != nil
		switch {
		case logBuf == nil && errnoOf(err) != unix.EPERM:
			logBuf = make([]byte, min(firstLogSize, logCap))
			continue
		case full && len(logBuf) < logCap:
			next := len(logBuf) * 4
			if need := int(attr.logTrueSize); need > len(logBuf) {
				next = need // 6.4+ says how much it needs
			}
			logBuf = make([]byte, min(next, logCap))
			continue
		}
		if logBuf == nil {
			return nil, &Error{Op: "load program", Object: spec.Name, Err: err}
		}
		verr := &VerifierError{Program: spec.Name, Err: err, Log: splitLog(logBuf), Truncated: full}
		if full {
			// A full log means the load failed only for the log;
			// report the program as the verifier saw it anyway.
			verr.Err = errors.New("verifier log exceeds the cap of " + fmt.Sprint(logCap) + " bytes")
		}
		if errnoOf(err) == unix.EINVAL && len(verr.Log) == 0 {
			if perr := HaveProgramType(spec.Type); errors.Is(perr, ErrNotSupported) {
				return nil, &Error{Op: "load program", Object: spec.Name, Err: perr}
			}
		}
		return nil, verr
	}
}

func splitLog(buf []byte) []string {
	s := unix.ByteSliceToString(buf)
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// FD is the program's file descriptor, owned by the Program.
func (p *Program) FD() int { return p.fd }

// Name is the spec's name.
func (p *Program) Name() string { return p.name }

// Type is the program type.
func (p *Program) Type() ProgramType { return p.typ }

// AttachType is the spec's expected attach type.
func (p *Program) AttachType() AttachType { return p.attachType }

// VerifierLog is the log of a successful load with LogAlways.
func (p *Program) VerifierLog() []string { return p.log }

// Close releases the program; the kernel frees it once nothing is attached.
func (p *Program) Close() error {
	var err error
	p.close.Do(func() { err = unix.Close(p.fd) })
	return err
}
