package tracefs

import (
	"bufio"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tracelet/tracelet/internal/testenv"
	"golang.org/x/sys/unix"
)

// Child mode: the test binary re-executes itself to play a tracelet that
// creates an owner group and an instance and then waits to be killed.
const childEnv = "TRACELET_TRACEFS_CHILD"

func TestMain(m *testing.M) {
	if def := os.Getenv(childEnv); def != "" {
		os.Exit(childMain(def))
	}
	if os.Getenv(mountChildEnv) != "" {
		os.Exit(mountChildMain())
	}
	os.Exit(testenv.Main(m))
}

// mountChildEnv runs the test binary in a private mount namespace where
// tracefs is unmounted, to check that Find mounts it.
const mountChildEnv = "TRACELET_TRACEFS_MOUNT_CHILD"

func mountChildMain() int {
	// Detach every tracefs mount, in this namespace only.
	tr, _, err := readMountinfo("/proc/self/mountinfo")
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	// With mountChildEnv=all debugfs goes too: a mounted debugfs
	// automounts tracefs at its tracing/ again on the next lookup (since
	// 4.1), and Find rightly uses that instead of mounting its own.
	_, dbg, _ := readMountinfo("/proc/self/mountinfo")
	if os.Getenv(mountChildEnv) == "all" {
		tr = append(dbg, tr...)
	}
	for i := len(tr) - 1; i >= 0; i-- {
		if err := unix.Unmount(tr[i], unix.MNT_DETACH); err != nil {
			fmt.Println("error unmounting", tr[i], err)
			return 1
		}
	}
	if tr, dbg2, _ := readMountinfo("/proc/self/mountinfo"); len(tr) != 0 || os.Getenv(mountChildEnv) == "all" && len(dbg2) != 0 {
		fmt.Println("error: still mounted", tr, dbg2)
		return 1
	}
	fs, err := Find()
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	tr, _, _ = readMountinfo("/proc/self/mountinfo")
	fmt.Println("found", fs.Root(), "mounted", strings.Join(tr, ","))
	return 0
}

// childMain creates "p:tracelet_<ourpid>/<def>" in uprobe_events, an
// instance tracelet_<ourpid>_inst with that event enabled, says "ready" and
// blocks on stdin.
func childMain(def string) int {
	fs, err := Find()
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	g := OwnerGroup(os.Getpid())
	if err := fs.AddDynamicEvent(UprobeEvents, "p:"+g+"/"+def); err != nil {
		fmt.Println("error", err)
		return 1
	}
	in, err := fs.NewInstance(g + "_inst")
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	ev, _, _ := strings.Cut(def, " ")
	if err := in.Enable(g, ev); err != nil {
		fmt.Println("error", err)
		return 1
	}
	fmt.Println("ready")
	bufio.NewReader(os.Stdin).ReadString('\n')
	return 0
}

// startChild starts a child owner and waits until its group exists.
func startChild(t *testing.T, def string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+def)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if strings.TrimSpace(line) != "ready" {
		t.Fatalf("child: %q %v", line, err)
	}
	return cmd
}

func mustFS(t *testing.T) *FS {
	t.Helper()
	testenv.RequireRoot(t)
	fs, err := Find()
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

// target is the test workload and the file offset and address of
// testenv.CABITarget in it, computed with our raw ELF reader (not the
// package's debug/elf path).
type target struct {
	path       string
	off, vaddr uint64
	callerLo   uint64 // main.cabi6.abi0, which calls CABITarget
	callerHi   uint64
}

func testTarget(t *testing.T) target {
	t.Helper()
	p := testenv.TestProg(t)
	r := rawELF(t, p)
	s, ok := r.symbol(".symtab", testenv.CABITarget)
	if !ok {
		t.Fatalf("%s: no %s", p, testenv.CABITarget)
	}
	c, ok := r.symbol(".symtab", testenv.CABICaller)
	if !ok {
		t.Fatalf("%s: no main.cabi6.abi0", p)
	}
	return target{path: p, off: r.fileOffset(t, s.value), vaddr: s.value, callerLo: c.value, callerHi: c.value + c.size}
}

// runProg runs the workload and fails the test if it fails.
func runProg(t *testing.T, prog string, args ...string) {
	t.Helper()
	out, err := exec.Command(prog, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", prog, args, err, out)
	}
}

// appendRaw writes like another tool would (a shell's >>), bypassing our
// checks.
func appendRaw(t *testing.T, fs *FS, file, cmd string) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(fs.Root(), file), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(cmd); err != nil {
		t.Fatalf("writing %q to %s: %v", cmd, file, err)
	}
}

// foreignProbe defines a probe in a group that is not ours, as another
// tool would, and removes it at the end of the test.
func foreignProbe(t *testing.T, fs *FS, tg target) (group, event string) {
	t.Helper()
	group, event = fmt.Sprintf("othertool%d", os.Getpid()), "foreign"
	appendRaw(t, fs, UprobeEvents, archRegs(t, fmt.Sprintf("p:%s/%s %s:%#x x=%%di:u64", group, event, tg.path, tg.off)))
	t.Cleanup(func() {
		appendRaw(t, fs, UprobeEvents, "-:"+group+"/"+event)
	})
	return group, event
}

func hasEvent(t *testing.T, fs *FS, file, group, event string) bool {
	t.Helper()
	evs, err := fs.DynamicEvents(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		if e.Group == group && e.Event == event {
			return true
		}
	}
	return false
}

// uniq makes names unique across concurrent test runs.
func uniq(prefix string) string {
	return fmt.Sprintf("%s%d", prefix, time.Now().UnixNano()%1e9)
}

// rawELF is a minimal ELF reader (32- and 64-bit, either byte order: the
// VM suite's guests run i386, arm and mips binaries too) used to check the
// package's debug/elf-based results independently.
type rawELFFile struct {
	b     []byte
	is64  bool
	be    bool
	secs  map[string][2]uint64 // name -> offset, size
	links map[string]uint32
	shdrs []int       // offset of each section header
	loads [][3]uint64 // offset, vaddr, filesz
}

type rawSym struct{ value, size uint64 }

// u reads an n-byte unsigned integer at o in the file's byte order.
func (r *rawELFFile) u(o uint64, n int) uint64 {
	var v uint64
	for i := 0; i < n; i++ {
		k := n - 1 - i // most significant byte first
		if r.be {
			k = i
		}
		v = v<<8 | uint64(r.b[o+uint64(k)])
	}
	return v
}

// word reads an address-sized field: 8 bytes in ELF64, 4 in ELF32.
func (r *rawELFFile) word(o uint64) uint64 {
	if r.is64 {
		return r.u(o, 8)
	}
	return r.u(o, 4)
}

func rawELF(t *testing.T, p string) *rawELFFile {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 52 || string(b[:4]) != "\x7fELF" || b[4] < 1 || b[4] > 2 || b[5] < 1 || b[5] > 2 {
		t.Fatalf("%s: not ELF", p)
	}
	r := &rawELFFile{b: b, is64: b[4] == 2, be: b[5] == 2, secs: map[string][2]uint64{}, links: map[string]uint32{}}
	// Header, program and section header field offsets of ELF32 / ELF64.
	phoff, shoff, phentsize, phnum, shentsize, shnum, shstrndx := r.u(28, 4), r.u(32, 4), r.u(42, 2), r.u(44, 2), r.u(46, 2), r.u(48, 2), r.u(50, 2)
	pOff, pVaddr, pFilesz := uint64(4), uint64(8), uint64(16)
	sOff, sSize, sLink := uint64(16), uint64(20), uint64(24)
	if r.is64 {
		phoff, shoff, phentsize, phnum, shentsize, shnum, shstrndx = r.u(32, 8), r.u(40, 8), r.u(54, 2), r.u(56, 2), r.u(58, 2), r.u(60, 2), r.u(62, 2)
		pOff, pVaddr, pFilesz = 8, 16, 32
		sOff, sSize, sLink = 24, 32, 40
	}
	for i := uint64(0); i < phnum; i++ {
		o := phoff + i*phentsize
		if r.u(o, 4) == uint64(elf.PT_LOAD) {
			r.loads = append(r.loads, [3]uint64{r.word(o + pOff), r.word(o + pVaddr), r.word(o + pFilesz)})
		}
	}
	hdr := func(i uint64) uint64 { return shoff + i*shentsize }
	strOff := r.word(hdr(shstrndx) + sOff)
	for i := uint64(0); i < shnum; i++ {
		o := hdr(i)
		r.shdrs = append(r.shdrs, int(o))
		name := cstr(b[strOff+r.u(o, 4):])
		r.secs[name] = [2]uint64{r.word(o + sOff), r.word(o + sSize)}
		r.links[name] = uint32(r.u(o+sLink, 4))
	}
	return r
}

func cstr(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

func (r *rawELFFile) symbol(sec, name string) (rawSym, bool) {
	s, ok := r.secs[sec]
	if !ok {
		return rawSym{}, false
	}
	// Elf32_Sym: name, value, size, info...; Elf64_Sym: name, info,
	// other, shndx, value, size.
	entsize, valOff, sizeOff, strField := uint64(16), uint64(4), uint64(8), uint64(16)
	if r.is64 {
		entsize, valOff, sizeOff, strField = 24, 8, 16, 24
	}
	strOff := r.word(uint64(r.shdrs[r.links[sec]]) + strField)
	for o := s[0]; o+entsize <= s[0]+s[1]; o += entsize {
		n := cstr(r.b[strOff+r.u(o, 4):])
		if v := r.word(o + valOff); n == name && v != 0 {
			return rawSym{value: v, size: r.word(o + sizeOff)}, true
		}
	}
	return rawSym{}, false
}

func (r *rawELFFile) fileOffset(t *testing.T, addr uint64) uint64 {
	t.Helper()
	for _, l := range r.loads {
		if addr >= l[1] && addr < l[1]+l[2] {
			return l[0] + addr - l[1]
		}
	}
	t.Fatalf("address %#x in no PT_LOAD", addr)
	return 0
}
