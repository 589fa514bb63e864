package bpf

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"unsafe"

	"github.com/tracelet/tracelet/asm"
	"golang.org/x/sys/unix"
)

// probeCache holds what the kernel told us; each probe runs once per
// process and is safe for concurrent use.
var probeCache sync.Map // key -> *probeResult

type probeResult struct {
	once sync.Once
	err  error
}

func probeOnce(key string, probe func() error) error {
	v, _ := probeCache.LoadOrStore(key, &probeResult{})
	r := v.(*probeResult)
	r.once.Do(func() { r.err = probe() })
	return r.err
}

// HaveMapType reports whether the kernel can create maps of type t: nil,
// an error wrapping ErrNotSupported, or another error when the probe itself
// failed (no permission, for instance).
func HaveMapType(t MapType) error {
	f := kernelFeature{name: t.String(), min: t.MinKernel()}
	if f.min == "" {
		return fmt.Errorf("unknown map type %d", t)
	}
	return probeOnce("map:"+f.name, func() error {
		ensureMemlock()
		attr := mapCreateAttr{mapType: uint32(t), keySize: 4, valueSize: 8, maxEntries: 1}
		switch t {
		case PerfEventArray:
			attr.valueSize = 4
		case RingBuf:
			attr.keySize, attr.valueSize, attr.maxEntries = 0, 0, uint32(os.Getpagesize())
		}
		fd, err := sys(cmdMapCreate, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
		if err == nil {
			unix.Close(fd)
			return nil
		}
		if errnoOf(err) == unix.EINVAL {
			return notSupported("map type "+f.name, f.min)
		}
		return &Error{Op: "probe", Object: "map type " + f.name, Err: err}
	})
}

func probeProgram(t ProgramType, insns asm.Instructions) (fd int, log string, err error) {
	code, _ := insns.Encode(nativeOrder())
	license := []byte("GPL\x00")
	buf := make([]byte, 4096)
	attr := progLoadAttr{progType: uint32(t), insnCnt: uint32(len(code) / 8), insns: bytesPtr(code),
		license: bytesPtr(license), logLevel: 1, logSize: uint32(len(buf)), logBuf: bytesPtr(buf)}
	if t == Kprobe {
		if major, _ := unameRelease(); major < 5 {
			attr.kernVersion, _ = KernelVersionCode()
		}
	}
	ensureMemlock()
	fd, err = sys(cmdProgLoad, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	keep(code, license)
	return fd, unix.ByteSliceToString(buf), err
}

// HaveProgramType reports whether the kernel loads programs of type t.
func HaveProgramType(t ProgramType) error {
	f := kernelFeature{name: t.String(), min: t.MinKernel()}
	if f.min == "" {
		return fmt.Errorf("unknown program type %d", t)
	}
	// These load only with an attach type and a BTF target, which is
	// what their own probes try.
	switch t {
	case Tracing:
		return HaveTPBTF()
	case LSM:
		return HaveLSM()
	}
	return probeOnce("prog:"+f.name, func() error {
		fd, _, err := probeProgram(t, asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Return()})
		if err == nil {
			unix.Close(fd)
			return nil
		}
		if errnoOf(err) == unix.EINVAL || errnoOf(err) == unix.E2BIG {
			return notSupported("program type "+f.name, f.min)
		}
		return &Error{Op: "probe", Object: "program type " + f.name, Err: err}
	})
}

// helperMinKernel lists the first kernel of the helpers tracelet emits.
var helperMinKernel = map[asm.BuiltinFunc]string{
	asm.FnMapLookupElem:      "3.19",
	asm.FnMapUpdateElem:      "3.19",
	asm.FnMapDeleteElem:      "3.19",
	asm.FnProbeRead:          "4.1",
	asm.FnKtimeGetNs:         "4.1",
	asm.FnTracePrintk:        "4.1",
	asm.FnGetSmpProcessorId:  "4.1",
	asm.FnGetCurrentPidTgid:  "4.2",
	asm.FnGetCurrentUidGid:   "4.2",
	asm.FnGetCurrentComm:     "4.2",
	asm.FnPerfEventOutput:    "4.4",
	asm.FnGetStackid:         "4.6",
	asm.FnProbeReadStr:       "4.11",
	asm.FnGetStack:           "4.18",
	asm.FnProbeReadUser:      "5.5",
	asm.FnProbeReadKernel:    "5.5",
	asm.FnProbeReadUserStr:   "5.5",
	asm.FnProbeReadKernelStr: "5.5",
	asm.FnRingbufOutput:      "5.8",
	asm.FnRingbufReserve:     "5.8",
	asm.FnRingbufSubmit:      "5.8",
	asm.FnRingbufDiscard:     "5.8",
	asm.FnGetAttachCookie:    "5.15",
}

// HaveHelper reports whether programs of type t may call fn. The probe
// loads a program that calls fn with no arguments: the verifier checks that
// the helper exists for the program type before it checks arguments, so an
// "invalid func" or "unknown func" in the log means absent, and any other
// refusal means present.
func HaveHelper(t ProgramType, fn asm.BuiltinFunc) error {
	if err := HaveProgramType(t); err != nil {
		return err
	}
	return probeOnce(fmt.Sprintf("helper:%d:%d", t, fn), func() error {
		fd, log, err := probeProgram(t, asm.Instructions{fn.Call(), asm.Mov.Imm(asm.R0, 0), asm.Return()})
		if err == nil {
			unix.Close(fd)
			return nil
		}
		// "program of this type cannot use helper" (4.x-6.x wording
		// for a helper the type may not call) counts as missing too.
		if strings.Contains(log, "invalid func") || strings.Contains(log, "unknown func") ||
			strings.Contains(log, "cannot use helper") {
			return notSupported(fmt.Sprintf("helper %s in %s programs", fn, t), helperMinKernel[fn])
		}
		if errnoOf(err) == unix.EPERM {
			return &Error{Op: "probe", Object: "helper " + fn.String(), Err: err}
		}
		return nil
	})
}

// HavePerfEventLink reports whether BPF_LINK_CREATE attaches programs to
// perf events (5.15, with the bpf cookie). It asks for a link to fd -1: a
// kernel that knows BPF_PERF_EVENT gets as far as looking the fd up and
// fails with EBADF, an older one rejects the attach type with EINVAL.
func HavePerfEventLink() error {
	return probeOnce("link:perf_event", func() error {
		fd, _, err := probeProgram(Kprobe, asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Return()})
		if err != nil {
			return &Error{Op: "probe", Object: "perf event links", Err: err}
		}
		defer unix.Close(fd)
		attr := linkCreateAttr{progFD: uint32(fd), targetFD: ^uint32(0), attachType: unix.BPF_PERF_EVENT}
		_, err = sys(cmdLinkCreate, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
		if errnoOf(err) == unix.EBADF {
			return nil
		}
		return notSupported("BPF_LINK_CREATE for perf events", "5.15")
	})
}

// HaveSyscall reports whether bpf(2) exists: a map creation with an
// all-zero attribute is invalid on every kernel that has the syscall
// (EINVAL), while a kernel built without CONFIG_BPF_SYSCALL answers ENOSYS.
func HaveSyscall() error {
	return probeOnce("syscall", func() error {
		var attr mapCreateAttr
		fd, err := sys(cmdMapCreate, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
		switch errnoOf(err) {
		case 0:
			unix.Close(fd)
			return nil
		case unix.EINVAL:
			return nil
		case unix.ENOSYS:
			return notSupported("the bpf() syscall (CONFIG_BPF_SYSCALL)", "3.18")
		}
		return &Error{Op: "probe", Object: "the bpf() syscall", Err: err}
	})
}

// Feature is one line of a feature report.
type Feature struct {
	Name      string
	MinKernel string
	Err       error // nil when present
}

// Features probes everything tracelet may use, for `tracelet doctor`.
func Features() []Feature {
	out := []Feature{{"bpf syscall", "3.18", HaveSyscall()}}
	for _, t := range []ProgramType{SocketFilter, Kprobe, TracePoint, PerfEvent, RawTracepoint} {
		out = append(out, Feature{"program type " + t.String(), t.MinKernel(), HaveProgramType(t)})
	}
	for _, t := range []MapType{Hash, Array, PerCPUHash, PerCPUArray, LRUHash, PerfEventArray, StackTrace, RingBuf} {
		out = append(out, Feature{"map type " + t.String(), t.MinKernel(), HaveMapType(t)})
	}
	for _, fn := range []asm.BuiltinFunc{asm.FnProbeRead, asm.FnProbeReadStr, asm.FnGetCurrentPidTgid, asm.FnPerfEventOutput,
		asm.FnGetStackid, asm.FnGetStack, asm.FnProbeReadUser, asm.FnProbeReadKernel, asm.FnRingbufOutput, asm.FnGetAttachCookie} {
		out = append(out, Feature{"helper " + fn.String(), helperMinKernel[fn], HaveHelper(Kprobe, fn)})
	}
	out = append(out, Feature{"perf event links (BPF_LINK_CREATE)", "5.15", HavePerfEventLink()})
	out = append(out, Feature{"BPF memory charged to memcg, not memlock", "5.11", memlockFeature()})
	return out
}

func memlockFeature() error {
	if MemlockCharged() {
		return errors.New("this kernel charges BPF memory to RLIMIT_MEMLOCK (before 5.11): tracelet raises the limit")
	}
	return nil
}
