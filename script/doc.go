// Package script is tracelet's tracing language: bpftrace's syntax, parsed,
// type-checked and compiled to BPF in pure Go (no LLVM, no cgo, no system
// calls in this package: TestPure checks its imports). What it needs of
// the running system (tracepoint formats, BTF, kallsyms, the functions a
// wildcard may match, the kernel's architecture) comes in through
// CheckOptions, Options and Expand's WildcardSource. Package scriptrun is
// the runtime that creates the maps, loads and attaches the programs,
// reads the rings and prints.
//
// The pipeline has three steps, each usable alone:
//
//   - Parse turns source into a syntax tree (Program), with positions. It
//     never panics; errors read like a compiler's (see below). The little
//     of the C preprocessor that bpftrace's tools use is done without
//     moving a position (preproc.go): a "#!" first line, #include
//     (recorded in Program.Includes for BTF), #define constants and
//     function-like macros expanded where used as expressions, and
//     #ifdef/#ifndef/#if/#else/#endif with BPFTRACE_HAVE_BTF defined.
//     Names such as AF_INET, EPERM or TCP_LISTEN are built-in constants
//     (constants.go cites the header of each). A config = { ... } block
//     sets max_strlen and max_map_keys.
//
//   - Check types the tree in place (int sizes and signedness, strings with
//     their size, map key and value types inferred from first use, the
//     aggregations) and enforces what each probe type provides: retval only
//     in return probes, args only in tracepoints, arg0-arg5 only at function
//     entry. A usdt:PATH:[PROVIDER:]NAME probe's arg0-arg11 are typed by
//     its note's argument specs (size, sign), which the runtime reads from
//     the binary (a USDTSource, package scriptrun) and ResolveUSDT puts
//     into AttachPoint.USDT before Check. args->FIELD is typed from the
//     tracepoint's format file, which a FormatSource supplies (package
//     tracefs, through a small adapter); each attach point of a probe list has its own layout. Positional
//     parameters ($1, $#, str($1)) come from CheckOptions.Params, and
//     kaddr() from CheckOptions.KernelSymbol: this package reads no file.
//     (uint16 *)e and the other integer pointer casts point at an integer
//     that *p reads at its width (sign-extended for intN); p + n steps n
//     of them, and an address plus an offset keeps its address space.
//     print(value) is the printf of the value and a newline.
//
//   - Kernel types come from BTF (CheckOptions.BTF, a *btf.Spec the
//     runtime maps from /sys/kernel/btf/vmlinux or `run --btf FILE`):
//     curtask is a struct task_struct *; (struct X *)e, (union X *)e and
//     (TYPEDEF *)e cast an integer to a pointer; -> and . read members
//     through pointers ('.' through a pointer too, as bpftrace allows),
//     in embedded and anonymous structs and unions; e[i] reads an array
//     member's or a pointer's element; bitfields are shifted and masked;
//     a char array member is a string (str() of it is itself), str() of a
//     char * reads the string; pointers compare with 0 as integers.
//     sizeof(TYPE), sizeof(e) and offsetof(TYPE, a.b) are constants, and
//     with ParseWith's Constant the kernel's enumerators are names. A
//     tracepoint field "struct sk_buff *" is such a pointer. Every read
//     is one bpf_probe_read_kernel (_user under a syscall's user pointer)
//     at the offsets of the BTF given, so it works in every probe type;
//     a chain a->b.c->d folds constant offsets and loads each pointer
//     straight into the helper's address register. Info.Resolved lists
//     each member reached, its C type and offset (run -d prints them).
//     A script may define its own types at the top level, as C does
//     (struct NAME { struct load_weight load; unsigned int n : 3; u64
//     a[4]; char *p; union { ... } u; };): structdef.go parses them and
//     structlayout.go lays them out as the target's C compiler would
//     (long and pointers of the kernel's size, i386's 4-byte alignment
//     of 64-bit integers) into BTF split on top of the kernel's, so
//     casts, members, sizeof and offsetof treat them as kernel types. A
//     script's definition hides the kernel's type of that name. A struct
//     pointer cast of a member that is no pointer (an array, a struct)
//     takes its address: (struct tcp_skb_cb *)$skb->cb.
//     Without BTF, a script that needs it fails in Check, before anything
//     is loaded, naming what needed it and suggesting --btf FILE.
//
//   - rawtracepoint:EVENT (rt:) is a raw_tp program (4.17): arg0...argN
//     are the tracepoint's arguments, u64s in its context, as in bpftrace
//     0.17; with BTF, args->NAME (and args.NAME) name and type them from
//     the prototype of __probestub_EVENT (__traceiter_EVENT before 6.5).
//     bpftrace 0.17 spells typed arguments args->NAME (its kfunc probes);
//     later bpftrace versions write args.NAME: both are accepted.
//     Where btf_trace_EVENT is in BTF and the kernel has tp_btf (5.5,
//     Options.TPBTF from bpf.HaveTPBTF), the program is a tp_btf one: the
//     same context, the arguments counted (arg4 of a 4-argument event is
//     an error), and members of pointer arguments loaded directly.
//
//   - fentry:FUNC (kfunc:) and fexit:FUNC (kretfunc:) are tracing
//     programs (5.5) and lsm:HOOK an LSM program (5.7) that only observes:
//     it returns 0, allow. Each attaches to the FUNC (bpf_lsm_HOOK) that
//     Check finds in BTF (AttachPoint.BTFID, Prog.AttachType); args->NAME
//     and args.NAME are the prototype's parameters, and fexit's retval is
//     typed from its return type (the u64 after the arguments in the
//     context). Wildcards expand over BTF's functions (ExpandBTF). A
//     module's function (fentry:MODULE:FUNC) is typed from the module's
//     split BTF on top of vmlinux's (CheckOptions.BTFModule; one module
//     per script), and its program loads with the module's BTF object.
//
//   - Compile generates one asm program per attach point, and the maps they
//     use: per-CPU maps for the aggregations, constant folding, stack
//     zeroing only where a helper leaves bytes unwritten, and
//     bpf_probe_read_{kernel,user} or the older bpf_probe_read as a feature
//     probe (Options.HaveHelper) says. printf records and actions (exit,
//     print, clear, zero; print(@m, top, div) names its call in
//     Object.Prints) go to a BPF ring buffer or a perf event array,
//     and so do time() and join() records, which user space formats
//     (join's strings are gathered in a per-CPU map: they do not fit the
//     stack).
//
// An error names the file, line and column, shows the line, puts a caret
// under the column and says what would be valid:
//
//	-e:1:22: unknown builtin "pidd"; did you mean "pid"?
//	BEGIN { printf("%d", pidd); }
//	                     ^
//
// User space reads what the programs leave: scriptrun.ReadMap, then WriteMap or
// WriteMaps print maps byte for byte as bpftrace's text output (histograms
// drawn as bpftrace draws them), HandleRecord formats printf records and
// returns actions (exit, print, clear, zero), which scriptrun.ClearMap and
// scriptrun.ZeroMap perform. `tracelet run -d` prints Fprint's tree, then WriteListing.
//
// CompileTracefs is the second backend, for kernels without BPF and boot
// time: each kprobe, uprobe or tracepoint with a predicate and a printf of
// its arguments becomes a dynamic event definition (fetchargs from the asm
// register table) and an event filter; count() becomes the probe's hit
// counter or a hist trigger. Struct casts of arguments and members in
// printf, and fentry/fexit with args.NAME->member and retval, become
// +OFF(...) chains at the BTF's offsets in kprobes (any kernel), or fprobe
// events with the kernel's BTF argument names where TracefsOptions.Grammar
// has them (6.5/6.6; an fexit's arguments 6.10). Anything else is
// refused, naming the construct.
//
// Example:
//
//	obj, err := script.CompileSource("-e",
//		[]byte(`tracepoint:raw_syscalls:sys_enter { @[comm] = count(); }`),
//		script.CheckOptions{Formats: formats}, script.Options{})
//	if err != nil {
//		fmt.Fprintln(os.Stderr, err) // file:line:col, source line, caret
//		os.Exit(1)
//	}
//	for _, m := range obj.Maps {
//		// bpf.NewMap(m.Spec) ...
//	}
//	for _, p := range obj.Programs {
//		// bpf.NewProgram(bpf.ProgramSpec{Name: p.Name, Type: p.Type,
//		//	License: "GPL", Instructions: p.Insns, Maps: maps}) ...
//	}
//
// The adapter from package tracefs, for FormatSource:
//
//	formats := script.FormatFunc(func(system, event string) (*script.Format, error) {
//		tf, err := fs.Format(system, event) // *tracefs.FS
//		if err != nil {
//			return nil, err
//		}
//		f := &script.Format{System: system, Event: event}
//		for _, fd := range tf.Fields {
//			layout := script.LayoutOther
//			switch fd.Kind {
//			case tracefs.FieldInt:
//				layout = script.LayoutInt
//			case tracefs.FieldCharArray:
//				layout = script.LayoutCharArray
//			case tracefs.FieldDynString:
//				layout = script.LayoutDynString
//			}
//			f.Fields = append(f.Fields, script.FormatField{Name: fd.Name, CType: fd.Type,
//				Offset: fd.Offset, Size: fd.Size, Signed: fd.Signed, Layout: layout})
//		}
//		return f, nil
//	})
//
// Layouts user space reads: a printf record is the u64 index of its Printf,
// then each argument in an 8-byte aligned slot (Printf.Offsets); an action
// record is the u64 ActionID. Map keys are the script's keys in 8-byte
// aligned slots (Map.KeyOffsets); hist and lhist maps add a u64 bucket at
// the end of the key and count per bucket. Values: count, sum and buckets
// u64; min and max {value, valid}; avg and stats {count, sum}; all per CPU.
package script
