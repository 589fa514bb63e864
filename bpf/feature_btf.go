package bpf

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"
	"sync"
	"unsafe"

	"github.com/tracelet/tracelet/asm"
	"github.com/tracelet/tracelet/btf"
	"golang.org/x/sys/unix"
)

// The probes below load the smallest program of each BTF-attached kind
// against a real target from the kernel's BTF, then attach and detach it:
// a kernel can accept the load and still refuse the attach (fentry without
// ftrace direct calls answers ENOTSUPP only then).

// fentryTargets are functions for the fentry and fexit probes, first found
// wins. bpf_fentry_test1 exists for this purpose (net/bpf/test_run.c,
// noinline, called only by BPF_PROG_TEST_RUN); the others are there in
// every kernel with BTF, in case a kernel lacks CONFIG_NET.
var fentryTargets = []string{"bpf_fentry_test1", "do_unlinkat", "vfs_read"}

// kernelBTF caches what the probes need from /sys/kernel/btf/vmlinux: it
// is read once, and closed again.
var kernelBTF struct {
	once    sync.Once
	fentry  string
	ids     map[string]btf.TypeID
	err     error
	summary KernelBTFInfo
}

func loadKernelBTF() error {
	kernelBTF.once.Do(func() {
		spec, err := btf.LoadFile(btf.KernelPath)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				err = notSupported("no BTF: "+btf.KernelPath+" is absent (CONFIG_DEBUG_INFO_BTF)", "5.5")
			} else {
				err = fmt.Errorf("no BTF: %w", err)
			}
			kernelBTF.err = err
			return
		}
		defer spec.Close()
		kernelBTF.summary = KernelBTFInfo{Path: btf.KernelPath, Types: spec.NumTypes() - 1}
		ids := map[string]btf.TypeID{}
		for _, name := range fentryTargets {
			if id, err := spec.TypeByName(name, btf.BTF_KIND_FUNC); err == nil {
				ids[name] = id
				if kernelBTF.fentry == "" {
					kernelBTF.fentry = name
				}
			}
		}
		if id, err := spec.TypeByName("btf_trace_sched_switch", btf.BTF_KIND_TYPEDEF); err == nil {
			ids["btf_trace_sched_switch"] = id
		}
		if id, err := spec.TypeByName("bpf_lsm_file_open", btf.BTF_KIND_FUNC); err == nil {
			ids["bpf_lsm_file_open"] = id
		}
		kernelBTF.ids = ids
	})
	return kernelBTF.err
}

// KernelBTFInfo describes the kernel's BTF.
type KernelBTFInfo struct {
	Path    string   // /sys/kernel/btf/vmlinux
	Types   int      // type count, not counting the void type 0
	Modules []string // modules with BTF of their own (/sys/kernel/btf/*), sorted
}

// KernelBTF reads /sys/kernel/btf: how many types vmlinux describes, and
// which modules have split BTF (5.11+). An error wrapping ErrNotSupported
// means the kernel publishes no BTF.
func KernelBTF() (KernelBTFInfo, error) {
	if err := loadKernelBTF(); err != nil {
		return KernelBTFInfo{}, err
	}
	info := kernelBTF.summary
	ents, err := os.ReadDir(btf.KernelDir)
	if err != nil {
		return info, err
	}
	for _, e := range ents {
		if e.Name() != "vmlinux" {
			info.Modules = append(info.Modules, e.Name())
		}
	}
	sort.Strings(info.Modules)
	return info, nil
}

// probeBTFProgram loads `r0 = 0; exit` as a program of type t with attach
// type at, against the BTF type target, then attaches and detaches it.
func probeBTFProgram(t ProgramType, at AttachType, target string) error {
	if err := loadKernelBTF(); err != nil {
		return err
	}
	id, ok := kernelBTF.ids[target]
	if target == "" {
		return fmt.Errorf("the kernel's BTF has none of %s to probe %s with", strings.Join(fentryTargets, ", "), at)
	}
	if !ok {
		return fmt.Errorf("the kernel's BTF has no %s to probe %s with", target, at)
	}
	what := fmt.Sprintf("BPF_PROG_TYPE_%s %s program on %s", strings.ToUpper(t.String()), at, target)
	code, _ := asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Return()}.Encode(nativeOrder())
	license := []byte("GPL\x00")
	buf := make([]byte, 4096)
	attr := progLoadAttr{progType: uint32(t), insnCnt: uint32(len(code) / asm.InstructionSize), insns: bytesPtr(code),
		license: bytesPtr(license), logLevel: 1, logSize: uint32(len(buf)), logBuf: bytesPtr(buf),
		expectedAttachType: uint32(at), attachBTFID: uint32(id)}
	ensureMemlock()
	fd, err := sys(cmdProgLoad, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	keep(code, license, buf)
	if err != nil {
		log := lastLine(unix.ByteSliceToString(buf))
		if errnoOf(err) == unix.EINVAL && log == "" {
			// find_prog_type and the attach-type check fail before
			// the verifier writes anything.
			return &Error{Op: "load", Object: what, Err: notSupported(t.String()+" programs attached as "+at.String(), at.MinKernel())}
		}
		if log != "" {
			err = fmt.Errorf("%w (verifier: %s)", namedErrno(err), log)
		} else {
			err = namedErrno(err)
		}
		return &Error{Op: "load", Object: what, Err: err}
	}
	defer unix.Close(fd)
	l, err := AttachTracing(&Program{name: "probe", typ: t, attachType: at, fd: fd})
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			if errnoOf(err) == errENOTSUPP {
				// Both stay in the chain: errors.Is(err, ErrNotSupported), and
				// the errno for callers that compare it.
				e.Err = fmt.Errorf("ENOTSUPP (524): the kernel cannot attach %s programs here (x86_64 needs CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS, arm64 6.0+): %w (%w)", at, ErrNotSupported, errENOTSUPP)
			} else {
				e.Err = namedErrno(e.Err)
			}
			e.Object = what
		}
		return err
	}
	return l.Close()
}

// namedErrno spells an errno as its uapi name, "EPERM (operation not
// permitted)", keeping it for errors.Is.
func namedErrno(err error) error {
	if e := errnoOf(err); e != 0 && err == error(e) {
		if name := unix.ErrnoName(e); name != "" {
			return fmt.Errorf("%s (%w)", name, e)
		}
	}
	return err
}

func lastLine(log string) string {
	log = strings.TrimSpace(log)
	if i := strings.LastIndexByte(log, '\n'); i >= 0 {
		log = log[i+1:]
	}
	return log
}

// HaveFentry reports whether the kernel loads and attaches fentry
// programs (BPF_PROG_TYPE_TRACING, BPF_TRACE_FENTRY, 5.5+): nil, or an
// error with the kernel's errno, or wrapping ErrNotSupported.
func HaveFentry() error {
	return probeOnce("btf:fentry", func() error {
		if err := loadKernelBTF(); err != nil {
			return err
		}
		return probeBTFProgram(Tracing, AttachTraceFentry, kernelBTF.fentry)
	})
}

// HaveFexit is HaveFentry for fexit programs (BPF_TRACE_FEXIT).
func HaveFexit() error {
	return probeOnce("btf:fexit", func() error {
		if err := loadKernelBTF(); err != nil {
			return err
		}
		return probeBTFProgram(Tracing, AttachTraceFexit, kernelBTF.fentry)
	})
}

// HaveTPBTF reports whether the kernel loads and attaches tp_btf programs
// (BPF_PROG_TYPE_TRACING, BPF_TRACE_RAW_TP, 5.5+), probing sched_switch.
func HaveTPBTF() error {
	return probeOnce("btf:tp_btf", func() error {
		return probeBTFProgram(Tracing, AttachTraceRawTp, "btf_trace_sched_switch")
	})
}

// HaveLSM reports whether the kernel loads and attaches LSM programs
// (BPF_PROG_TYPE_LSM, BPF_LSM_MAC, 5.7+), probing file_open. A loaded LSM
// program runs only if bpf is an active LSM: see BPFLSMActive.
func HaveLSM() error {
	return probeOnce("btf:lsm", func() error {
		return probeBTFProgram(LSM, AttachLSMMac, "bpf_lsm_file_open")
	})
}

// HaveRawTracepoint reports whether the kernel loads raw_tracepoint
// programs and attaches one to sched_switch by name (4.17+).
func HaveRawTracepoint() error {
	return probeOnce("raw_tracepoint", func() error {
		if err := HaveProgramType(RawTracepoint); err != nil {
			return err
		}
		fd, _, err := probeProgram(RawTracepoint, asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Return()})
		if err != nil {
			return &Error{Op: "load", Object: "raw_tracepoint program", Err: namedErrno(err)}
		}
		defer unix.Close(fd)
		l, err := AttachRawTracepoint(&Program{name: "probe", typ: RawTracepoint, fd: fd}, "sched_switch")
		if err != nil {
			return err
		}
		return l.Close()
	})
}

var activeLSMs struct {
	once sync.Once
	list []string
	err  error
}

// ActiveLSMs is the kernel's list of active security modules, from the
// lsm file of securityfs ("lockdown,capability,landlock,yama,bpf"). It
// finds securityfs through /proc/self/mountinfo; when it is mounted
// nowhere, it mounts it at /sys/kernel/security for the read and unmounts
// it again, leaving the system as it found it.
func ActiveLSMs() ([]string, error) {
	activeLSMs.once.Do(func() {
		b, err := readSecurityfs("lsm")
		if err != nil {
			activeLSMs.err = err
			return
		}
		for _, m := range strings.Split(strings.TrimSpace(string(b)), ",") {
			if m != "" {
				activeLSMs.list = append(activeLSMs.list, m)
			}
		}
	})
	return activeLSMs.list, activeLSMs.err
}

// BPFLSMActive reports whether bpf is in the active LSM list: LSM programs
// load and attach without it, and never run (the list is fixed at boot by
// CONFIG_LSM or lsm= on the kernel command line).
func BPFLSMActive() (bool, error) {
	list, err := ActiveLSMs()
	if err != nil {
		return false, err
	}
	for _, m := range list {
		if m == "bpf" {
			return true, nil
		}
	}
	return false, nil
}

func readSecurityfs(name string) ([]byte, error) {
	if dir := mountOf("securityfs"); dir != "" {
		return os.ReadFile(dir + "/" + name)
	}
	const dir = "/sys/kernel/security"
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("securityfs is not mounted and %s is missing (CONFIG_SECURITYFS): %w", dir, err)
	}
	if err := unix.Mount("securityfs", dir, "securityfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return nil, fmt.Errorf("securityfs is not mounted and mounting it at %s failed: %w", dir, err)
	}
	defer unix.Unmount(dir, 0)
	return os.ReadFile(dir + "/" + name)
}

// mountOf returns where a filesystem of type fstype is mounted, or "".
func mountOf(fstype string) string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		// "id parent major:minor root mountpoint opts [optional...] - fstype source superopts"
		fields := strings.Fields(s.Text())
		for i, fld := range fields {
			if fld == "-" && i+1 < len(fields) && fields[i+1] == fstype && len(fields) > 4 {
				return unescapeMount(fields[4])
			}
		}
	}
	return ""
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var v int
			if _, err := fmt.Sscanf(s[i+1:i+4], "%03o", &v); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
