package tools

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/tracelet/tracelet/asm"
	"github.com/tracelet/tracelet/tracefs"
)

// Every record a tool's program emits starts with this header, filled by
// storeHeader from the helpers of the task the program runs in.
const (
	hdrTime    = 0  // u64 bpf_ktime_get_ns (CLOCK_MONOTONIC)
	hdrPidTgid = 8  // u64 tgid<<32 | tid
	hdrUidGid  = 16 // u64 gid<<32 | uid
	hdrComm    = 24 // char[16]
	hdrSize    = 40
)

type header struct {
	Time uint64
	Tgid uint32
	Tid  uint32
	Uid  uint32
	Comm string
}

func parseHeader(b []byte) (header, error) {
	if len(b) < hdrSize {
		return header{}, fmt.Errorf("record of %d bytes is shorter than its header", len(b))
	}
	pt := binary.NativeEndian.Uint64(b[hdrPidTgid:])
	return header{
		Time: binary.NativeEndian.Uint64(b[hdrTime:]),
		Tgid: uint32(pt >> 32), Tid: uint32(pt),
		Uid:  uint32(binary.NativeEndian.Uint64(b[hdrUidGid:])),
		Comm: cstring(b[hdrComm : hdrComm+16]),
	}, nil
}

func cstring(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// storeHeader fills the header at base+off, base being R10 (the stack) or a
// register holding a map value pointer that survives calls (R7-R9).
// Clobbers R0-R5.
func storeHeader(base asm.Register, off int16) asm.Instructions {
	return asm.Instructions{
		asm.FnKtimeGetNs.Call(),
		asm.StoreMem(base, off+hdrTime, asm.R0, asm.DWord),
		asm.FnGetCurrentPidTgid.Call(),
		asm.StoreMem(base, off+hdrPidTgid, asm.R0, asm.DWord),
		asm.FnGetCurrentUidGid.Call(),
		asm.StoreMem(base, off+hdrUidGid, asm.R0, asm.DWord),
		asm.Mov.Reg(asm.R1, base),
		asm.Add.Imm(asm.R1, int32(off+hdrComm)),
		asm.Mov.Imm(asm.R2, 16),
		asm.FnGetCurrentComm.Call(),
	}
}

// zeroStack clears n bytes (a multiple of 8) at fp+off: the verifier lets
// helpers read only initialized stack.
func zeroStack(off int16, n int) asm.Instructions {
	var insns asm.Instructions
	for i := 0; i < n; i += 8 {
		insns = append(insns, asm.StoreImm(asm.R10, off+int16(i), 0, asm.DWord))
	}
	return insns
}

// tgidFilter jumps to label unless the current process is tgid (0: no
// filter). Clobbers R0.
func tgidFilter(tgid int, label string) asm.Instructions {
	if tgid <= 0 {
		return nil
	}
	return asm.Instructions{
		asm.FnGetCurrentPidTgid.Call(),
		asm.RSh.Imm(asm.R0, 32),
		asm.JNE.Imm(asm.R0, int32(tgid), label),
	}
}

// ctxField loads a tracepoint field from the context in R6, with the
// width the format file gives; signed 1/2/4-byte fields are sign-extended
// with shifts, which every kernel's verifier accepts.
func ctxField(dst asm.Register, f *tracefs.Field) (asm.Instructions, error) {
	var sz asm.Size
	switch f.Size {
	case 1:
		sz = asm.Byte
	case 2:
		sz = asm.Half
	case 4:
		sz = asm.Word
	case 8:
		sz = asm.DWord
	default:
		return nil, fmt.Errorf("field %s: size %d is not an integer", f.Name, f.Size)
	}
	insns := asm.Instructions{asm.LoadMem(dst, asm.R6, int16(f.Offset), sz)}
	if f.Signed && f.Size < 8 {
		sh := int32(64 - 8*f.Size)
		insns = append(insns, asm.LSh.Imm(dst, sh), asm.ArSh.Imm(dst, sh))
	}
	return insns, nil
}

// fields looks up named fields of a format, with an error naming the
// event when the kernel's layout lacks one.
func fields(f *tracefs.Format, names ...string) ([]*tracefs.Field, error) {
	out := make([]*tracefs.Field, len(names))
	for i, n := range names {
		out[i] = f.Field(n)
		if out[i] == nil {
			return nil, fmt.Errorf("tracepoint %s:%s has no field %q in its format", f.System, f.Name, n)
		}
	}
	return out, nil
}

// mapCall sets R1 to the map and R2 (and R3) to stack slots, then calls fn.
func mapLookup(m string, keyOff int16) asm.Instructions {
	return asm.Instructions{
		asm.LoadMapPtr(asm.R1, m),
		asm.Mov.Reg(asm.R2, asm.R10),
		asm.Add.Imm(asm.R2, int32(keyOff)),
		asm.FnMapLookupElem.Call(),
	}
}

func mapUpdate(m string, keyOff, valOff int16, flags int32) asm.Instructions {
	return asm.Instructions{
		asm.LoadMapPtr(asm.R1, m),
		asm.Mov.Reg(asm.R2, asm.R10),
		asm.Add.Imm(asm.R2, int32(keyOff)),
		asm.Mov.Reg(asm.R3, asm.R10),
		asm.Add.Imm(asm.R3, int32(valOff)),
		asm.Mov.Imm(asm.R4, flags),
		asm.FnMapUpdateElem.Call(),
	}
}

func mapDelete(m string, keyOff int16) asm.Instructions {
	return asm.Instructions{
		asm.LoadMapPtr(asm.R1, m),
		asm.Mov.Reg(asm.R2, asm.R10),
		asm.Add.Imm(asm.R2, int32(keyOff)),
		asm.FnMapDeleteElem.Call(),
	}
}

// probeReadUser and probeReadUserStr pick the _user helpers (5.5) where the
// kernel has them and bpf_probe_read(_str) before, as probed.
func (s *session) readUser(str bool) asm.BuiltinFunc {
	if str {
		if s.haveUserHelpers() {
			return asm.FnProbeReadUserStr
		}
		return asm.FnProbeReadStr
	}
	if s.haveUserHelpers() {
		return asm.FnProbeReadUser
	}
	return asm.FnProbeRead
}

func (s *session) haveUserHelpers() bool {
	if s.userHelpers == 0 {
		s.userHelpers = 2
		if bpfHaveHelper(asm.FnProbeReadUserStr) == nil {
			s.userHelpers = 1
		}
	}
	return s.userHelpers == 1
}

func prologue() asm.Instructions { return asm.Instructions{asm.Mov.Reg(asm.R6, asm.R1)} }

// epilogue returns 1: a tracepoint program's 0 would drop the hit for
// every other perf user of that tracepoint (perf_trace_run_bpf_submit).
func epilogue(label string) asm.Instructions {
	return asm.Instructions{asm.Mov.Imm(asm.R0, 1).WithSymbol(label), asm.Return()}
}

// deleteThenOut ends a program that looked an entry up: the entry under
// keyOff is deleted at the label "del" (the jump target of the paths that
// found nothing to send), and every path returns 0 at "out".
func deleteThenOut(m string, keyOff int16) asm.Instructions {
	del := mapDelete(m, keyOff)
	del[0] = del[0].WithSymbol("del")
	return append(del, epilogue("out")...)
}
