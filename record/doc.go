// Package record keeps what tracefs events recorded, for the users who
// trace a device's boot or leave a tracer running unattended.
//
//   - PlanFromScript compiles a tracelet script with the tracefs backend into
//     the tracefs.Plan that `tracelet apply`, `bootargs`, `bootconfig` and
//     `record` install.
//
//   - Collect reads an instance's binary per-CPU rings
//     (per_cpu/cpuN/trace_pipe_raw, the ring-buffer page format trace-cmd
//     reads) and decodes each event with its format file.
//
//   - Recorder and Writer record to disk in bounded space: chunked, fsynced
//     writes of whole records, size-based rotation, reopen for logrotate, in
//     ftrace's text format or JSON Lines (Printer).
//
//   - Flight keeps the last megabytes in perf overwrite rings and dumps them
//     on SIGUSR1 or a trigger event.
//
//   - Reader reads recordings back, up to the last whole record of a file
//     cut short by a power loss.
//
//     fs, _ := tracefs.Find()
//     plan, _ := record.PlanFromScript("boot.bt", src, record.ScriptOptions{Formats: scriptrun.TracefsFormats(fs)})
//     _, _ = fs.Apply(plan) // idempotent; fs.Revert(plan) removes exactly this
//     in, _ := fs.OpenInstance(plan.Instance)
//     p := record.NewPrinter(record.FormatJSON)
//     var line []byte
//     _, err := record.Collect(fs, in, func(ev *record.Event) error {
//     line = p.Append(line[:0], ev)
//     _, err := os.Stdout.Write(line)
//     return err
//     })
package record
