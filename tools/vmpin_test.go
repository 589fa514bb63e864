package tools

import (
	"fmt"
	"os"

	"github.com/tracelet/tracelet/asm"
	"github.com/tracelet/tracelet/bpf"
	"github.com/tracelet/tracelet/internal/testenv"
	"github.com/tracelet/tracelet/perf"
	"github.com/tracelet/tracelet/tracefs"
)

// pinTracepoints keeps the tracepoints that the tools switch on and off
// registered for the whole test run, in the VM suite only. It returns what
// holds them, for runtime.KeepAlive: they are never closed by hand but at
// the process's exit, when its other threads are gone (closing them while
// those threads made syscalls is what the 6.12 guest's Oops came from).
//
// The kernel rewrites a tracepoint's call sites when its first probe comes
// or its last goes (a static key) and when it goes from one probe to two
// or back (a static call, direct to the one probe or through the
// iterator), with text_poke_bp: an int3 first, then the new bytes. QEMU
// 7.2's multi-threaded TCG does not always make that rewrite visible to the
// other vCPU: on the 6.1 guest both CPUs were found spinning at the int3 in
// syscall_trace_enter for minutes (soft lockup, RCU stall), and the 6.12
// guest took an int3 Oops in syscall_exit_to_user_mode_prepare, each after
// a few hundred switches. Real hardware and KVM do not do this.
//
// So every tracepoint the tools use gets two probes of different kinds
// for the whole run: a perf event (held open, never enabled) and a raw
// tracepoint BPF program that returns at once. Its call sites are patched
// once and then left alone, since the tools only add and remove probes
// beyond those two; the tests still create and remove all of their own
// events, programs and probes.
func pinTracepoints() (held any) {
	if !testenv.InVM() {
		return nil
	}
	fs, err := tracefs.Find()
	if err != nil {
		fmt.Fprintln(os.Stderr, "pinTracepoints:", err)
		return nil
	}
	var evs []*perf.Event
	var links []*bpf.RawTracepointLink
	noop, err := bpf.NewProgram(bpf.ProgramSpec{Name: "vm_pin", Type: bpf.RawTracepoint, License: "GPL",
		Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Return()}})
	if err != nil {
		fmt.Fprintln(os.Stderr, "pinTracepoints:", err)
	}
	for _, tp := range [][2]string{
		{"raw_syscalls", "sys_enter"}, {"raw_syscalls", "sys_exit"},
		{"sched", "sched_process_fork"}, {"sched", "sched_process_exec"}, {"sched", "sched_process_exit"},
		{"signal", "signal_generate"}, {"signal", "signal_deliver"},
	} {
		id, err := fs.EventID(tp[0], tp[1])
		if err != nil {
			continue
		}
		attr, err := perf.Tracepoint(uint64(id), 0)
		if err != nil {
			continue
		}
		e, err := perf.Open(attr, -1, 0, nil, 0)
		if err != nil {
			fmt.Fprintf(os.Stderr, "pinTracepoints: %s:%s: %v\n", tp[0], tp[1], err)
			continue
		}
		evs = append(evs, e)
		if noop != nil {
			link, err := bpf.AttachRawTracepoint(noop, tp[1])
			if err != nil {
				fmt.Fprintf(os.Stderr, "pinTracepoints: raw %s: %v\n", tp[1], err)
				continue
			}
			links = append(links, link)
		}
	}
	return []any{evs, noop, links}
}
