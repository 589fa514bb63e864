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
	c, ok := r.symbol(".symtab", "main.cabi6.abi0")
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
	appendRaw(t, fs, UprobeEvents, archRegs(fmt.Sprintf("p:%s/%s %s:%#x x=%%di:u64", group, event, tg.path, tg.off)))
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

// rawELF is a minimal ELF64 little-endian reader used to check the package's
// debug/elf-based results independently.
type rawELFFile struct {
	b     []byte
	secs  map[string][2]uint64 // name -> offset, size
	links map[string]uint32
	shdrs [][]byte
	loads [][3]uint64 // offset, vaddr, filesz
}

type rawSym struct{ value, size uint64 }

func rawELF(t *testing.T, p string) *rawELFFile {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 64 || string(b[:4]) != "\x7fELF" || b[4] != 2 || b[5] != 1 {
		t.Fatalf("%s: not ELF64 LE", p)
	}
	le := func(o, n int) uint64 {
		var v uint64
		for i := n - 1; i >= 0; i-- {
			v = v<<8 | uint64(b[o+i])
		}
		return v
	}
	r := &rawELFFile{b: b, secs: map[string][2]uint64{}, links: map[string]uint32{}}
	phoff, phentsize, phnum := le(32, 8), le(54, 2), le(56, 2)
	for i := uint64(0); i < phnum; i++ {
		o := int(phoff + i*phentsize)
		if le(o, 4) == uint64(elf.PT_LOAD) {
			r.loads = append(r.loads, [3]uint64{le(o+8, 8), le(o+16, 8), le(o+32, 8)})
		}
	}
	shoff, shentsize, shnum, shstrndx := le(40, 8), le(58, 2), le(60, 2), le(62, 2)
	hdr := func(i uint64) int { return int(shoff + i*shentsize) }
	strOff := le(hdr(shstrndx)+24, 8)
	for i := uint64(0); i < shnum; i++ {
		o := hdr(i)
		r.shdrs = append(r.shdrs, b[o:o+64])
		name := cstr(b[strOff+le(o, 4):])
		r.secs[name] = [2]uint64{le(o+24, 8), le(o+32, 8)}
		r.links[name] = uint32(le(o+40, 4))
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
	strs := r.shdrs[r.links[sec]]
	strOff := uint64(strs[24]) | uint64(strs[25])<<8 | uint64(strs[26])<<16 | uint64(strs[27])<<24
	le := func(o uint64, n int) uint64 {
		var v uint64
		for i := n - 1; i >= 0; i-- {
			v = v<<8 | uint64(r.b[o+uint64(i)])
		}
		return v
	}
	for o := s[0]; o+24 <= s[0]+s[1]; o += 24 {
		n := cstr(r.b[strOff+le(o, 4):])
		if n == name && le(o+8, 8) != 0 {
			return rawSym{value: le(o+8, 8), size: le(o+16, 8)}, true
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
