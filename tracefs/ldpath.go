package tracefs

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/tracelet/tracelet/kprobeevents"
)

// Library lookup follows the dynamic loader: /etc/ld.so.cache first, then
// the directories of /etc/ld.so.conf (with its include lines), then the
// default and multiarch directories. Nothing here assumes one
// distribution's layout.

const (
	ldCachePath  = "/etc/ld.so.cache"
	ldConfPath   = "/etc/ld.so.conf"
	maxLdCache   = 16 << 20 // a real cache is tens of KiB
	maxLdConfLen = 1 << 20
)

// ldCacheEntries parses glibc's ld.so.cache, new format
// ("glibc-ld.so.cache1.1"), either alone or after the old "ld.so-1.7.0"
// table. It returns (soname, path) pairs.
func ldCacheEntries(b []byte) [][2]string {
	const newMagic = "glibc-ld.so.cache1.1"
	const oldMagic = "ld.so-1.7.0"
	base := 0
	if bytes.HasPrefix(b, []byte(oldMagic)) {
		if len(b) < 16 {
			return nil
		}
		n := int(binary.LittleEndian.Uint32(b[12:]))
		off := 16 + n*12
		if n < 0 || off > len(b) {
			return nil
		}
		base = (off + 7) &^ 7
	}
	if base+48 > len(b) || !bytes.HasPrefix(b[base:], []byte(newMagic)) {
		return nil
	}
	ne := binary.NativeEndian // ldconfig writes the host's byte order
	n := int(ne.Uint32(b[base+20:]))
	var out [][2]string
	// String offsets count from the new header; in combined caches written
	// by old ldconfig versions they may count from the file start, so both
	// are tried and an entry is kept only if its value is an absolute path.
	str := func(off uint32, from int) string {
		o := from + int(off)
		if o <= 0 || o >= len(b) {
			return ""
		}
		e := bytes.IndexByte(b[o:], 0)
		if e < 0 {
			return ""
		}
		return string(b[o : o+e])
	}
	for i := 0; i < n; i++ {
		p := base + 48 + i*24
		if p+24 > len(b) {
			break
		}
		for _, from := range []int{base, 0} {
			k, v := str(ne.Uint32(b[p+4:]), from), str(ne.Uint32(b[p+8:]), from)
			if k != "" && strings.HasPrefix(v, "/") {
				out = append(out, [2]string{k, v})
				break
			}
			if base == 0 {
				break
			}
		}
	}
	return out
}

// ldConfDirs reads ld.so.conf and the files its include lines name.
func ldConfDirs(path string, depth int, seen map[string]bool) []string {
	if depth > 8 || seen[path] {
		return nil
	}
	seen[path] = true
	b, err := readSmall(path, maxLdConfLen)
	if err != nil {
		return nil
	}
	var dirs []string
	for _, l := range strings.Split(string(b), "\n") {
		if i := strings.IndexByte(l, '#'); i >= 0 {
			l = l[:i]
		}
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		if pat, ok := strings.CutPrefix(l, "include"); ok && (pat == "" || pat[0] == ' ' || pat[0] == '\t') {
			pat = strings.TrimSpace(pat)
			if !filepath.IsAbs(pat) {
				pat = filepath.Join(filepath.Dir(path), pat)
			}
			files, _ := filepath.Glob(pat)
			for _, f := range files {
				dirs = append(dirs, ldConfDirs(f, depth+1, seen)...)
			}
			continue
		}
		if strings.HasPrefix(l, "hwcap") {
			continue
		}
		dirs = append(dirs, l)
	}
	return dirs
}

// multiarchTriplets are the Debian-style tuples of an architecture.
func multiarchTriplets(a kprobeevents.Arch) []string {
	switch a {
	case kprobeevents.ArchX86_64:
		return []string{"x86_64-linux-gnu"}
	case kprobeevents.ArchARM64:
		return []string{"aarch64-linux-gnu"}
	case kprobeevents.ArchI386:
		return []string{"i386-linux-gnu", "i686-linux-gnu"}
	case kprobeevents.ArchARM:
		return []string{"arm-linux-gnueabihf", "arm-linux-gnueabi"}
	case kprobeevents.ArchRISCV64:
		return []string{"riscv64-linux-gnu"}
	case kprobeevents.ArchPPC64:
		return []string{"powerpc64le-linux-gnu"}
	case kprobeevents.ArchMIPS:
		// One Arch for both byte orders; the binary's own first.
		if runtime.GOARCH == "mips" {
			return []string{"mips-linux-gnu", "mipsel-linux-gnu"}
		}
		return []string{"mipsel-linux-gnu", "mips-linux-gnu"}
	}
	return nil
}

// librarySearchDirs lists the directories the loader would search after its
// cache, de-duplicated, in order.
func librarySearchDirs() []string {
	var dirs []string
	dirs = append(dirs, ldConfDirs(ldConfPath, 0, map[string]bool{})...)
	for _, a := range userArches() {
		for _, t := range multiarchTriplets(a) {
			dirs = append(dirs, "/lib/"+t, "/usr/lib/"+t)
		}
	}
	dirs = append(dirs, "/lib64", "/usr/lib64", "/lib", "/usr/lib")
	seen := map[string]bool{}
	var out []string
	for _, d := range dirs {
		d = filepath.Clean(d)
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	return out
}

// libraryCandidates are the file names a user-given library name can mean:
// "libc.so.6" as is; "libc" as libc.so and libc.so.N; "c" as libc...
func libraryMatches(name, file string) bool {
	if file == name {
		return true
	}
	n := name
	if !strings.HasPrefix(n, "lib") && !strings.Contains(n, ".so") {
		n = "lib" + n
	}
	if !strings.Contains(n, ".so") {
		n += ".so"
	}
	if file == n {
		return true
	}
	rest, ok := strings.CutPrefix(file, n+".")
	if !ok || rest == "" {
		return false
	}
	for _, c := range rest {
		if (c < '0' || c > '9') && c != '.' {
			return false
		}
	}
	return true
}

// findLibrary resolves a library name through the loader's cache and
// search paths, keeping only ELF files that the running kernel executes,
// of its own machine type first: a 32-bit libc can sit next to the 64-bit
// one, and the processes a uprobe on "libc" means are the kernel's native
// ones, whatever GOARCH tracelet itself was built for (it loads no libc).
// A 32-bit userland on a 64-bit kernel has only the compat libc, which is
// then the answer.
func findLibrary(name string) (string, []string) {
	var tried []string
	cache, cacheErr := readSmall(ldCachePath, maxLdCache)
	dirs := librarySearchDirs()
	for i, m := range uprobeMachines() {
		if cacheErr == nil {
			if i == 0 {
				tried = append(tried, ldCachePath)
			}
			for _, e := range ldCacheEntries(cache) {
				if libraryMatches(name, e[0]) && isELF(e[1], m) {
					return e[1], tried
				}
			}
		}
		for _, d := range dirs {
			if i == 0 {
				tried = append(tried, d)
			}
			ents, err := os.ReadDir(d)
			if err != nil {
				continue
			}
			// Prefer the versioned soname (libc.so.6) over a linker script
			// (libc.so is text on glibc systems).
			var best string
			for _, e := range ents {
				if libraryMatches(name, e.Name()) {
					p := filepath.Join(d, e.Name())
					if isELF(p, m) && (best == "" || len(e.Name()) > len(filepath.Base(best))) {
						best = p
					}
				}
			}
			if best != "" {
				return best, tried
			}
		}
	}
	return "", tried
}

func isELF(path string, m elf.Machine) bool {
	f, err := elf.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	return f.Machine == m
}

// uprobeMachines are the ELF machines of userArches, in order, and
// GOARCH's last (s390x and loong64 have no kprobeevents table).
func uprobeMachines() []elf.Machine {
	var out []elf.Machine
	for _, a := range userArches() {
		if m := elfMachine(a); m != elf.EM_NONE {
			out = append(out, m)
		}
	}
	if m := goarchMachine(); m != elf.EM_NONE && !slices.Contains(out, m) {
		out = append(out, m)
	}
	return out
}

func goarchMachine() elf.Machine {
	switch runtime.GOARCH {
	case "s390x":
		return elf.EM_S390
	case "loong64":
		return elf.EM_LOONGARCH
	}
	a, _ := kprobeevents.ParseArch(runtime.GOARCH)
	return elfMachine(a)
}

func elfMachine(a kprobeevents.Arch) elf.Machine {
	switch a {
	case kprobeevents.ArchX86_64:
		return elf.EM_X86_64
	case kprobeevents.ArchARM64:
		return elf.EM_AARCH64
	case kprobeevents.ArchI386:
		return elf.EM_386
	case kprobeevents.ArchARM:
		return elf.EM_ARM
	case kprobeevents.ArchRISCV64:
		return elf.EM_RISCV
	case kprobeevents.ArchPPC64:
		return elf.EM_PPC64
	case kprobeevents.ArchMIPS:
		return elf.EM_MIPS
	}
	return elf.EM_NONE
}
