package testenv

// bpftool as the oracle of the disassembler: any test that loads a BPF
// program can ask for its xlated text to be compared with ours.
//
// This file makes testenv import asm; asm's own tests must therefore never
// import testenv (they need no kernel, so they have no reason to).

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/tracelet/tracelet/asm"
)

// CheckBpftool compares asm's disassembly of the program loaded at fd, as
// the kernel translated it (BPF_OBJ_GET_INFO_BY_FD), with what
// `bpftool prog dump xlated id N` prints, line by line, in a subtest named
// bpftool. The program must stay loaded until CheckBpftool returns.
//
// bpftool is a host tool: in the VM suite's guests the subtest is skipped,
// and on the host a missing bpftool fails under CI.
func CheckBpftool(t *testing.T, fd int) {
	t.Helper()
	t.Run("bpftool", func(t *testing.T) {
		bpftool := RequireHostTool(t, "bpftool", "apt-get install bpftool")
		id, tag, name, xlated, err := xlatedOf(fd)
		if err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(bpftool, "prog", "dump", "xlated", "id", strconv.Itoa(int(id))).CombinedOutput()
		if err != nil {
			t.Fatalf("bpftool (program %s, id %d): %v\n%s", name, id, err, out)
		}
		var b strings.Builder
		xlated.Format(&b, &asm.FormatOptions{CallName: kernelCallName, Legacy: bpftoolIsLegacy(bpftool)})
		want := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
		got := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
		t.Logf("program %s (id %d, tag %x): %d lines from bpftool", name, id, tag, len(want))
		for i := 0; i < max(len(want), len(got)); i++ {
			var w, g string
			if i < len(want) {
				w = want[i]
			}
			if i < len(got) {
				g = got[i]
			}
			if w != g {
				t.Errorf("program %s (id %d) line %d:\n bpftool: %q\n    ours: %q", name, id, i, w, g)
			}
		}
	})
}

// struct bpf_prog_info up to name, the part CheckBpftool reads. Pointers
// travel as __aligned_u64 on every architecture.
type bpfProgInfo struct {
	typ             uint32
	id              uint32
	tag             [8]byte
	jitedProgLen    uint32
	xlatedProgLen   uint32
	jitedProgInsns  uint64
	xlatedProgInsns uint64
	loadTime        uint64
	createdByUID    uint32
	nrMapIDs        uint32
	mapIDs          uint64
	name            [16]byte
}

type bpfObjInfoAttr struct {
	fd      uint32
	infoLen uint32
	info    uint64
}

const bpfObjGetInfoByFD = 15

// objInfo fills info. The kernel sees info and the buffers it points to as
// plain integers: pinning keeps them on the heap and in place.
func objInfo(fd int, info *bpfProgInfo, bufs ...*byte) error {
	var pin runtime.Pinner
	defer pin.Unpin()
	pin.Pin(info)
	for _, b := range bufs {
		pin.Pin(b)
	}
	attr := bpfObjInfoAttr{fd: uint32(fd), infoLen: uint32(unsafe.Sizeof(*info)), info: uint64(uintptr(unsafe.Pointer(info)))}
	_, _, errno := unix.Syscall(unix.SYS_BPF, bpfObjGetInfoByFD, uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr))
	if errno != 0 {
		return errno
	}
	return nil
}

// xlatedOf reads a loaded program's id, name and translated instructions.
func xlatedOf(fd int) (id uint32, tag [8]byte, name string, insns asm.Instructions, err error) {
	var first bpfProgInfo
	if err := objInfo(fd, &first); err != nil {
		return 0, tag, "", nil, fmt.Errorf("BPF_OBJ_GET_INFO_BY_FD of fd %d: %w", fd, err)
	}
	name = unix.ByteSliceToString(first.name[:])
	if first.xlatedProgLen == 0 {
		return 0, tag, "", nil, fmt.Errorf("program %s: the kernel reports no translated instructions", name)
	}
	buf := make([]byte, first.xlatedProgLen)
	second := bpfProgInfo{xlatedProgLen: first.xlatedProgLen, xlatedProgInsns: uint64(uintptr(unsafe.Pointer(&buf[0])))}
	if err := objInfo(fd, &second, &buf[0]); err != nil {
		return 0, tag, "", nil, fmt.Errorf("BPF_OBJ_GET_INFO_BY_FD of program %s: %w", name, err)
	}
	if second.xlatedProgLen == 0 || second.xlatedProgInsns == 0 {
		return 0, tag, "", nil, fmt.Errorf("program %s: the kernel withheld the translated program (kernel.kptr_restrict or bpf_dump_raw_ok)", name)
	}
	insns, err = asm.Decode(buf[:min(len(buf), int(second.xlatedProgLen))], binary.NativeEndian)
	if err != nil {
		return 0, tag, "", nil, fmt.Errorf("decode translated program %s: %w", name, err)
	}
	return first.id, first.tag, name, insns, nil
}

var kallsyms struct {
	once  sync.Once
	addrs []uint64
	names []string
	base  uint64
}

func loadKallsyms() {
	f, err := os.Open("/proc/kallsyms")
	if err != nil {
		return
	}
	defer f.Close()
	type sym struct {
		a uint64
		n string
	}
	var syms []sym
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) < 3 {
			continue
		}
		a, err := strconv.ParseUint(fields[0], 16, 64)
		if err != nil || a == 0 {
			continue
		}
		if fields[2] == "__bpf_call_base" {
			kallsyms.base = a
		}
		syms = append(syms, sym{a, fields[2]})
	}
	// bpftool keeps the first of equal addresses after a sort; a stable
	// sort on file order gives the same pick.
	sort.SliceStable(syms, func(i, j int) bool { return syms[i].a < syms[j].a })
	for _, s := range syms {
		kallsyms.addrs = append(kallsyms.addrs, s.a)
		kallsyms.names = append(kallsyms.names, s.n)
	}
}

// kernelCallName names a translated helper call as bpftool does: the
// kallsyms symbol at __bpf_call_base + imm, or the address.
func kernelCallName(ins asm.Instruction) string {
	kallsyms.once.Do(loadKallsyms)
	addr := kallsyms.base + uint64(int64(int32(ins.Constant)))
	i := sort.Search(len(kallsyms.addrs), func(i int) bool { return kallsyms.addrs[i] >= addr })
	if i < len(kallsyms.addrs) && kallsyms.addrs[i] == addr {
		return kallsyms.names[i]
	}
	return fmt.Sprintf("0x%x", addr)
}

var legacyBpftool sync.Map // path -> bool

// bpftoolIsLegacy reports whether bpftool's copy of disasm.c predates the
// forms of Linux 6.6-6.8: bpftool 7.1-7.3 (Debian bookworm ships 7.1).
func bpftoolIsLegacy(bpftool string) bool {
	if v, ok := legacyBpftool.Load(bpftool); ok {
		return v.(bool)
	}
	legacy := false
	if out, err := exec.Command(bpftool, "version").Output(); err == nil {
		var major, minor int
		if _, err := fmt.Sscanf(strings.TrimPrefix(strings.Fields(string(out) + " x x")[1], "v"), "%d.%d", &major, &minor); err == nil {
			legacy = major < 7 || major == 7 && minor < 4
		}
	}
	legacyBpftool.Store(bpftool, legacy)
	return legacy
}
