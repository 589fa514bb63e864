package bpf

import (
	"bufio"
	"bytes"
	"debug/elf"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

var kver struct {
	once sync.Once
	code uint32
	err  error
}

// KernelVersionCode is the running kernel's LINUX_VERSION_CODE, read from
// the "Linux" ELF note of the vDSO. Kprobe programs must carry it before 5.0,
// and `uname -r` is not a safe source: Debian and Ubuntu report a version
// whose sublevel differs from the one the kernel was built with.
func KernelVersionCode() (uint32, error) {
	kver.once.Do(func() { kver.code, kver.err = vdsoVersion() })
	return kver.code, kver.err
}

func vdsoVersion() (uint32, error) {
	start, end, err := vdsoRange()
	if err != nil {
		return 0, err
	}
	mem, err := os.Open("/proc/self/mem")
	if err != nil {
		return 0, err
	}
	defer mem.Close()
	img := make([]byte, end-start)
	if _, err := mem.ReadAt(img, int64(start)); err != nil {
		return 0, fmt.Errorf("read vDSO: %w", err)
	}
	return noteVersion(img)
}

func vdsoRange() (uint64, uint64, error) {
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := s.Text()
		if !strings.HasSuffix(line, "[vdso]") {
			continue
		}
		lo, hi, _ := strings.Cut(strings.Fields(line)[0], "-")
		a, err1 := strconv.ParseUint(lo, 16, 64)
		b, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil || b <= a || b-a > 1<<20 {
			return 0, 0, fmt.Errorf("bad vDSO mapping %q", line)
		}
		return a, b, nil
	}
	return 0, 0, fmt.Errorf("no [vdso] in /proc/self/maps")
}

// noteVersion finds the note named "Linux" of type 0 in an ELF image: the
// kernel's vDSO linker script emits LINUX_VERSION_CODE there (ELFNOTE32
// "Linux", 0, LINUX_VERSION_CODE).
func noteVersion(img []byte) (uint32, error) {
	f, err := elf.NewFile(bytes.NewReader(img))
	if err != nil {
		return 0, fmt.Errorf("parse vDSO: %w", err)
	}
	for _, p := range f.Progs {
		if p.Type != elf.PT_NOTE {
			continue
		}
		data := make([]byte, p.Filesz)
		if _, err := p.ReadAt(data, 0); err != nil {
			continue
		}
		bo := f.ByteOrder
		for len(data) >= 12 {
			namesz, descsz, typ := bo.Uint32(data), bo.Uint32(data[4:]), bo.Uint32(data[8:])
			nameEnd := 12 + (uint64(namesz)+3)&^3
			descEnd := nameEnd + (uint64(descsz)+3)&^3
			if descEnd > uint64(len(data)) {
				break
			}
			name := strings.TrimRight(string(data[12:12+namesz]), "\x00")
			if name == "Linux" && typ == 0 && descsz == 4 {
				return bo.Uint32(data[nameEnd:]), nil
			}
			data = data[descEnd:]
		}
	}
	return 0, fmt.Errorf("vDSO has no Linux version note")
}

// unameRelease parses the first two numbers of uname -r, enough to choose
// between code paths (not to fill kern_version).
func unameRelease() (major, minor int) {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return 0, 0
	}
	rel := unix.ByteSliceToString(u.Release[:])
	fmt.Sscanf(rel, "%d.%d", &major, &minor)
	return major, minor
}
