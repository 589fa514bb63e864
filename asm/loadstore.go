package asm

// LoadMem is dst = *(size *)(src + off), zero-extended.
func LoadMem(dst, src Register, off int16, size Size) Instruction {
	return Instruction{OpCode: OpCode(LdXClass) | OpCode(MemMode) | OpCode(size), Dst: dst, Src: src, Offset: off}
}

// LoadMemSX is dst = *(ssize *)(src + off), sign-extended (6.6). size is
// Byte, Half or Word.
func LoadMemSX(dst, src Register, off int16, size Size) Instruction {
	return Instruction{OpCode: OpCode(LdXClass) | OpCode(MemSXMode) | OpCode(size), Dst: dst, Src: src, Offset: off}
}

// StoreMem is *(size *)(dst + off) = src.
func StoreMem(dst Register, off int16, src Register, size Size) Instruction {
	return Instruction{OpCode: OpCode(StXClass) | OpCode(MemMode) | OpCode(size), Dst: dst, Src: src, Offset: off}
}

// StoreImm is *(size *)(dst + off) = imm.
func StoreImm(dst Register, off int16, imm int32, size Size) Instruction {
	return Instruction{OpCode: OpCode(StClass) | OpCode(MemMode) | OpCode(size), Dst: dst, Offset: off, Constant: int64(imm)}
}

// LoadImm64 is dst = value, the two-slot ld_imm64.
func LoadImm64(dst Register, value int64) Instruction {
	return Instruction{OpCode: OpCode(LdClass) | OpCode(ImmMode) | OpCode(DWord), Dst: dst, Constant: value}
}

// LoadMapPtr is dst = &map, the map named by name; package bpf replaces the
// name with the map's fd when it loads the program.
func LoadMapPtr(dst Register, name string) Instruction {
	return Instruction{OpCode: OpCode(LdClass) | OpCode(ImmMode) | OpCode(DWord), Dst: dst, Src: PseudoMapFD, Reference: name}
}

// LoadMapValue is dst = &map_value[0] + off for a single-element array map
// named name (5.2): global data without a lookup call.
func LoadMapValue(dst Register, name string, off uint32) Instruction {
	return Instruction{OpCode: OpCode(LdClass) | OpCode(ImmMode) | OpCode(DWord), Dst: dst, Src: PseudoMapValue,
		Constant: int64(uint64(off) << 32), Reference: name}
}

// BindMap returns ins, an unresolved LoadMapPtr or LoadMapValue, with its
// map reference replaced by fd.
func (ins Instruction) BindMap(fd int) Instruction {
	ins.Constant = int64(uint64(ins.Constant)&^0xffffffff | uint64(uint32(fd)))
	ins.Reference = ""
	return ins
}

// LoadAbs is R0 = ntoh(*(size *)(skb->data + imm)), the legacy packet load of
// socket filters. It implicitly uses R6 as the skb.
func LoadAbs(imm int32, size Size) Instruction {
	return Instruction{OpCode: OpCode(LdClass) | OpCode(AbsMode) | OpCode(size), Constant: int64(imm)}
}

// LoadInd is R0 = ntoh(*(size *)(skb->data + src + imm)).
func LoadInd(src Register, imm int32, size Size) Instruction {
	return Instruction{OpCode: OpCode(LdClass) | OpCode(IndMode) | OpCode(size), Src: src, Constant: int64(imm)}
}
