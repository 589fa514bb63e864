// Command fixturerec runs inside a VM-suite guest (tracelet.mode=fixtures)
// and records what the guest kernel says about tracing into files that the
// host stores under testdata/kernels/<uname -r>/: the tracefs README, the
// formats of syscall, sched and signal events, the formats of a kprobe and a
// kretprobe carrying every fetcharg type the kernel accepts, kprobe_events,
// uprobe_events and dynamic_events as the kernel prints definitions back,
// kprobe_profile, a trace sample, and the error_log entry of each malformed
// definition.
//
// Files go to the console as base64 frames that the host decodes
// (internal/vmtest/console.go); a copy stays in -out for debugging.
package main

import (
	"crypto/sha256"
	"debug/elf"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"

	"io"

	"github.com/tracelet/tracelet/internal/testenv"
	"github.com/tracelet/tracelet/tracefs"
)

type recorder struct {
	fs    *tracefs.FS
	abi   testenv.ABI
	group string
	out   string
	files map[string][]byte
	notes []string
}

func main() {
	out := flag.String("out", "/var/tracelet/fixtures", "directory for a local copy of the files")
	tables := flag.String("tables", "/src/testdata/kprobeevents", "directory of the grammar's error tables (errors*.txt)")
	flag.Parse()
	fs, err := tracefs.Find()
	if err != nil {
		fatal(err)
	}
	abi, err := testenv.ABIFor(runtime.GOARCH)
	if err != nil {
		fatal(err)
	}
	r := &recorder{fs: fs, abi: abi, group: fmt.Sprintf("tracelet_%d", os.Getpid()), out: *out, files: map[string][]byte{}}
	defer r.removeGroup()
	err = r.record(*tables)
	if cerr := r.removeGroup(); cerr != nil && err == nil {
		err = cerr
	}
	r.add("NOTES.txt", []byte(strings.Join(r.notes, "\n")+"\n"))
	if werr := r.emit(); werr != nil && err == nil {
		err = werr
	}
	if err != nil {
		fatal(err)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "fixturerec:", err)
	os.Exit(1)
}

func (r *recorder) add(name string, data []byte) { r.files[name] = data }

// step reports progress on stderr (the guest console), so a recording
// that hangs shows where.
func step(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "fixturerec: "+format+"\n", args...)
}

func (r *recorder) note(format string, args ...any) {
	r.notes = append(r.notes, fmt.Sprintf(format, args...))
}

// maxRead bounds what is read from one tracefs file. tracefs files report
// size 0 and are generated as they are read, so a kernel that keeps
// producing text would otherwise grow the reader until the OOM killer steps
// in, as happened once in a Debian 6.1 guest with 1 GiB.
const maxRead = 16 << 20

var errTooLarge = fmt.Errorf("tracefs file exceeds %d MiB", maxRead>>20)

// read returns a tracefs file (relative to the root), at most maxRead
// bytes of it; past that, the head and errTooLarge.
func (r *recorder) read(rel string) (string, error) {
	f, err := os.Open(filepath.Join(r.fs.Root(), rel))
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxRead+1))
	if err == nil && len(b) > maxRead {
		err = errTooLarge
	}
	return string(b), err
}

func (r *recorder) copyFile(rel, name string) error {
	s, err := r.read(rel)
	if err != nil {
		return err
	}
	r.add(name, []byte(s))
	return nil
}

// removeGroup removes every probe of the recorder's group.
func (r *recorder) removeGroup() error {
	return errors.Join(r.fs.RemoveGroup(tracefs.KprobeEvents, r.group), r.fs.RemoveGroup(tracefs.UprobeEvents, r.group))
}

// events lists the events of the recorder's group.
func (r *recorder) events() []string {
	evs, _ := r.fs.DynamicEvents(tracefs.DynamicEvents)
	var out []string
	for _, e := range evs {
		if e.Group == r.group {
			out = append(out, e.Event)
		}
	}
	return out
}

func (r *recorder) record(tables string) error {
	var uts syscall.Utsname
	syscall.Uname(&uts)
	r.note("# Recorded by internal/vmtest/fixturerec (make vmtest-fixtures) on GOARCH=%s.", runtime.GOARCH)
	r.note("# Probe group of this recording: %s (definitions and formats name it).", r.group)
	step("README and event formats")
	if err := r.copyFile("README", "README"); err != nil {
		return err
	}
	for _, ev := range []string{
		"syscalls/sys_enter_openat", "syscalls/sys_exit_openat",
		"sched/sched_process_exec", "sched/sched_process_fork",
		"signal/signal_generate", "signal/signal_deliver",
	} {
		if err := r.copyFile("events/"+ev+"/format", "events/"+ev+"/format"); err != nil {
			return err
		}
	}

	step("trying each fetcharg")
	kargs := r.acceptedArgs("p:%s/tracelet_try do_sys_openat2 %s", kprobeArgs(r.abi), "fetchargs_kprobe.txt")
	rargs := r.acceptedArgs("r:%s/tracelet_try do_sys_openat2 %s", kretprobeArgs(r.abi), "fetchargs_kretprobe.txt")
	sargs := []string{
		"dfd=" + r.abi.SyscallArg(1) + ":s32",
		"path=+0(" + r.abi.SyscallArg(2) + "):ustring",
		"flags=" + r.abi.SyscallArg(3) + ":x32",
		"mode=" + r.abi.SyscallArg(4) + ":x16",
	}
	defs := []struct{ file, def, fmtName string }{
		{"kprobe_events", fmt.Sprintf("p:%s/tracelet_kprobe do_sys_openat2 %s", r.group, strings.Join(kargs, " ")), "tracelet_kprobe"},
		{"kprobe_events", fmt.Sprintf("r:%s/tracelet_kretprobe do_sys_openat2 %s", r.group, strings.Join(rargs, " ")), "tracelet_kretprobe"},
		{"kprobe_events", fmt.Sprintf("p:%s/tracelet_syscall %sopenat %s", r.group, r.abi.SyscallPrefix, strings.Join(sargs, " ")), "tracelet_syscall"},
		{"kprobe_events", fmt.Sprintf("r16:%s/tracelet_maxactive do_sys_openat2 ret=$retval:s64", r.group), ""},
		{"kprobe_events", fmt.Sprintf("p:%s/tracelet_retsuffix do_sys_openat2%%return ret=$retval:s32", r.group), ""},
		{"kprobe_events", fmt.Sprintf("p:%s/tracelet_offset do_sys_openat2+0 a=%s:x64", r.group, r.abi.ArgRegs[0]), ""},
		{"kprobe_events", fmt.Sprintf("p:%s/ vfs_read", r.group), ""},
	}
	if u, err := r.uprobeDef(); err == nil {
		defs = append(defs, struct{ file, def, fmtName string }{"uprobe_events", u, "tracelet_uprobe"})
	} else {
		r.note("uprobe: %v", err)
	}
	step("defining %d probes", len(defs))
	var defined []string
	for _, d := range defs {
		if err := r.fs.AddDynamicEvent(d.file, d.def); err != nil {
			r.note("rejected (%v): %s%s", err, d.def, logText(err))
			continue
		}
		defined = append(defined, d.def)
		if d.fmtName != "" {
			if err := r.copyFile("events/"+r.group+"/"+d.fmtName+"/format", "events/tracelet/"+d.fmtName+"/format"); err != nil {
				return err
			}
		}
	}
	r.add("definitions.txt", []byte("# The definitions written, one per line, before kprobe_events/uprobe_events/dynamic_events were read.\n"+strings.Join(defined, "\n")+"\n"))

	step("trace sample")
	if err := r.traceSample(); err != nil {
		r.note("trace sample: %v", err)
	}
	for _, f := range []string{"kprobe_events", "uprobe_events", "dynamic_events", "kprobe_profile"} {
		if err := r.copyFile(f, f); err != nil {
			return err
		}
	}
	step("removing probes")
	if err := r.removeGroup(); err != nil {
		return err
	}
	step("malformed definitions")
	return r.errorLog(tables)
}

// acceptedArgs tries each fetcharg alone on a probe, keeps those the kernel
// accepts, and records every verdict with the error_log entry of each
// rejection, so the fixture says what this kernel supports.
func (r *recorder) acceptedArgs(pattern string, args []string, name string) []string {
	var ok []string
	var log strings.Builder
	fmt.Fprintf(&log, "# Each fetcharg alone on %q: accepted, or rejected with errno and error_log.\n", fmt.Sprintf(pattern, "tracelet_t", "ARG"))
	for _, a := range args {
		def := fmt.Sprintf(pattern, r.group, a)
		if err := r.fs.AddDynamicEvent(tracefs.KprobeEvents, def); err != nil {
			fmt.Fprintf(&log, "rejected\t%s\t%s%s\n", a, errnoName(err), indent(logText(err)))
			continue
		}
		r.fs.RemoveDynamicEvent(tracefs.KprobeEvents, r.group, "tracelet_try")
		fmt.Fprintf(&log, "accepted\t%s\n", a)
		ok = append(ok, a)
	}
	r.add(name, []byte(log.String()))
	return ok
}

func indent(s string) string {
	if s == "" {
		return ""
	}
	return strings.ReplaceAll(s, "\n", "\n\t")
}

// logText renders the error_log entry of a failed write as the kernel
// printed it, after a newline; "" when there is none.
func logText(err error) string {
	var we *tracefs.WriteError
	if !errors.As(err, &we) || we.Log == nil {
		return ""
	}
	e := we.Log
	s := fmt.Sprintf("\n[%s] %s: error: %s\n  Command: %s", e.Timestamp, e.Location, e.Message, e.Command)
	if e.Column >= 0 {
		s += "\n" + strings.Repeat(" ", len("  Command: ")+e.Column) + "^"
	}
	return s
}

func errnoName(err error) string {
	var en syscall.Errno
	if errors.As(err, &en) {
		for name, v := range map[string]syscall.Errno{"EINVAL": syscall.EINVAL, "ENOENT": syscall.ENOENT, "EBUSY": syscall.EBUSY, "EEXIST": syscall.EEXIST, "E2BIG": syscall.E2BIG, "ENOMEM": syscall.ENOMEM, "EILSEQ": syscall.EILSEQ, "ERANGE": syscall.ERANGE, "ENOSPC": syscall.ENOSPC, "EFAULT": syscall.EFAULT, "EPERM": syscall.EPERM, "ENOTSUP": syscall.ENOTSUP} {
			if en == v {
				return name
			}
		}
		return fmt.Sprintf("errno %d", int(en))
	}
	return err.Error()
}

// kprobeArgs lists one fetcharg of every kind and type, on
// do_sys_openat2(int dfd, const char __user *filename, struct open_how *how).
func kprobeArgs(a testenv.ABI) []string {
	r0, r1 := a.ArgRegs[0], a.ArgRegs[1]
	return []string{
		"reg=" + r0, "reg_u8=" + r0 + ":u8", "reg_u16=" + r0 + ":u16", "reg_u32=" + r0 + ":u32", "reg_u64=" + r0 + ":u64",
		"reg_s8=" + r0 + ":s8", "reg_s16=" + r0 + ":s16", "reg_s32=" + r0 + ":s32", "reg_s64=" + r0 + ":s64",
		"reg_x8=" + r0 + ":x8", "reg_x16=" + r0 + ":x16", "reg_x32=" + r0 + ":x32", "reg_x64=" + r0 + ":x64",
		"sp=" + a.StackReg + ":x64", "pc=" + a.PCReg + ":symbol",
		"arg1=$arg1:s32", "arg2=$arg2:x64", "arg3=$arg3",
		"ustr=+0($arg2):ustring", "ustr_reg=+0(" + r1 + "):ustring", "kstr=+0($arg2):string",
		"uderef=+u0($arg2):u8", "uderef_x=+u0($arg2):x32",
		"how_flags=+0($arg3):x64", "how_mode=+8($arg3):x64", "how_resolve=+16($arg3):x64", "neg_off=-8(+16($arg3)):x64",
		"nested=+0(+0(" + a.StackReg + ")):x64",
		"stack=$stack:x64", "stack0=$stack0:x64", "stack1=$stack1",
		"comm=$comm", "comm_str=$comm:string",
		"imm=\\1234", "imm_hex=\\0x10:x8", `imm_str=\"tracelet"`,
		"sym=@jiffies:u64", "sym_off=@jiffies+0:x64", "sym_type=$arg2:symbol", "symstr=" + a.PCReg + ":symstr",
		"char=+u0($arg2):char", "uchars=+u0($arg2):char[4]",
		"bitfield=$arg1:b4@4/32", "bitfield_s=+0($arg3):b1@19/64",
		"array=+u0($arg2):u8[8]", "array_x=+u0($arg2):x16[2]", "str_array=+0($arg3):string[1]",
		"dentry=$arg1:%pd", "file=$arg1:%pD",
		"btf_arg=filename", "btf_all=$arg*", "btf_field=how->flags",
		"$arg1", "+0($arg3):x64",
	}
}

// kretprobeArgs lists what a return probe can fetch.
func kretprobeArgs(a testenv.ABI) []string {
	return []string{
		"ret=$retval", "ret_s64=$retval:s64", "ret_s32=$retval:s32", "ret_x64=$retval:x64", "ret_u8=$retval:u8",
		"ret_reg=" + a.RetReg + ":s64", "ret_comm=$comm", "ret_stack=$stack:x64",
		"ret_arg1=$arg1:s32", "ret_ustr=+0($arg2):ustring", "ret_bits=$retval:b8@0/64", "ret_sym=" + a.PCReg + ":symbol",
		"$retval",
	}
}

// uprobeDef puts a uprobe on internal/testprog's C-ABI target, at its file
// offset: uprobe_events wants an offset into the file, not a virtual
// address, so the symbol's address goes through its PT_LOAD segment.
func (r *recorder) uprobeDef() (string, error) {
	const bin = "/bin/testprog"
	sym := testenv.CABITarget
	f, err := elf.Open(bin)
	if err != nil {
		return "", err
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		return "", err
	}
	for _, s := range syms {
		if s.Name != sym {
			continue
		}
		for _, p := range f.Progs {
			if p.Type == elf.PT_LOAD && s.Value >= p.Vaddr && s.Value < p.Vaddr+p.Memsz {
				off := s.Value - p.Vaddr + p.Off
				regs := r.abi.ArgRegs
				return fmt.Sprintf("p:%s/tracelet_uprobe %s:0x%x a=%s:u64 b=%s:s64 c=%s:x32 sp=%s:x64 stack0=$stack0:x64 comm=$comm",
					r.group, bin, off, regs[0], regs[1], regs[2], r.abi.StackReg), nil
			}
		}
	}
	return "", fmt.Errorf("%s has no symbol %s in a PT_LOAD segment", bin, sym)
}

// traceSample enables the probes in a private instance, opens a known path,
// and keeps the instance's trace text.
func (r *recorder) traceSample() error {
	inst, err := r.fs.NewInstance(r.group)
	if err != nil {
		return err
	}
	defer func() {
		step("removing instance %s", inst.Name())
		inst.Close()
	}()
	var enabled []string
	for _, ev := range r.events() {
		if err := inst.Enable(r.group, ev); err == nil {
			enabled = append(enabled, ev)
		}
	}
	const path = "/tmp/tracelet-fixture-known-path"
	for i := 0; i < 3; i++ {
		if f, err := os.Open(path); err == nil {
			f.Close()
		}
	}
	step("running testprog under the uprobe")
	syscall.ForkExec("/bin/testprog", []string{"testprog", "calls", "2", "7", "9"}, &syscall.ProcAttr{})
	var ws syscall.WaitStatus
	syscall.Wait4(-1, &ws, 0, nil)
	step("disabling %d events", len(enabled))
	for _, ev := range enabled {
		inst.Disable(r.group, ev)
	}
	s, err := r.read(filepath.Join("instances", inst.Name(), "trace"))
	if errors.Is(err, errTooLarge) {
		// Keep the evidence: the head of what the kernel kept producing.
		r.add("trace_overflow.txt", []byte(s[:min(len(s), 256<<10)]))
		return err
	}
	if err != nil {
		return err
	}
	var keep []string
	for _, line := range strings.Split(s, "\n") {
		if strings.HasPrefix(line, "#") || strings.Contains(line, path) || strings.Contains(line, "tracelet_uprobe") || strings.Contains(line, "tracelet_kretprobe") && strings.Contains(line, "fixturerec") {
			keep = append(keep, line)
		}
	}
	r.add("trace_sample.txt", []byte(strings.Join(keep, "\n")+"\n"))
	return nil
}

// errorLog writes each malformed definition of the grammar's error tables
// for this kernel (testenv.ErrorTablesFor) and records the errno and the
// error_log entry (with its caret) in error_log.txt.
func (r *recorder) errorLog(dir string) error {
	var b strings.Builder
	b.WriteString("# error_log entries for malformed definitions, written one at a time to this kernel.\n")
	b.WriteString("# One block per definition: \"### <table:line>\", the control file, the definition as\n")
	b.WriteString("# written (group " + testenv.TableGroup + " replaced by this run's group), the write's errno, the caret's\n")
	b.WriteString("# 0-based column in the written command (-1: no entry), that column in the listed definition\n")
	b.WriteString("# (comparable with the table's COL), then the entry as the kernel printed it.\n")
	files := map[string]string{"kprobe": tracefs.KprobeEvents, "uprobe": tracefs.UprobeEvents, "auto": tracefs.DynamicEvents}
	for _, name := range testenv.ErrorTablesFor(series()) {
		rows, err := testenv.LoadErrorTable(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "\n## source: testdata/kprobeevents/%s\n", name)
		for _, row := range rows {
			w := row.InGroup(r.group)
			def := testenv.HostRegs(w.Def)
			werr := r.fs.AddDynamicEvent(files[row.Target], def)
			fmt.Fprintf(&b, "### %s %s %d %s\nfile: %s\nwritten: %s\n", row, row.Kind, row.Col, row.Target, files[row.Target], def)
			var we *tracefs.WriteError
			switch {
			case werr == nil:
				b.WriteString("errno: none (accepted)\ncaret: -1\ncol: -1\n")
				r.removeGroup()
				continue
			case !errors.As(werr, &we):
				fmt.Fprintf(&b, "errno: none (refused before writing: %v)\ncaret: -1\ncol: -1\n", werr)
				continue
			}
			fmt.Fprintf(&b, "errno: %s\n", errnoName(werr))
			if we.Log == nil {
				b.WriteString("caret: -1\ncol: -1\n(no error_log entry)\n")
				continue
			}
			col := we.Column()
			if g := strings.Index(row.Def, testenv.TableGroup); g >= 0 && col > g {
				col -= len(r.group) - len(testenv.TableGroup)
			}
			fmt.Fprintf(&b, "caret: %d\ncol: %d%s\n", we.Column(), col, logText(werr))
		}
	}
	r.add("error_log.txt", []byte(b.String()))
	return nil
}

// series returns the running kernel's "MAJOR.MINOR".
func series() string {
	var u syscall.Utsname
	if syscall.Uname(&u) != nil {
		return ""
	}
	var rel strings.Builder
	for _, c := range u.Release {
		if c == 0 {
			break
		}
		rel.WriteByte(byte(c))
	}
	var maj, min int
	if n, _ := fmt.Sscanf(rel.String(), "%d.%d", &maj, &min); n != 2 {
		return ""
	}
	return fmt.Sprintf("%d.%d", maj, min)
}

// emit prints every file as a frame on stdout (the console) and keeps a copy
// in r.out.
func (r *recorder) emit() error {
	names := make([]string, 0, len(r.files))
	for n := range r.files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		data := r.files[n]
		if p := filepath.Join(r.out, n); os.MkdirAll(filepath.Dir(p), 0o755) == nil {
			os.WriteFile(p, data, 0o644)
		}
		sum := sha256.Sum256(data)
		enc := base64.StdEncoding.EncodeToString(data)
		var b strings.Builder
		fmt.Fprintf(&b, "=== TRACELET-VM-FILE name=%s size=%d sha256=%s\n", n, len(data), hex.EncodeToString(sum[:]))
		for len(enc) > 0 {
			k := min(76, len(enc))
			b.WriteString(enc[:k] + "\n")
			enc = enc[k:]
		}
		fmt.Fprintf(&b, "=== TRACELET-VM-FILE-END name=%s\n", n)
		if _, err := os.Stdout.WriteString(b.String()); err != nil {
			return err
		}
	}
	return nil
}
