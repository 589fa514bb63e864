package scriptrun

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tracelet/tracelet/asm"
	"github.com/tracelet/tracelet/bpf"
	"github.com/tracelet/tracelet/internal/testenv"
	"github.com/tracelet/tracelet/script"
)

// fentry, fexit and lsm run in the VM suite (the host's sandbox refuses
// their loads). fentry names do_unlinkat's arguments from BTF and reads
// the path through struct filename (name and uptr loaded directly, as
// PTR_TO_BTF_ID; dfd is AT_FDCWD); fexit's retval is the kretprobe's on
// the same call (ENOENT, -2): fexit's is typed int from BTF, where a
// kretprobe's is the whole register, cast here.
func TestRunFentryFexit(t *testing.T) {
	testenv.RequireKprobes(t)
	if err := bpf.HaveFentry(); err != nil {
		t.Skip(err)
	}
	src := `fentry:do_unlinkat /pid == WPID/ { printf("%s %d %d\n", str(args.name->name), args->dfd, args.name->uptr != 0); }
fexit:do_unlinkat /pid == WPID/ { @f[retval] = count(); }
kretprobe:do_unlinkat /pid == WPID/ { @k[(int32)retval] = count(); }`
	want := "Attaching 3 probes...\n/nonexistent-tracelet-unlink -100 1\n\n\n@f[-2]: 1\n@k[-2]: 1\n"
	if testenv.FtraceOwnsEntry(t) {
		// fexit beside a kretprobe is the point, but this kernel places
		// no kretprobe (riscv64's ftrace owns each function's entry).
		t.Log("this kernel places no kretprobes: fentry and fexit alone")
		src = src[:strings.LastIndex(src, "\nkretprobe:")]
		want = "Attaching 2 probes...\n/nonexistent-tracelet-unlink -100 1\n\n\n@f[-2]: 1\n"
	}
	out := runGated(t, testenv.TestProg(t), src, RunOptions{}, "unlink", "/nonexistent-tracelet-unlink")
	if out != want {
		t.Errorf("got %q\nwant %q", out, want)
	}
}

// An lsm probe observes (its program returns 0: allow): the opens of the
// workload's binary are counted through file_open's struct file: the
// exec's (the workload is exec'd once the probe is attached) and its own
// open(2).
func TestRunLSM(t *testing.T) {
	testenv.RequireRoot(t)
	if err := bpf.HaveLSM(); err != nil {
		t.Skip(err)
	}
	prog := testenv.TestProg(t)
	src := `lsm:file_open /pid == WPID && str(args->file->f_path.dentry->d_name.name) == "` + filepath.Base(prog) + `"/ { @opens = count(); }`
	out := runGated(t, prog, src, RunOptions{}, "open", prog)
	if want := "Attaching 1 probe...\n\n\n@opens: 2\n"; out != want {
		t.Errorf("got %q\nwant %q", out, want)
	}
}

// A wildcard fentry expands over the FUNCs of the kernel's BTF.
func TestRunFentryWildcard(t *testing.T) {
	testenv.RequireRoot(t)
	if err := bpf.HaveFentry(); err != nil {
		t.Skip(err)
	}
	out := runGated(t, testenv.TestProg(t), `fentry:do_unlink* /pid == WPID/ { @[probe] = count(); }`, RunOptions{}, "unlink", "/nonexistent-tracelet-unlink")
	if want := "Attaching 1 probe...\n\n\n@[fentry:do_unlinkat]: 1\n"; out != want {
		t.Errorf("got %q\nwant %q", out, want)
	}
}

// In fentry programs, members of pointer arguments are loaded directly
// (the verifier checks them against BTF), without a helper call.
func TestCompileFentryDirectLoads(t *testing.T) {
	amd64, _ := asm.ArchFor("amd64")
	prog, info, err := checkBTF(t, `fentry:do_unlinkat { @[args.name->refcnt.counter, str(args.name->name)] = count(); }`)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := script.Compile(prog, info, script.Options{Arch: amd64})
	if err != nil {
		t.Fatal(err)
	}
	got := obj.Programs[0].Insns.String()
	for _, want := range []string{"r3 = *(u64 *)(r6 +8)\n", "r7 = *(u32 *)(r3 +"} {
		if !strings.Contains(got, want) {
			t.Errorf("got\n%s\nwant it to hold %q", got, want)
		}
	}
	if strings.Count(got, "call bpf_probe_read_kernel#") != 0 {
		t.Errorf("got\n%s\nwant no bpf_probe_read_kernel", got)
	}
}

// The seed's example, the kprobe way: a struct cast of a register
// argument, and a member chain read with probe_read_kernel.
func TestRunKprobesStructSeed(t *testing.T) {
	testenv.RequireKprobes(t)
	if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err != nil {
		t.Skip("struct filename comes from the kernel's BTF, and this kernel has none:", err)
	}
	src := `kprobe:do_unlinkat /pid == WPID/ { printf("%s\n", str(((struct filename *)arg1)->name)); }`
	out := runGated(t, testenv.TestProg(t), src, RunOptions{}, "unlink", "/nonexistent-tracelet-seed")
	if want := "Attaching 1 probe...\n/nonexistent-tracelet-seed\n\n\n"; out != want {
		t.Errorf("got %q\nwant %q", out, want)
	}
}

// kprobe:tcp_connect reads the destination port through struct sock's
// embedded sock_common, for a connect to a known loopback port: the
// kernel keeps it in network byte order, and bswap() gives it back.
func TestRunKprobesTCPConnect(t *testing.T) {
	testenv.RequireKprobes(t)
	if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err != nil {
		t.Skip("struct sock comes from the kernel's BTF, and this kernel has none:", err)
	}
	port := testenv.LoopbackPort(t)
	src := `kprobe:tcp_connect /pid == WPID/ { $sk = (struct sock *)arg0; printf("%d %d\n", $sk->__sk_common.skc_dport, bswap($sk->__sk_common.skc_dport)); }`
	out := runGated(t, testenv.TestProg(t), src, RunOptions{}, "connect", strconv.Itoa(port))
	var be [2]byte
	binary.BigEndian.PutUint16(be[:], uint16(port))
	raw := binary.NativeEndian.Uint16(be[:]) // the __be16 as a native load sees it
	if want := fmt.Sprintf("Attaching 1 probe...\n%d %d\n\n\n", raw, port); out != want {
		t.Errorf("got %q\nwant %q", out, want)
	}
}

// fentry attaches to a module's function through the module's split BTF
// (its kernel BTF object's fd at load): brd, the RAM disk, loaded here,
// gets the workload's three O_DIRECT reads of 4 KiB at offsets 0, 4096
// and 8192, each as one bio whose sector and size are read through
// struct bio (vmlinux's type, from the module's prototype). Named as
// fentry:brd:FUNC or found among the loaded modules' BTF, as fentry:FUNC;
// a wildcard expands over the module's functions only.
func TestRunFentryModule(t *testing.T) {
	testenv.RequireRoot(t)
	if err := bpf.HaveFentry(); err != nil {
		t.Skip(err)
	}
	testenv.LoadModule(t, "brd", "rd_nr=1 rd_size=1024")
	if _, err := os.Stat("/sys/kernel/btf/brd"); err != nil {
		t.Skip("module brd has no BTF on this kernel:", err)
	}
	for _, c := range []struct{ src, want string }{
		{`fentry:brd:brd_submit_bio /pid == WPID/ { printf("%d %d\n", args.bio->bi_iter.bi_sector, args->bio->bi_iter.bi_size); }`,
			"Attaching 1 probe...\n0 4096\n8 4096\n16 4096\n\n\n"},
		{`fentry:brd_submit_bio /pid == WPID/ { @[probe] = count(); }`,
			"Attaching 1 probe...\n\n\n@[fentry:brd:brd_submit_bio]: 3\n"},
		{`fentry:brd:brd_submit_b* /pid == WPID/ { @[probe] = count(); }`,
			"Attaching 1 probe...\n\n\n@[fentry:brd:brd_submit_bio]: 3\n"},
	} {
		out := runGated(t, testenv.TestProg(t), c.src, RunOptions{}, "direct", "/dev/ram0", "3")
		if out != c.want {
			t.Errorf("%s: got %q\nwant %q", c.src, out, c.want)
		}
	}
	// A module that is not loaded, and a function it does not have.
	for src, want := range map[string]string{
		`fentry:no_such_module:f { }`:     "no loaded module no_such_module has BTF",
		`fentry:brd:no_such_function { }`: "no function no_such_function in the BTF of module brd",
	} {
		_, err := Prepare("-e", []byte(src), RunOptions{Out: io.Discard})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", src, err, want)
		}
	}
}
