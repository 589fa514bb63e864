// Package trace is a live tracing session without BPF: probes defined
// through tracefs, their events taken with perf_event_open on the event's
// tracefs id (PERF_SAMPLE_RAW), read from per-CPU rings and decoded with
// the event's format. It is what `tracelet trace` runs.
//
// A Session validates every SPEC before writing anything (kernel syntax or
// perf-tools shorthand through kprobeevents, SYSTEM:EVENT tracepoints
// through their format file), sweeps the owner groups of dead tracelet
// runs, defines its probes in its own owner group (tracelet_<pid>), sets
// the kernel-side filter, and opens the events per CPU or per process.
// Close undoes all of it, whatever happened before; a SIGKILLed run leaves
// only its owner group, which the next session sweeps.
//
//	s, err := trace.New(trace.Options{Specs: []string{"p:bash:readline", "syscalls:sys_enter_openat"}})
//	if err != nil {
//		return err
//	}
//	defer s.Close()
//	if err := s.Start(); err != nil {
//		return err
//	}
//	p := trace.NewPrinter(nil)
//	var line []byte
//	for {
//		smp, err := s.Next(ctx)
//		if err == trace.ErrIdle {
//			continue // nothing for a while: flush buffered output here
//		}
//		if err != nil {
//			break // ctx done, or io.EOF after Stop
//		}
//		line = p.AppendText(line[:0], smp)
//		os.Stdout.Write(line)
//	}
//	fmt.Fprintf(os.Stderr, "%d events, %d lost\n", s.Delivered(), s.Lost())
//
// A kernel rule limits every perf reader of a tracepoint, this one too:
// when a BPF program is attached to the tracepoint through perf (bpftrace,
// libbpf-tools and most BPF tools do so) and it returns 0, the kernel drops
// that hit for all perf events of the tracepoint on that CPU
// (perf_trace_run_bpf_submit, perf_syscall_enter). Such a tool running at
// the same time hides the events it does not pass on; kprobes and uprobes
// that a Session defines in its own group are not shared, so they are
// never affected.
package trace
