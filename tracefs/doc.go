// Package tracefs drives the kernel's tracing control files safely: it finds
// (or mounts) tracefs, writes kprobe and uprobe definitions one whole
// command per write(2) and never with O_TRUNC, maps the kernel's errnos and
// error_log entries to typed errors, keeps every probe in a group named
// after its owner's pid (tracelet_<pid>) so that a later run can sweep the
// leftovers of a SIGKILLed one, and never touches anyone else's probes or
// the global trace buffer (private instances instead).
//
// It also reads what the kernel produces: event format files, compiled into
// allocation-free record decoders; ring-buffer pages from trace_pipe_raw;
// kprobe_profile and uprobe_profile. And it resolves uprobe targets
// (symbols of ELF executables and libraries) to file offsets.
//
// Definitions are taken as already validated by package kprobeevents; this
// package still refuses any that could smuggle a second command.
//
// Every "col N" in an error is 0-based, the offset of the offending byte:
// where the kernel puts its caret in error_log and in a filter file, and
// what package kprobeevents reports, so that one number means one place.
// (Plan files are the exception: PlanError is file:line:col as editors
// read it, 1-based.)
//
//	fs, err := tracefs.Find()
//	if err != nil {
//		return err // wraps tracefs.ErrNotAvailable
//	}
//	path, off, err := tracefs.ResolveSymbol("libc", "malloc")
//	if err != nil {
//		return err
//	}
//	group := tracefs.OwnerGroup(os.Getpid())
//	def := fmt.Sprintf("p:%s/malloc %s:%#x size=%%di:u64", group, path, off)
//	if err := fs.AddDynamicEvent(tracefs.UprobeEvents, def); err != nil {
//		return err // a *tracefs.WriteError with the kernel's error_log entry
//	}
//	defer fs.RemoveGroup(tracefs.UprobeEvents, group)
package tracefs
