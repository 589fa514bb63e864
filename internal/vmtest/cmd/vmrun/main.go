// Command vmrun runs tracelet's VM suite: it boots Debian's kernels in QEMU
// and runs the packages of internal/vmtest/packages.txt inside them.
//
//	go run ./internal/vmtest/cmd/vmrun                       # all kernels
//	go run ./internal/vmtest/cmd/vmrun -kernel 6.1-amd64     # one kernel
//	go run ./internal/vmtest/cmd/vmrun -kernel 6.1-amd64 -pkg ./perf -run 'TestKprobe'
//	go run ./internal/vmtest/cmd/vmrun -fixtures             # record testdata/kernels/<release>/
//	go run ./internal/vmtest/cmd/vmrun -fetch                # download only
//	go run ./internal/vmtest/cmd/vmrun -kernel 6.1-amd64 -compat386 ./perf,./bpf
//	                                                         # also their 386 tests, in compat mode
//
// It exits 1 when any kernel fails.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/tracelet/tracelet/btf"
	"github.com/tracelet/tracelet/internal/vmtest"
	"github.com/tracelet/tracelet/record"
	"github.com/tracelet/tracelet/tracefs"
)

func main() {
	var names []string
	for _, k := range vmtest.Kernels() {
		names = append(names, k.Name)
	}
	kernel := flag.String("kernel", os.Getenv("KERNEL"), "kernels to boot, comma-separated: "+strings.Join(names, ", ")+", or all")
	repo := flag.String("repo", "", "repository root (default: the directory of go.mod above the working directory)")
	fixtures := flag.Bool("fixtures", false, "record fixtures into testdata/kernels/<release>/ instead of running tests")
	fixturesDir := flag.String("fixtures-dir", "", "with -fixtures: write under this directory instead of testdata/kernels")
	fetch := flag.Bool("fetch", false, "install QEMU, download and unpack kernels and busybox, then stop")
	pkgs := flag.String("pkg", os.Getenv("VMPKG"), "only these packages, comma- or space-separated (./dir or import path; need not be in packages.txt)")
	run := flag.String("run", os.Getenv("VMRUN"), "only the tests matching this regexp (replaces each package's -run and -skip)")
	compat := flag.String("compat386", "", "also build these packages' tests with GOARCH=386 and run them in the amd64 guests (compat mode), comma- or space-separated")
	parallel := flag.Int("j", 2, "guests to run at once")
	timeout := flag.Duration("timeout", vmtest.DefaultTimeout, "time limit per guest")
	idle := flag.Duration("idle", vmtest.DefaultIdle, "fail a guest whose console stays silent this long")
	flag.Parse()

	if *repo == "" {
		r, err := findRepo()
		if err != nil {
			fatal(err)
		}
		*repo = r
	}
	ks, err := vmtest.LookupKernels(*kernel)
	if err != nil {
		fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	// Every guest boots with what `tracelet bootargs` prints for the boot
	// script, rendered for its own architecture and series, so that the
	// guests' TestBootKprobeEvent and TestBootArgsCollect check tracelet's
	// boot path from the first moment of boot. TRACELET_VM_BOOTARGS
	// ("kprobe_event=VALUE") replaces it for every kernel.
	bootArgs := func(k vmtest.Kernel, image string) (string, error) {
		if k.NoBootProbes != "" {
			fmt.Printf("vmtest: %s boots without kprobe_event=: %s\n", k.Name, k.NoBootProbes)
			return "", nil
		}
		script := bootScript
		if k.FtraceOwnsEntry {
			script = bootScriptEntry
		}
		v, err := scriptBootArgs(filepath.Join(*repo, script), k)
		if err != nil || k.FtraceOwnsEntry {
			return v, err
		}
		m, err := memberBootArgs(filepath.Join(*repo, bootPlanBTF), k, image)
		if err != nil {
			fmt.Printf("vmtest: %s boots without the member-chain probe of %s: %v\n", k.Name, bootPlanBTF, err)
			return v, nil
		}
		return v + ";" + m, nil
	}
	if s := strings.TrimSpace(os.Getenv("TRACELET_VM_BOOTARGS")); s != "" {
		bootArgs = func(vmtest.Kernel, string) (string, error) { return strings.TrimPrefix(s, "kprobe_event="), nil }
	}
	reports, err := vmtest.Run(ctx, vmtest.Options{
		Repo:        *repo,
		Kernels:     ks,
		Parallel:    *parallel,
		Timeout:     *timeout,
		Idle:        *idle,
		Fixtures:    *fixtures,
		FixturesDir: *fixturesDir,
		FetchOnly:   *fetch,
		Only:        strings.FieldsFunc(*pkgs, func(r rune) bool { return r == ',' || r == ' ' }),
		Run:         *run,
		Compat386:   strings.FieldsFunc(*compat, func(r rune) bool { return r == ',' || r == ' ' }),
		BootArgs:    bootArgs,
		Out:         os.Stdout,
	})
	if err != nil {
		fatal(err)
	}
	if *fetch {
		return
	}
	failed := vmtest.WriteSummary(os.Stdout, reports)
	fmt.Printf("\nvmtest: %d kernel(s), %d failed, %v in all\n", len(reports), failed, time.Since(start).Round(time.Second))
	if failed > 0 {
		os.Exit(1)
	}
}

// bootScript is the script every guest boots with (see record/vm_test.go).
const bootScript = "record/testdata/vmboot.bt"

// bootScriptEntry is its entry probe alone, for the kernels that place no
// return probes (Kernel.FtraceOwnsEntry).
const bootScriptEntry = "record/testdata/vmboot-entry.bt"

// bootPlanBTF is a plan whose probe follows struct members: every guest
// whose image carries BTF boots with it too, compiled to registers and
// offsets from that BTF as `tracelet bootargs --btf` does for a board
// (record's TestBootArgsCollect/MemberChain checks what it recorded).
const bootPlanBTF = "record/testdata/vmbootbtf.plan"

// memberBootArgs is `tracelet bootargs --btf BTF --arch ARCH --kernel SERIES
// PLAN` for kernel k, its types read from its image, without the
// "kprobe_event=" name.
func memberBootArgs(path string, k vmtest.Kernel, image string) (string, error) {
	b, err := vmtest.ImageBTF(image)
	if err != nil {
		return "", err
	}
	spec, err := btf.LoadBytes(b)
	if err != nil {
		return "", fmt.Errorf("%s: %w", image, err)
	}
	g, err := k.Grammar()
	if err != nil {
		return "", err
	}
	g.BTF, g.Offsets = tracefs.KernelBTF(spec), true
	src, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	p, err := tracefs.ParsePlan(path, src, g)
	if err != nil {
		return "", err
	}
	v, err := p.BootArgs(tracefs.BootArgsOptions{Grammar: g})
	if err != nil {
		return "", fmt.Errorf("%s for %s: %w", path, k.Name, err)
	}
	return bootValue(v), nil
}

// scriptBootArgs is `tracelet bootargs --arch ARCH --kernel SERIES SCRIPT`
// for kernel k, without the "kprobe_event=" name.
func scriptBootArgs(path string, k vmtest.Kernel) (string, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	g, err := k.Grammar()
	if err != nil {
		return "", err
	}
	p, err := record.PlanFromScript(path, src, record.ScriptOptions{Grammar: g})
	if err != nil {
		return "", err
	}
	v, err := p.BootArgs(tracefs.BootArgsOptions{Grammar: g, PastFtraceSite: k.FtraceOwnsEntry})
	if err != nil {
		return "", fmt.Errorf("%s for %s: %w", path, k.Name, err)
	}
	return bootValue(v), nil
}

// bootValue is the value of kprobe_event= in what `tracelet bootargs`
// prints; the harness puts the parameters before it (tracefs.BootBufferParam)
// on every boot's command line itself.
func bootValue(args string) string {
	_, v, _ := strings.Cut(args, "kprobe_event=")
	return v
}

func findRepo() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory; pass -repo")
		}
		dir = parent
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "vmrun:", err)
	os.Exit(1)
}
