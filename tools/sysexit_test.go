package tools

import (
	"os"
	"regexp"
	"runtime"
	"strconv"
	"testing"

	"github.com/tracelet/tracelet/internal/testenv"
	"github.com/tracelet/tracelet/tracefs"
)

// The o32 numbers agree with the table generated from x/sys/unix (mipsle's;
// big-endian mips has the same o32 numbers): the one compiled in on
// mipsle, whose guest has no sources, else its source file.
func TestO32Syscalls(t *testing.T) {
	table := map[string]int{}
	if runtime.GOARCH == "mipsle" {
		for n, name := range syscallNames {
			table[name] = n
		}
	} else {
		b, err := os.ReadFile("sysnames_mipsle.go")
		if err != nil && testenv.InVM() {
			t.Skip("the VM-suite guest has no sources: this check runs in the host suite and the mipsel guest")
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range regexp.MustCompile(`(?m)^\t(\d+): +"(\w+)",$`).FindAllStringSubmatch(string(b), -1) {
			n, _ := strconv.Atoi(m[1])
			table[m[2]] = n
		}
	}
	for _, sc := range []string{"open", "openat", "openat2", "execve", "execveat", "kill", "tkill", "tgkill"} {
		if got, want := o32Syscall(sc), table[sc]; got != want || want == 0 {
			t.Errorf("o32Syscall(%q) = %d, table says %d", sc, got, want)
		}
	}
	if n := o32Syscall("nosuch"); n != -1 {
		t.Errorf("o32Syscall(nosuch) = %d, want -1", n)
	}
}

// On raw_syscalls:sys_exit the filter and the program pick SC by its id.
func TestSysExitRaw(t *testing.T) {
	x := sysExit{"raw_syscalls", "sys_exit", 4288}
	for filter, want := range map[string]string{"": "id == 4288", "ret < 0": "id == 4288 && ret < 0"} {
		if got := x.tp(filter); got != (tpEvent{"raw_syscalls", "sys_exit", want}) {
			t.Errorf("tp(%q) = %+v, want filter %q", filter, got, want)
		}
	}
	own := sysExit{"syscalls", "sys_exit_openat", -1}
	if got := own.tp("ret < 0"); got != (tpEvent{"syscalls", "sys_exit_openat", "ret < 0"}) {
		t.Errorf("own event: %+v", got)
	}
	// raw_syscalls:sys_exit as a 32-bit kernel lays it out.
	f := &tracefs.Format{Fields: []tracefs.Field{{Name: "id", Offset: 8, Size: 4, Signed: true}, {Name: "ret", Offset: 12, Size: 4, Signed: true}}}
	g, err := x.guard(f)
	if err != nil {
		t.Fatal(err)
	}
	want := "   0: (61) r1 = *(u32 *)(r6 +8)\n   1: (67) r1 <<= 32\n   2: (c7) r1 s>>= 32\n   3: (55) if r1 != 0x10c0 goto pc+0\n"
	if g.String() != want || g[3].Reference != "out" {
		t.Errorf("guard:\n%vwant\n%s(the jump to out)", g, want)
	}
	if g, err := own.guard(f); g != nil || err != nil {
		t.Errorf("own event's guard: %v, %v", g, err)
	}
	if _, err := x.guard(&tracefs.Format{}); err == nil {
		t.Error("a format without id: no error")
	}
}
