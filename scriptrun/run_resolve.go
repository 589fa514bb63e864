package scriptrun

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tracelet/tracelet/bpf"
	"github.com/tracelet/tracelet/script"
	"github.com/tracelet/tracelet/trace"
)

// maxStackDepth is the frames a stack map value holds (PERF_MAX_STACK_DEPTH,
// the kernel's default of /proc/sys/kernel/perf_event_max_stack).
const maxStackDepth = script.MaxStackDepth

// NewResolver returns a Resolver for the running system: kernel symbols
// from /proc/kallsyms and user symbols from /proc/PID/maps and the ELF
// symbols of the mapped files, both loaded on first use and bounded (see
// trace.Symbolizer), and stack frames from the script's stack map (nil
// when the script takes no stacks).
//
// Names are printed as bpftrace prints them: ksym and usym give the bare
// symbol, stacks "symbol+offset" with a decimal offset.
func NewResolver(stacks map[int]*bpf.Map) *script.Resolver {
	syms := trace.NewSymbolizer()
	r := &script.Resolver{
		Ksym:      func(addr uint64, offset bool) string { return bpftraceSym(syms.Kernel(addr), offset) },
		KsymBatch: syms.PrefetchKernel,
		Usym: func(pid uint32, addr uint64, offset bool) string {
			return bpftraceSym(syms.User(int(pid), addr), offset)
		},
	}
	// strftime() gets nsecs, CLOCK_MONOTONIC: the wall time is that plus
	// the difference of the clocks, read once (as bpftrace does at start).
	var mono unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &mono); err == nil {
		base := time.Now().Add(-time.Duration(mono.Nano()))
		r.MonoToWall = func(ns uint64) time.Time { return base.Add(time.Duration(ns)) }
	}
	r.User = passwdUser("/etc/passwd")
	r.Cat = catFile
	r.System = runSystem
	if len(stacks) > 0 {
		key := make([]byte, 4)
		buf := make([]byte, 8*maxStackDepth)
		r.Stack = func(id int64, depth int) []uint64 {
			if depth == 0 {
				depth = maxStackDepth
			}
			m := stacks[depth]
			if m == nil {
				return nil
			}
			val := buf[:8*depth]
			copy(key, bpf.Uint32Key(uint32(id)))
			if err := m.Lookup(key, val); err != nil {
				return nil
			}
			frames := make([]uint64, 0, 16)
			for i := 0; i+8 <= len(val); i += 8 {
				a := script.NativeU64(val[i:])
				if a == 0 {
					break
				}
				frames = append(frames, a)
			}
			return frames
		}
	}
	return r
}

// bpftraceSym turns the Symbolizer's "name+0xhex" into bpftrace's "name"
// or "name+decimal".
func bpftraceSym(s string, offset bool) string {
	i := strings.LastIndex(s, "+0x")
	if i < 0 {
		return s
	}
	if !offset {
		return s[:i]
	}
	off, err := strconv.ParseUint(s[i+3:], 16, 64)
	if err != nil {
		return s
	}
	return s[:i] + "+" + strconv.FormatUint(off, 10)
}

// kernelSymbol returns the address of a kernel symbol of any type (kaddr
// names data, such as avenrun) from /proc/kallsyms. The first match wins,
// as bpftrace takes it.
func kernelSymbol(name string) (uint64, error) {
	f, err := os.Open("/proc/kallsyms")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	want := []byte(name)
	for sc.Scan() {
		// "ffffffff81000000 T _stext\t[module]"
		fields := bytes.Fields(sc.Bytes())
		if len(fields) < 3 || !bytes.Equal(fields[2], want) {
			continue
		}
		addr, err := strconv.ParseUint(string(fields[0]), 16, 64)
		if err != nil {
			return 0, err
		}
		if addr == 0 {
			return 0, fmt.Errorf("/proc/kallsyms hides addresses (kernel.kptr_restrict; run as root)")
		}
		return addr, nil
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("no such kernel symbol in /proc/kallsyms")
}

// passwdUser names uids from a passwd file, read once on first use, as
// bpftrace's username does (a uid the file lacks prints as its number).
func passwdUser(file string) func(uid uint32) string {
	var once sync.Once
	var names map[uint32]string
	return func(uid uint32) string {
		once.Do(func() {
			names = map[uint32]string{}
			b, err := os.ReadFile(file)
			if err != nil {
				return
			}
			for _, line := range strings.Split(string(b), "\n") {
				// name:password:uid:gid:gecos:home:shell
				f := strings.Split(line, ":")
				if len(f) < 3 {
					continue
				}
				if n, err := strconv.ParseUint(f[2], 10, 32); err == nil {
					if _, dup := names[uint32(n)]; !dup {
						names[uint32(n)] = f[0]
					}
				}
			}
		})
		return names[uid]
	}
}

// catMax bounds what cat() prints of a file, as bpftrace's
// BPFTRACE_CAT_BYTES_MAX (10k) does.
const catMax = 10 << 10

// catFile is cat()'s text: the file's first catMax bytes. An error goes to
// stderr, as bpftrace's does.
func catFile(path string) string {
	f, err := os.Open(path)
	if err != nil {
		// strerror's text, as bpftrace prints it: Go's is the same
		// but for the capital.
		msg := err.Error()
		var errno unix.Errno
		if errors.As(err, &errno) {
			msg = errno.Error()
			msg = strings.ToUpper(msg[:1]) + msg[1:]
		}
		fmt.Fprintf(os.Stderr, "ERROR: failed to open file '%s': %s\n", path, msg)
		return ""
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, catMax))
	if err != nil {
		fmt.Fprintf(os.Stderr, "ERROR: failed to read file '%s': %v\n", path, err)
	}
	return string(b)
}

// systemMax bounds what system() prints of a command's output.
const systemMax = 1 << 20

// runSystem is system()'s text: what the command, run by /bin/sh as
// bpftrace runs it (popen), writes to its stdout, up to systemMax bytes.
// The run waits for it, as bpftrace does; its stderr is the run's.
func runSystem(command string) string {
	cmd := exec.Command("/bin/sh", "-c", command)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		fmt.Fprintf(os.Stderr, "ERROR: system(%q): %v\n", command, err)
		return ""
	}
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "ERROR: system(%q): %v\n", command, err)
		return ""
	}
	b, _ := io.ReadAll(io.LimitReader(out, systemMax))
	io.Copy(io.Discard, out) // past the bound: read, so that it ends
	cmd.Wait()               // its exit status is its own, as with popen
	return string(b)
}

// cgroupID is cgroupid()'s value: the cgroup's id, which is the 8 bytes of
// the kernfs file handle of its directory (as bpftrace reads it) and what
// bpf_get_current_cgroup_id returns for a task in it.
func cgroupID(path string) (uint64, error) {
	h, _, err := unix.NameToHandleAt(unix.AT_FDCWD, path, 0)
	if err != nil {
		return 0, err
	}
	b := h.Bytes()
	if len(b) != 8 {
		return 0, fmt.Errorf("%s: a file handle of %d bytes, not a cgroup v2 directory's 8", path, len(b))
	}
	return script.NativeU64(b), nil
}
