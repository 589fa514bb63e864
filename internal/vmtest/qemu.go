package vmtest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// machine is one QEMU invocation.
type machine struct {
	assets  *Assets
	initrd  string
	scratch string // the scratch disk's backing file, or "" (scratch.go)
	cmdline string
	accel   string
	memory  string
	cpus    int
	timeout time.Duration
	idle    time.Duration // longest silence on the console before the guest counts as hung
}

func (m machine) args() ([]string, error) {
	a, err := archOf(m.assets.Kernel.Arch)
	if err != nil {
		return nil, err
	}
	args := append([]string{}, a.machine...)
	if m.accel == "kvm" {
		// The host's CPU model, with everything KVM can pass through.
		args = append(args, "-cpu", "host")
	}
	accel := m.accel
	if accel == "tcg" && a.singleTCG {
		accel = "tcg,thread=single"
	}
	mem, cpus := m.memory, m.cpus
	if a.memory != "" {
		mem = a.memory
	}
	if a.cpus > 0 {
		cpus = a.cpus
	}
	args = append(args,
		"-accel", accel,
		"-m", mem,
		"-smp", strconv.Itoa(cpus),
		// No default NIC, VGA or option ROMs: the guest needs only a serial
		// console, and iPXE's ROM costs boot time under TCG.
		"-nodefaults", "-display", "none",
		"-serial", "stdio",
		"-no-reboot",
		"-kernel", m.assets.Image,
		"-initrd", m.initrd,
		"-append", m.cmdline,
	)
	return append(args, scratchArgs(m.scratch)...), nil
}

// accelFor picks the accelerator: TRACELET_VM_ACCEL=auto|tcg|kvm, auto by
// default. auto uses KVM for a guest of the host's own architecture when
// /dev/kvm really runs one (kvmWorks), and TCG otherwise: nested KVM on the
// cloud VMs this suite runs on opens and creates VMs fine, then crashes
// guests.
func accelFor(k Kernel) (string, error) {
	switch v := os.Getenv("TRACELET_VM_ACCEL"); v {
	case "tcg":
		return "tcg", nil
	case "kvm":
		return "kvm", nil
	case "", "auto":
		a, err := archOf(k.Arch)
		if err != nil {
			return "", err
		}
		if a.kvmOK && runtime.GOARCH == "amd64" && k.Arch == "amd64" && kvmWorks() {
			return "kvm", nil
		}
		return "tcg", nil
	default:
		return "", fmt.Errorf("TRACELET_VM_ACCEL=%q: want auto, tcg or kvm", v)
	}
}

// boot runs the guest to its end and fills rep from its console. Each line
// goes to console as it arrives (the caller prefixes and serialises it) and
// to the log file; the report is complete when boot returns.
func boot(ctx context.Context, m machine, rep *Report, console io.Writer, log io.Writer) {
	a, err := archOf(m.assets.Kernel.Arch)
	if err != nil {
		rep.RunErr = err
		return
	}
	args, err := m.args()
	if err != nil {
		rep.RunErr = err
		return
	}
	ctx, cancel := context.WithTimeout(ctx, m.timeout)
	defer cancel()
	// A hung guest (a kernel deadlock, a test blocked forever) goes quiet;
	// stopping it after m.idle of silence fails it in minutes, not at the
	// overall time limit.
	idleCtx, stopIdle := context.WithCancel(ctx)
	defer stopIdle()
	var lastLine atomic.Int64
	lastLine.Store(time.Now().UnixNano())
	stalled := false
	if m.idle > 0 {
		go func() {
			tick := time.NewTicker(time.Second)
			defer tick.Stop()
			for {
				select {
				case <-idleCtx.Done():
					return
				case <-tick.C:
					if time.Since(time.Unix(0, lastLine.Load())) > m.idle {
						stalled = true
						stopIdle()
						return
					}
				}
			}
		}()
	}
	cmd := exec.CommandContext(idleCtx, a.qemu, args...)
	cmd.Stdin = nil
	pr, pw, err := os.Pipe()
	if err != nil {
		rep.RunErr = err
		return
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	cmd.WaitDelay = 5 * time.Second
	fmt.Fprintf(log, "$ %s %q\n", a.qemu, args)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		pw.Close()
		pr.Close()
		rep.RunErr = fmt.Errorf("starting %s: %w", a.qemu, err)
		return
	}
	pw.Close()
	var fatalAt time.Time
	var killedFatal atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		br := bufio.NewReaderSize(pr, 64<<10)
		for {
			line, err := br.ReadString('\n')
			if line != "" {
				lastLine.Store(time.Now().UnixNano())
				io.WriteString(log, line)
				if line[len(line)-1] != '\n' {
					io.WriteString(log, "\n")
				}
				rep.Line(trimNL(line))
				// After a panic, an oops or a long lockup the kernel
				// is not trusted: keep a few seconds of its report
				// (the stack dump), then stop the guest.
				if len(rep.Fatal) > 0 && fatalAt.IsZero() {
					fatalAt = time.Now()
					time.AfterFunc(fatalGrace, func() { killedFatal.Store(true); stopIdle() })
				}
				// A fixture file's base64 body goes to the log only.
				if rep.file == nil || strings.Contains(line, markFile) {
					io.WriteString(console, trimNL(line)+"\n")
				}
			}
			if err != nil {
				return
			}
		}
	}()
	werr := cmd.Wait()
	<-done // EOF once QEMU, the only writer, is gone
	pr.Close()
	rep.Elapsed = time.Since(start)
	switch {
	case killedFatal.Load() && ctx.Err() == nil:
		rep.RunErr = fmt.Errorf("stopped the guest %v after a fatal kernel message", fatalGrace)
	case stalled && ctx.Err() == nil:
		rep.Stalled = m.idle
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		rep.TimedOut = m.timeout
	case ctx.Err() != nil:
		rep.RunErr = fmt.Errorf("interrupted: %w", ctx.Err())
	case werr != nil:
		rep.RunErr = fmt.Errorf("%s: %w", a.qemu, werr)
	}
}

// fatalGrace is how long a guest may go on after a fatal kernel message,
// for the rest of the report to reach the console.
const fatalGrace = 5 * time.Second

func trimNL(s string) string {
	for len(s) > 0 && (s[len(s)-1] == '\n' || s[len(s)-1] == '\r') {
		s = s[:len(s)-1]
	}
	return s
}
