package main

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/tracelet/tracelet/bpf"
)

// maxModules bounds the module names on the BTF line; a distribution
// kernel loads a hundred modules with BTF.
const maxModules = 8

// btfFindings reports the kernel's BTF and the program kinds that attach
// through it, each from a load and attach the bpf package tried.
func btfFindings() []finding {
	var out []finding
	if info, err := bpf.KernelBTF(); err != nil {
		out = append(out, finding{Name: "BTF", OK: false, Reason: err.Error()})
	} else {
		out = append(out, finding{Name: "BTF", OK: true, Reason: fmt.Sprintf("%s, %d types, modules: %s", info.Path, info.Types, moduleList(info.Modules))})
	}

	fentry, fexit := bpf.HaveFentry(), bpf.HaveFexit()
	switch {
	case fentry != nil:
		out = append(out, finding{Name: "fentry/fexit", OK: false, Reason: refusal(fentry)})
	case fexit != nil:
		out = append(out, finding{Name: "fentry/fexit", OK: false, Reason: "fentry works, fexit does not: " + refusal(fexit)})
	default:
		out = append(out, finding{Name: "fentry/fexit", OK: true, Reason: "BPF_PROG_TYPE_TRACING fentry and fexit programs load and attach (probed, Linux 5.5+)"})
	}

	lsm := bpf.HaveLSM()
	active, aerr := bpf.BPFLSMActive()
	reason := "BPF_PROG_TYPE_LSM programs load and attach (probed on file_open, Linux 5.7+)"
	if lsm != nil {
		reason = refusal(lsm)
	}
	switch {
	case aerr != nil:
		reason += "; bpf in the active LSM list: unknown (" + aerr.Error() + ")"
	case active:
		reason += "; bpf in the active LSM list: yes"
	default:
		list, _ := bpf.ActiveLSMs()
		reason += "; bpf in the active LSM list: no (" + strings.Join(list, ",") + "; boot with lsm=…,bpf)"
	}
	out = append(out, finding{Name: "LSM BPF", OK: lsm == nil && active, Reason: reason})

	out = append(out, probeFinding("raw tracepoints", bpf.HaveRawTracepoint(), "raw_tracepoint programs load and attach to sched_switch (probed, Linux 4.17+)"))
	out = append(out, probeFinding("tp_btf", bpf.HaveTPBTF(), "BPF_PROG_TYPE_TRACING tp_btf programs load and attach to sched_switch (probed, Linux 5.5+)"))
	return out
}

func probeFinding(name string, err error, yes string) finding {
	if err != nil {
		return finding{Name: name, OK: false, Reason: refusal(err)}
	}
	return finding{Name: name, OK: true, Reason: yes}
}

// refusal says who refused: an errno came from the kernel; anything else
// (no BTF, a feature the kernel lacks) speaks for itself.
func refusal(err error) string {
	var errno unix.Errno
	if errors.As(err, &errno) && !errors.Is(err, bpf.ErrNotSupported) {
		return "the kernel refuses: " + err.Error()
	}
	return err.Error()
}

func moduleList(mods []string) string {
	switch {
	case len(mods) == 0:
		return "none"
	case len(mods) > maxModules:
		return fmt.Sprintf("%s, … (%d in all)", strings.Join(mods[:maxModules], ", "), len(mods))
	}
	return strings.Join(mods, ", ")
}
