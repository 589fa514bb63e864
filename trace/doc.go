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
package trace
