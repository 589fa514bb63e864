package usdt

import (
	"debug/elf"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/tracelet/tracelet/kprobeevents"
)

// maxArgs is sys/sdt.h's limit (_SDT_ARGS up to 12); more means a note we
// do not understand.
const maxArgs = 12

// symbolResolver gives the x86 sym(%reg) operands an address and a file
// offset; nil when the file has no symbols.
type symbolResolver struct {
	lookup func(string) (elf.Symbol, bool)
	bias   uint64 // runtime address - file offset in the probe's segment, before load
	pie    bool
}

// ParseArgs parses a probe's argument string in the assembler syntax of
// arch. Operands that name a symbol (x86 "sym(%rip)") need the file's
// symbol table: use Probe.ParseArgs for them.
func ParseArgs(arch kprobeevents.Arch, spec string) ([]Arg, error) {
	return parseArgs(arch, spec, nil)
}

// ParseArgs parses the probe's argument string for arch, resolving symbol
// operands through the file the probe was read from.
func (p *Probe) ParseArgs(arch kprobeevents.Arch) ([]Arg, error) {
	if p.Err != nil {
		return nil, p.Err
	}
	var sr *symbolResolver
	if p.symbols != nil {
		sr = &symbolResolver{lookup: p.symbols, bias: p.bias, pie: p.pie}
	}
	args, err := parseArgs(arch, p.Args, sr)
	if err != nil {
		return nil, &Error{Probe: p.String(), Err: err}
	}
	return args, nil
}

func parseArgs(arch kprobeevents.Arch, spec string, sr *symbolResolver) ([]Arg, error) {
	fields, err := splitArgs(spec)
	if err != nil {
		return nil, &ArgError{Arch: arch.String(), Spec: spec, Msg: err.Error()}
	}
	if len(fields) > maxArgs {
		return nil, &ArgError{Arch: arch.String(), Spec: spec, Msg: fmt.Sprintf("%d arguments, SDT allows at most %d", len(fields), maxArgs)}
	}
	var args []Arg
	for i, f := range fields {
		a, err := parseArg(arch, f, sr)
		if err != nil {
			return nil, &ArgError{Arch: arch.String(), N: i + 1, Spec: f, Msg: err.Error()}
		}
		args = append(args, a)
	}
	return args, nil
}

// ParseArg parses one SIZE@OPERAND argument.
func ParseArg(arch kprobeevents.Arch, spec string) (Arg, error) {
	a, err := parseArg(arch, spec, nil)
	if err != nil {
		return Arg{}, &ArgError{Arch: arch.String(), N: 1, Spec: spec, Msg: err.Error()}
	}
	return a, nil
}

// splitArgs splits on blanks outside brackets: arm64 writes "8@[sp, 16]".
func splitArgs(s string) ([]string, error) {
	var out []string
	depth, start := 0, -1
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '[' || c == '(':
			depth++
		case c == ']' || c == ')':
			depth--
			if depth < 0 {
				return nil, fmt.Errorf("unbalanced %q at byte %d", c, i)
			}
		case c == ' ' || c == '\t':
			if depth == 0 {
				if start >= 0 {
					out = append(out, s[start:i])
					start = -1
				}
				continue
			}
		}
		if start < 0 {
			start = i
		}
	}
	if depth != 0 {
		return nil, errors.New("unclosed bracket")
	}
	if start >= 0 {
		out = append(out, s[start:])
	}
	return out, nil
}

func parseArg(arch kprobeevents.Arch, spec string, sr *symbolResolver) (Arg, error) {
	a := Arg{Spec: spec}
	op := spec
	if at := strings.IndexByte(spec, '@'); at >= 0 {
		n, err := strconv.Atoi(spec[:at])
		if err != nil {
			return a, fmt.Errorf("size %q is not a number", spec[:at])
		}
		if n < 0 {
			a.Signed, n = true, -n
		}
		switch n {
		case 1, 2, 4, 8:
		default:
			return a, fmt.Errorf("size %d: a fetch is 1, 2, 4 or 8 bytes", n)
		}
		a.Size, op = n, spec[at+1:]
	} else {
		// Version 1 notes have bare operands: a long, unsigned.
		a.Size = arch.PtrBits() / 8
	}
	if op == "" {
		return a, errors.New("no operand after the size")
	}
	var err error
	switch arch {
	case kprobeevents.ArchX86_64, kprobeevents.ArchI386:
		err = parseX86(arch, op, &a, sr)
	case kprobeevents.ArchARM64:
		err = parseARM64(op, &a)
	case kprobeevents.ArchARM:
		err = parseARM(op, &a)
	case kprobeevents.ArchRISCV64:
		err = parseRISCV(op, &a)
	default:
		err = fmt.Errorf("USDT arguments of %s are not supported (x86_64, i386, arm64, arm, riscv64 are)", arch)
	}
	if err == nil && a.Kind == KindConstant {
		err = fitConstant(arch, &a)
	}
	return a, err
}

// fitConstant makes a constant the value a fetch of Size bytes would give
// (gas prints the operand as written, so "1@$300" reaches us), and keeps it
// to what the kernel's \IMM takes: an unsigned long, read with kstrtoul or,
// after a '-', kstrtol, so a 32-bit kernel has no 64-bit constants.
func fitConstant(arch kprobeevents.Arch, a *Arg) error {
	if shift := 64 - 8*a.Size; shift > 0 {
		if a.Signed {
			a.Value = a.Value << shift >> shift
		} else {
			a.Value = int64(uint64(a.Value) << shift >> shift)
		}
	}
	if arch.PtrBits() == 32 && (a.Value < math.MinInt32 || a.Value > math.MaxUint32) {
		return fmt.Errorf("constant %d does not fit the 32-bit immediate of %s", a.Value, arch)
	}
	return nil
}

// parseNum reads a C-style integer as the assemblers print them: decimal,
// 0x hex, a leading '-'. Values above MaxInt64 wrap, as gas does.
func parseNum(s string) (int64, error) {
	if s == "" || strings.ContainsAny(s, "_ ") {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	neg := false
	body := s
	if body[0] == '-' || body[0] == '+' {
		neg, body = body[0] == '-', body[1:]
	}
	if body == "" || body[0] == '-' || body[0] == '+' {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	u, err := strconv.ParseUint(body, 0, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	v := int64(u)
	if neg {
		v = -v
	}
	return v, nil
}

// checkOffset keeps offsets to what "+OFF(%REG)" spells and a BPF add can
// take; real notes carry frame offsets of a few KiB.
func checkOffset(off int64) error {
	if off < math.MinInt32 || off > math.MaxInt32 {
		return fmt.Errorf("offset %d does not fit in 32 bits", off)
	}
	return nil
}

func setMemory(a *Arg, reg string, off int64) error {
	if err := checkOffset(off); err != nil {
		return err
	}
	a.Kind, a.Reg, a.Offset = KindMemory, reg, off
	return nil
}
