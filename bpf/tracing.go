package bpf

import (
	"fmt"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// TracingLink is a Tracing program (fentry, fexit, tp_btf) or an LSM
// program attached to the kernel function, tracepoint or hook that its
// ProgramSpec.AttachBTFID named. Closing it detaches the program.
type TracingLink struct {
	fd    int
	raw   bool
	close sync.Once
}

// AttachTracing attaches a Tracing or LSM program to its BTF target. The
// target was fixed at load time (attach_btf_id), so there is nothing to
// name here. It asks for a BPF link (BPF_LINK_CREATE with the program's
// attach type and target_fd 0) and, on kernels that refuse that for these
// programs (EINVAL: before 5.10 for tracing, 6.0 for LSM), uses
// BPF_RAW_TRACEPOINT_OPEN without a name, which attaches them since 5.5.
func AttachTracing(prog *Program) (*TracingLink, error) {
	if prog.typ != Tracing && prog.typ != LSM {
		return nil, &Error{Op: "attach", Object: "program " + prog.name, Err: fmt.Errorf("AttachTracing takes tracing and lsm programs, not %s", prog.typ)}
	}
	attr := linkCreateAttr{progFD: uint32(prog.fd), attachType: uint32(prog.attachType)}
	fd, err := sys(cmdLinkCreate, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	if err == nil {
		return &TracingLink{fd: fd}, nil
	}
	if errnoOf(err) != unix.EINVAL {
		return nil, &Error{Op: "attach (link)", Object: prog.attachType.String() + " program " + prog.name, Err: err}
	}
	return attachTracingRaw(prog)
}

// attachTracingRaw is the 5.5-era attach: BPF_RAW_TRACEPOINT_OPEN with a
// NULL name attaches a BTF program to the target it was loaded for.
func attachTracingRaw(prog *Program) (*TracingLink, error) {
	raw := rawTracepointAttr{progFD: uint32(prog.fd)}
	fd, err := sys(cmdRawTracepointOpen, unsafe.Pointer(&raw), unsafe.Sizeof(raw))
	if err != nil {
		return nil, &Error{Op: "attach (raw_tracepoint_open)", Object: prog.attachType.String() + " program " + prog.name, Err: err}
	}
	return &TracingLink{fd: fd, raw: true}, nil
}

// FD is the link's file descriptor (a BPF link either way), owned by the
// TracingLink.
func (l *TracingLink) FD() int { return l.fd }

// Close detaches the program.
func (l *TracingLink) Close() error {
	var err error
	l.close.Do(func() { err = unix.Close(l.fd) })
	return err
}
