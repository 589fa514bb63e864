package trace

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tracelet/tracelet/internal/testenv"
	"github.com/tracelet/tracelet/kprobeevents"
	"golang.org/x/sys/unix"
)

// kprobeArgReg is the register of the second argument of a kernel
// function (do_sys_openat2(dfd, filename, how)).
func kprobeArgReg(t testing.TB) string {
	return strings.TrimPrefix(testenv.KernelABI(t).ArgRegs[1], "%")
}

// TestKprobeOpenat reads a known filename through a kprobe on
// do_sys_openat2, both through a register and through $arg2.
func TestKprobeOpenat(t *testing.T) {
	testenv.RequireKprobes(t)
	known := fmt.Sprintf("/tmp/tracelet-kprobe-%d-known", os.Getpid())
	w := startWaiting(t, "open", known)
	spec := testenv.KernelArgs(t, fmt.Sprintf("p:openat2 do_sys_openat2 path=+0(%%%s):ustring dfd=$arg1:s32 path2=+0($arg2):ustring", kprobeArgReg(t)))
	s := newSession(t, Options{Specs: []string{spec}, PID: w.cmd.Process.Pid})
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	w.run(t)
	found := 0
	for _, e := range drain(t, s) {
		if e.Fields["path"].String() == known {
			found++
			if got := e.Fields["path2"].String(); got != known {
				t.Errorf("$arg2 path = %q, want %q", got, known)
			}
			if got := e.Fields["dfd"].Int; got != -100 { // AT_FDCWD
				t.Errorf("dfd = %d, want AT_FDCWD", got)
			}
		}
	}
	if found != 1 {
		t.Errorf("%d events with path %s, want 1", found, known)
	}
}

// TestKprobeFileName reads a known file's name back through the %pD type
// (a struct file pointer printed as its dentry's name) on kernels whose
// README lists it (6.5+; Debian's 6.12 does), at security_file_open(file),
// which every open passes once f_path is set. Where the kernel lacks the
// type, the definition must be refused before anything is written.
func TestKprobeFileName(t *testing.T) {
	testenv.RequireKprobes(t)
	fs := mustFS(t)
	feat, err := fs.Features()
	if err != nil {
		t.Fatal(err)
	}
	known := filepath.Join(t.TempDir(), fmt.Sprintf("tracelet-pD-%d", os.Getpid()))
	if err := os.WriteFile(known, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	spec := testenv.KernelArgs(t, "p:fileopen security_file_open name=$arg1:%pD")
	if !feat.Types.Has(kprobeevents.TypeFile) {
		_, err := New(Options{Specs: []string{spec}, FS: fs})
		var pe *kprobeevents.Error
		if !errors.As(err, &pe) {
			t.Fatalf("this kernel has no %%pD type (README types: %v), yet %q gave %v", feat.Types, spec, err)
		}
		t.Logf("refused as the kernel would: %v", err)
		return
	}
	w := startWaiting(t, "open", known)
	s := newSession(t, Options{Specs: []string{spec}, PID: w.cmd.Process.Pid})
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	w.run(t)
	found := 0
	for _, e := range drain(t, s) {
		if e.Fields["name"].String() == filepath.Base(known) {
			found++
		}
	}
	if found != 1 {
		t.Errorf("%d events named %s, want 1", found, filepath.Base(known))
	}
}

// TestKretprobeFilter: a return probe with a kernel-side filter on its
// return value sees exactly the failed open (ENOENT) of a missing file.
func TestKretprobeFilter(t *testing.T) {
	testenv.RequireReturnProbes(t)
	missing := fmt.Sprintf("/tmp/tracelet-kretprobe-%d-missing", os.Getpid())
	w := startWaiting(t, "open", missing)
	s := newSession(t, Options{Specs: []string{"r:openret do_sys_openat2 ret=$retval:" + testenv.KernelABI(t).SLong()}, PID: w.cmd.Process.Pid, Filter: "ret == -2"})
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	w.run(t)
	evs := drain(t, s)
	if len(evs) != 1 || evs[0].Fields["ret"].Int != -2 {
		t.Errorf("events %+v, want one with ret=-2", evs)
	}
}

// kallsymsAddr is the address of a kernel text symbol, or fails the test.
func kallsymsAddr(t testing.TB, name string) uint64 {
	t.Helper()
	b, err := os.ReadFile("/proc/kallsyms")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && f[2] == name && (f[1] == "T" || f[1] == "t") {
			a, err := strconv.ParseUint(f[0], 16, 64)
			if err == nil && a != 0 {
				return a
			}
		}
	}
	t.Fatalf("no address for %s in /proc/kallsyms", name)
	return 0
}

// TestKprobeFetchargTypes reads known values back, exactly, through every
// fetcharg type a kprobe offers. openat(AT_FDCWD, NAME, O_CREAT|O_WRONLY,
// 0640) reaches do_sys_openat2(dfd, filename, how) with how->mode = 0640
// (build_open_how keeps the mode for O_CREAT), at offset 8 of struct
// open_how {u64 flags; u64 mode; u64 resolve}. Arrays are read from kernel
// memory: the kernel refuses TYPE[N] after a user dereference +uOFFS
// (finalize_fetch_insn: BAD_STRING), so the user-space name is read with
// ustring and a +u dereference of a char.
func TestKprobeFetchargTypes(t *testing.T) {
	testenv.RequireKprobes(t)
	known := fmt.Sprintf("/tmp/tracelet-types-%d", os.Getpid())
	fn := kallsymsAddr(t, "do_sys_openat2")
	const mode = 0o640 // 0x1a0
	args := []string{
		"u8=+8($arg3):u8", "u16=+8($arg3):u16", "u32=+8($arg3):u32", "u64=+8($arg3):u64",
		"s8=+8($arg3):s8", "s16=+8($arg3):s16", "s32=$arg1:s32", "s64=+8($arg3):s64",
		"x8=+8($arg3):x8", "x16=+8($arg3):x16", "x32=+8($arg3):x32", "x64=+8($arg3):x64",
		"bf=+8($arg3):b4@4/64", "ustr=+0($arg2):ustring", "arr=+8($arg3):u16[2]",
		"cm=$comm", "im=\\42", fmt.Sprintf("sym=\\%#x:symbol", fn),
	}
	want := map[string]string{
		"u8": "160", "u16": "416", "u32": "416", "u64": "416",
		"s8": "-96", "s16": "416", "s32": "-100", "s64": "416", // s32: AT_FDCWD (an int: s64 of its register would not sign-extend)
		"x8": "160", "x16": "416", "x32": "416", "x64": "416",
		"bf": "10", "ustr": known, "arr": "{416,0}", // mode's low u16s
		"im": "42", "sym": strconv.FormatUint(fn, 10),
	}
	// char (6.3) and symstr (6.2) are newer than the 6.1 guests: probe the
	// README rather than the version.
	if testenv.HasFetchargType(t, "char") {
		args = append(args, "ch=+u1($arg2):char")
		want["ch"] = "116" // 't'
	} else {
		t.Log("no char type on this kernel (Linux 6.3): reading the byte as u8")
		args = append(args, "ch=+u1($arg2):u8")
		want["ch"] = "116"
	}
	// symstr (6.2, backported to Debian's 6.1) goes last and alone: the
	// kernels tested store its __data_loc with the length of all the
	// dynamic space left and without its NUL (fetch_store_symstring does
	// not update the location word), so a string after it would run into
	// it; last, the record ends at its NUL.
	symstr := testenv.HasFetchargType(t, "symstr")
	if symstr {
		if testenv.KernelABI(t).X86() {
			// At entry $stack0 is the return address into the caller:
			// the same value as symbol and as symstr.
			args = append(args, "ra=$stack0:symbol", "rs=$stack0:symstr")
		} else {
			// sprint_symbol prints an address in no symbol as hex: the
			// register that holds the int AT_FDCWD, whose upper half
			// the ABI leaves unspecified (x86_64 zero-extends, arm64
			// sign-extends), read as x64 too.
			args = append(args, "d64=$arg1:x64", "ss=$arg1:symstr")
		}
	} else {
		t.Log("no symstr type on this kernel (Linux 6.2)")
	}
	spec := testenv.KernelArgs(t, "p:types do_sys_openat2 "+strings.Join(args, " "))
	s := newSession(t, Options{Specs: []string{spec}, PID: os.Getpid()})
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Openat(unix.AT_FDCWD, known, unix.O_CREAT|unix.O_WRONLY|unix.O_CLOEXEC, mode)
	if err != nil {
		t.Fatal(err)
	}
	unix.Close(fd)
	os.Remove(known)
	var got []event
	for _, e := range drain(t, s) {
		if e.Fields["ustr"].String() == known {
			got = append(got, e)
		}
	}
	if len(got) != 1 {
		t.Fatalf("%d events for %s, want 1", len(got), known)
	}
	f := got[0].Fields
	for name, w := range want {
		if g := f[name].String(); g != w {
			t.Errorf("%s = %q, want %q (%s)", name, g, w, spec)
		}
	}
	if symstr && !testenv.KernelABI(t).X86() {
		if got, want := f["ss"].String(), fmt.Sprintf("%#x", f["d64"].Uint); got != want {
			t.Errorf("symstr of $arg1 = %q, want %q", got, want)
		}
	}
	if symstr && testenv.KernelABI(t).X86() {
		ra := f["ra"].Uint
		names, off := kallsymsLookup(t, ra)
		rs := f["rs"].String()
		ok := false
		for _, n := range names {
			ok = ok || strings.HasPrefix(rs, fmt.Sprintf("%s+%#x/0x", n, off))
		}
		if !ok {
			t.Errorf("symstr of $stack0 = %q, want one of %v +%#x/SIZE (symbol %#x)", rs, names, off, ra)
		}
	}
	if g := f["cm"].String(); !strings.HasPrefix(filepath.Base(os.Args[0]), g) || g == "" {
		t.Errorf("$comm = %q, want a prefix of %q", g, filepath.Base(os.Args[0]))
	}
}

// TestCLIKprobe runs `tracelet trace` with a kprobe SPEC and a kretprobe
// SPEC on the command it starts: the kprobe reads the name the command
// opens, the kretprobe its -ENOENT, and every call that entered returned.
func TestCLIKprobe(t *testing.T) {
	testenv.RequireReturnProbes(t)
	bin := tracelet(t)
	missing := fmt.Sprintf("/tmp/tracelet-cli-kprobe-%d-missing", os.Getpid())
	cmd := exec.Command(bin, "trace", "-o", "json", "-c", testenv.TestProg(t)+" open "+missing,
		testenv.KernelArgs(t, "p:kopen do_sys_openat2 path=+0($arg2):ustring"), "r:kret do_sys_openat2 ret=$retval:"+testenv.KernelABI(t).SLong())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	var entries, returns, known, enoent int
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if bytes.HasPrefix(sc.Bytes(), []byte("errno ")) {
			continue // testprog's own report of its open, on the shared stdout
		}
		var obj struct {
			Event  string
			Fields map[string]any
		}
		if err := json.Unmarshal(sc.Bytes(), &obj); err != nil {
			t.Fatalf("%v: %s", err, sc.Text())
		}
		switch {
		case strings.HasSuffix(obj.Event, ":kopen"):
			entries++
			if obj.Fields["path"] == missing {
				known++
			}
		case strings.HasSuffix(obj.Event, ":kret"):
			returns++
			if obj.Fields["ret"] == float64(-2) {
				enoent++
			}
		default:
			t.Errorf("event %q: %s", obj.Event, sc.Text())
		}
	}
	if known != 1 || enoent < 1 || entries != returns {
		t.Errorf("%d entries (%d with path %s), %d returns (%d with -ENOENT): want exactly one open of the name, one ENOENT, as many returns as entries\n%s",
			entries, known, missing, returns, enoent, out)
	}
	if ev, lost := summary(t, stderr.String()); ev != uint64(entries+returns) || lost != 0 {
		t.Errorf("summary %d events, %d lost; printed %d", ev, lost, entries+returns)
	}
}

// TestCLIKprobeSignals: SIGINT and SIGTERM end a kprobe and kretprobe run
// cleanly and remove its owner group from kprobe_events.
func TestCLIKprobeSignals(t *testing.T) {
	testenv.RequireReturnProbes(t)
	testSignalCleanup(t, testenv.KernelArgs(t, "p:kopen do_sys_openat2 dfd=$arg1:s32"), "r:kret do_sys_openat2 ret=$retval:"+testenv.KernelABI(t).SLong())
}

// kallsymsLookup returns the names of the kernel text symbol that holds
// addr (aliases share an address) and addr's offset in it.
func kallsymsLookup(t testing.TB, addr uint64) (names []string, off uint64) {
	t.Helper()
	b, err := os.ReadFile("/proc/kallsyms")
	if err != nil {
		t.Fatal(err)
	}
	var best uint64
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 || (f[1] != "T" && f[1] != "t") || strings.HasPrefix(f[2], "__pfx_") {
			continue
		}
		a, err := strconv.ParseUint(f[0], 16, 64)
		if err != nil || a > addr || a < best {
			continue
		}
		if a > best {
			best, names = a, nil
		}
		names = append(names, f[2])
	}
	if best == 0 {
		t.Fatalf("no kernel symbol below %#x", addr)
	}
	return names, addr - best
}
