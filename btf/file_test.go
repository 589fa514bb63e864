package btf

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// buildELF wraps sections in a minimal 64-bit little-endian ELF object.
func buildELF(sections map[string][]byte) []byte {
	bo := binary.LittleEndian
	names := []byte{0}
	var body []byte
	type sec struct{ name, off, size uint32 }
	var secs []sec
	for name, data := range sections {
		secs = append(secs, sec{uint32(len(names)), uint32(64 + len(body)), uint32(len(data))})
		names = append(append(names, name...), 0)
		body = append(body, data...)
	}
	shstr := sec{uint32(len(names)), uint32(64 + len(body)), 0}
	names = append(names, ".shstrtab\x00"...)
	shstr.size = uint32(len(names))
	body = append(body, names...)
	for len(body)%8 != 0 {
		body = append(body, 0)
	}
	shoff := 64 + len(body)
	h := make([]byte, 64)
	copy(h, elf.ELFMAG)
	h[elf.EI_CLASS], h[elf.EI_DATA], h[elf.EI_VERSION] = byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT)
	bo.PutUint16(h[16:], uint16(elf.ET_REL))
	bo.PutUint16(h[18:], uint16(elf.EM_BPF))
	bo.PutUint32(h[20:], uint32(elf.EV_CURRENT))
	bo.PutUint64(h[40:], uint64(shoff))
	bo.PutUint16(h[52:], 64) // ehsize
	bo.PutUint16(h[58:], 64) // shentsize
	bo.PutUint16(h[60:], uint16(len(secs)+2))
	bo.PutUint16(h[62:], uint16(len(secs)+1)) // shstrndx
	out := append(h, body...)
	shdr := func(name uint32, typ elf.SectionType, off, size uint32) {
		s := make([]byte, 64)
		bo.PutUint32(s[0:], name)
		bo.PutUint32(s[4:], uint32(typ))
		bo.PutUint64(s[24:], uint64(off))
		bo.PutUint64(s[32:], uint64(size))
		bo.PutUint64(s[48:], 1)
		out = append(out, s...)
	}
	shdr(0, elf.SHT_NULL, 0, 0)
	for _, s := range secs {
		shdr(s.name, elf.SHT_PROGBITS, s.off, s.size)
	}
	shdr(shstr.name, elf.SHT_STRTAB, shstr.off, shstr.size)
	return out
}

func TestLoadSources(t *testing.T) {
	raw := buildMini(binary.LittleEndian).bytes()
	obj := buildELF(map[string][]byte{".text": {1, 2, 3}, SectionName: raw})
	dir := t.TempDir()
	rawPath, elfPath := filepath.Join(dir, "raw.btf"), filepath.Join(dir, "obj.o")
	if err := os.WriteFile(rawPath, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(elfPath, obj, 0o644); err != nil {
		t.Fatal(err)
	}
	load := map[string]func() (*Spec, error){
		"LoadRaw":       func() (*Spec, error) { return LoadRaw(bytes.NewReader(raw)) },
		"LoadELF":       func() (*Spec, error) { return LoadELF(bytes.NewReader(obj)) },
		"LoadFile raw":  func() (*Spec, error) { return LoadFile(rawPath) },
		"LoadFile ELF":  func() (*Spec, error) { return LoadFile(elfPath) },
		"LoadRaw+extra": func() (*Spec, error) { return LoadRaw(bytes.NewReader(append(bytes.Clone(raw), 0, 0, 0))) },
	}
	for name, f := range load {
		s, err := f()
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if id, err := s.TypeByName("task_struct", BTF_KIND_STRUCT); err != nil || s.TypeString(id) != "struct task_struct" {
			t.Errorf("%s: task_struct %d %v", name, id, err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("%s: close: %v", name, err)
		}
	}
	// What a pipe or a device would give: read, not mapped, and no further
	// than the header says.
	for _, data := range [][]byte{raw, append(bytes.Clone(raw), make([]byte, 1000)...), obj} {
		if err := os.WriteFile(rawPath, data, 0o644); err != nil {
			t.Fatal(err)
		}
		b, _, err := readFile(rawPath)
		if err != nil {
			t.Fatal(err)
		}
		want := min(len(data), len(raw))
		if bytes.Equal(data, obj) {
			want = len(obj)
		}
		if len(b) != want {
			t.Errorf("readFile read %d bytes, want %d", len(b), want)
		}
		if _, err := loadData(b, nil); err != nil {
			t.Error(err)
		}
	}
	if _, err := LoadRaw(bytes.NewReader(raw[:len(raw)-1])); err == nil {
		t.Error("LoadRaw of a truncated blob: no error")
	}
	if _, err := LoadELF(bytes.NewReader(buildELF(map[string][]byte{".text": {1}}))); !errors.Is(err, ErrNotFound) {
		t.Errorf("ELF without .BTF: %v", err)
	}
	if _, err := LoadFile(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	var fe *FormatError
	if _, err := LoadBytes([]byte("not btf at all, but long enough")); !errors.As(err, &fe) || err.Error() != "btf: bad magic 0x6e6f at offset 0x0" {
		t.Errorf("bad magic: %v", err)
	}
}

// TestKernelModules loads the split BTF of every module of the running
// kernel on top of vmlinux.
func TestKernelModules(t *testing.T) {
	base := runningKernel(t)
	mods, _ := filepath.Glob(filepath.Join(KernelDir, "*"))
	n := 0
	for _, path := range mods {
		if path == KernelPath {
			continue
		}
		n++
		s, err := LoadSplitFile(path, base)
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		if s.FirstID() != TypeID(base.NumTypes()) {
			t.Errorf("%s: first ID %d, want %d", path, s.FirstID(), base.NumTypes())
		}
		exercise(s, s.NumTypes())
		s.Close()
	}
	if n == 0 {
		t.Skip("no module of this kernel has BTF (split BTF is tested on hand-built blobs)")
	}
}
