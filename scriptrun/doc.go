// Package scriptrun runs scripts of tracelet's language (package script)
// on the running kernel: the runtime that the language package leaves
// out. Prepare parses, expands wildcards (from tracefs: the events
// directory, available_filter_functions or /proc/kallsyms), checks
// (tracepoint formats from tracefs, BTF from /sys/kernel/btf/vmlinux or
// RunOptions.BTF, and a module's from /sys/kernel/btf/MODULE for its
// fentry and fexit probes) and compiles for this kernel (its architecture, helpers
// and map types, found by feature probes: HostOptions). Start creates the
// maps, loads the programs, runs BEGIN and attaches every probe (tracefs
// kprobes, uprobes and tracepoints, perf events, raw tracepoints, fentry,
// fexit and LSM links); Wait reads the BPF ring buffer or the perf rings,
// prints what the script prints, runs END and prints the maps, as bpftrace
// does. Close removes everything the run created, on every path.
//
// The tracefs backend (RunOptions.Backend) defines dynamic events with
// filters instead, for kernels without BPF. Metrics serves the maps of a
// running script as Prometheus families; ReadMap, ClearMap and ZeroMap
// read and reset a loaded map.
//
// Example:
//
//	r, err := scriptrun.Prepare("-e", []byte(`tracepoint:raw_syscalls:sys_enter { @[comm] = count(); }`),
//		scriptrun.RunOptions{})
//	if err != nil {
//		fmt.Fprintln(os.Stderr, err) // file:line:col, source line, caret
//		os.Exit(1)
//	}
//	defer r.Close()
//	if err := r.Start(nil); err != nil {
//		return err
//	}
//	return r.Wait(ctx) // until exit(), or ctx is done (Ctrl-C)
package scriptrun
