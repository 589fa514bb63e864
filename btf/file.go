package btf

import (
	"bytes"
	"debug/elf"
	"fmt"
	"io"
	"os"
)

// Where a running kernel publishes its BTF: vmlinux, and one split blob per
// module with BTF, named after the module.
const (
	KernelDir  = "/sys/kernel/btf"
	KernelPath = KernelDir + "/vmlinux"
)

// SectionName is the ELF section that holds BTF.
const SectionName = ".BTF"

// LoadELF reads the .BTF section of the ELF file in r, such as a vmlinux
// built with CONFIG_DEBUG_INFO_BTF or an object file from clang -g.
func LoadELF(r io.ReaderAt) (*Spec, error) {
	b, err := elfSection(r, nil)
	if err != nil {
		return nil, err
	}
	return load(b, nil)
}

// elfSection returns the bytes of the .BTF section, a slice of whole when
// the caller has the file in memory and the section is stored plainly.
func elfSection(r io.ReaderAt, whole []byte) ([]byte, error) {
	f, err := elf.NewFile(r)
	if err != nil {
		return nil, fmt.Errorf("btf: %w", err)
	}
	sec := f.Section(SectionName)
	if sec == nil || sec.Type == elf.SHT_NOBITS {
		return nil, fmt.Errorf("btf: ELF file without a %s section: %w", SectionName, ErrNotFound)
	}
	if whole != nil && sec.Flags&elf.SHF_COMPRESSED == 0 && sec.Offset <= uint64(len(whole)) && sec.Size <= uint64(len(whole))-sec.Offset {
		return whole[sec.Offset : sec.Offset+sec.Size], nil
	}
	b, err := sec.Data()
	if err != nil {
		return nil, fmt.Errorf("btf: reading %s: %w", SectionName, err)
	}
	return b, nil
}

// LoadFile loads the BTF in the file at path: raw BTF, such as
// /sys/kernel/btf/vmlinux or a BTFHub file, or an ELF file with a .BTF
// section, told apart by their magic. Where it can, it maps the file
// instead of reading it; Close releases the mapping.
func LoadFile(path string) (*Spec, error) {
	return loadFile(path, nil)
}

// LoadSplitFile loads split BTF, such as /sys/kernel/btf/MODULE, from the
// file at path on top of base. The file may also be an ELF (a module's .ko).
func LoadSplitFile(path string, base *Spec) (*Spec, error) {
	if base == nil {
		return nil, fmt.Errorf("btf: %s: split BTF without a base", path)
	}
	return loadFile(path, base)
}

func loadFile(path string, base *Spec) (*Spec, error) {
	data, closer, err := mapFile(path)
	if err != nil {
		return nil, err
	}
	s, err := loadData(data, base)
	if err != nil {
		if closer != nil {
			closer.Close()
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	s.closer = closer
	return s, nil
}

func loadData(data []byte, base *Spec) (*Spec, error) {
	if bytes.HasPrefix(data, []byte(elf.ELFMAG)) {
		b, err := elfSection(bytes.NewReader(data), data)
		if err != nil {
			return nil, err
		}
		data = b
	}
	return load(data, base)
}

// maxStream bounds what is read from a file that is not raw BTF and whose
// size the file system does not know, such as a pipe.
const maxStream = 1 << 30

// readFile is mapFile's fallback: the whole file in one buffer. Raw BTF is
// read as far as its header says, so that a pipe or a device cannot make
// the buffer grow without end.
func readFile(path string) ([]byte, io.Closer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	limit := int64(maxStream)
	var hb [headerLen]byte
	n, err := io.ReadFull(f, hb[:])
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return nil, nil, err
	}
	if h, _, err := parseHeader(hb[:n]); err == nil {
		limit = int64(h.HdrLen) + int64(max(uint64(h.TypeOff)+uint64(h.TypeLen), uint64(h.StrOff)+uint64(h.StrLen)))
	}
	var buf bytes.Buffer
	buf.Write(hb[:n])
	if _, err := buf.ReadFrom(io.LimitReader(f, max(limit-int64(n), 0))); err != nil {
		return nil, nil, err
	}
	return buf.Bytes(), nil, nil
}
