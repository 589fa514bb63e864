package vmtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Options configure a run of the VM suite.
type Options struct {
	Repo     string   // repository root (holds go.mod)
	Cache    string   // default <Repo>/.cache/vmtest
	Kernels  []Kernel // default: the whole matrix
	Packages string   // default <Repo>/internal/vmtest/packages.txt
	// Only narrows the run to these packages (import paths or ./dir),
	// listed in packages.txt or not; empty runs every listed package.
	Only []string
	// Run replaces the -run regexp of every package that runs, and drops
	// its -skip: `make vmtest VMRUN=TestX`.
	Run string
	// Compat386 are packages (./dir or import paths) whose tests are also
	// built with GOARCH=386 and run in the amd64 guests after the native
	// ones, in compat mode as make compat386 runs them on a host that can
	// exec i386 binaries: for hosts that cannot (IA-32 emulation off), so
	// that the 32-bit proof never silently disappears. Each keeps its
	// packages.txt options when it is listed there.
	Compat386 []string
	Parallel  int           // guests at once; default 2, which fits 2 host cores
	CPUs      int           // guest CPUs; default 2
	Memory    string        // guest RAM; default 1G
	Timeout   time.Duration // per guest, from QEMU's start to power-off
	Idle      time.Duration // per guest, longest console silence; default 5m

	// BootProbes are kprobe definitions put on each test boot's command
	// line, encoded by kprobeevents as kprobe_event=<value> (see
	// DefaultBootProbes); none boots without.
	BootProbes []string
	// BootArgs, when set, gives each kernel's kprobe_event= value instead
	// of BootProbes: vmrun renders `tracelet bootargs` of a script for the
	// guest's architecture and series, and its types from the kernel
	// image (ImageBTF) where it carries them.
	BootArgs func(k Kernel, image string) (string, error)

	// Fixtures boots with tracelet.mode=fixtures: the guest runs
	// fixturerec, and the files it sends back are written to
	// <FixturesDir>/<uname -r>/.
	Fixtures    bool
	FixturesDir string // default <Repo>/testdata/kernels

	FetchOnly bool      // resolve, download and unpack; boot nothing
	Out       io.Writer // progress and guest consoles
}

// DefaultTimeout bounds one guest from QEMU's start to its power-off. A 6.1
// TCG boot takes 2 s (arm64: 5 s) and the tests take a few minutes at most;
// the margin is for a loaded host.
const DefaultTimeout = 20 * time.Minute

// DefaultIdle is how long a guest may print nothing before it counts as
// hung. go test -test.v prints each test's start, and no guest test runs
// silent for minutes. It is longer than DefaultPackageTimeout, so that a
// hung package fails by itself first.
const DefaultIdle = 4 * time.Minute

func (o *Options) defaults() error {
	if o.Repo == "" {
		return errors.New("vmtest: Options.Repo is empty")
	}
	abs, err := filepath.Abs(o.Repo)
	if err != nil {
		return err
	}
	o.Repo = abs
	if o.Cache == "" {
		o.Cache = filepath.Join(o.Repo, ".cache", "vmtest")
	}
	if len(o.Kernels) == 0 {
		o.Kernels = Kernels()
	}
	if o.Packages == "" {
		o.Packages = filepath.Join(o.Repo, "internal", "vmtest", "packages.txt")
	}
	if o.Parallel <= 0 {
		o.Parallel = 2
	}
	if o.CPUs <= 0 {
		o.CPUs = 2
	}
	if o.Memory == "" {
		o.Memory = "1G"
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Idle <= 0 {
		o.Idle = DefaultIdle
	}
	if o.FixturesDir == "" {
		o.FixturesDir = filepath.Join(o.Repo, "testdata", "kernels")
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	return nil
}

// Run fetches, builds and boots every kernel of o.Kernels and returns one
// report per kernel, in matrix order. The error covers setup (fetching,
// building); a guest's failure is in its report (Report.Err), so that every
// kernel runs even when one fails.
func Run(ctx context.Context, o Options) ([]*Report, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	out := &lockedWriter{w: o.Out}
	if err := os.MkdirAll(o.Cache, 0o755); err != nil {
		return nil, err
	}
	assets, err := fetchAll(ctx, o, out)
	if err != nil || o.FetchOnly {
		return nil, err
	}

	module, err := readModule(filepath.Join(o.Repo, "go.mod"))
	if err != nil {
		return nil, err
	}
	pf, err := os.Open(o.Packages)
	if err != nil {
		return nil, err
	}
	pkgs, err := ParsePackages(pf, module)
	pf.Close()
	if err != nil {
		return nil, err
	}
	listed := pkgs
	if pkgs, err = Narrow(pkgs, o.Only, o.Run, module); err != nil {
		return nil, err
	}
	// Each run builds in a directory of its own: several people may run
	// the suite from one checkout at once, and a shared build directory
	// would have one run pack another's half-written binaries.
	if err := os.MkdirAll(filepath.Join(o.Cache, "build"), 0o755); err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp(filepath.Join(o.Cache, "build"), "run-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	// The compat packages keep their packages.txt lines whatever -pkg
	// narrowed the native run to.
	compat, err := Narrow(listed, o.Compat386, o.Run, module)
	if err != nil {
		return nil, fmt.Errorf("-compat386: %w", err)
	}
	if len(o.Compat386) == 0 {
		compat = nil
	}
	for i := range compat {
		compat[i].GOARCH, compat[i].Arches = "386", "amd64"
	}
	b := &builder{repo: o.Repo, module: module, work: work, pkgs: pkgs, compat: compat, log: out}
	images := map[string]*image{}
	for _, a := range assets {
		if images[a.Kernel.Arch] != nil {
			continue
		}
		start := time.Now()
		// The image of an architecture serves each of its kernels: it
		// holds the modules of all of them, each under its release.
		files := map[string]string{}
		for _, o := range assets {
			if o.Kernel.Arch == a.Kernel.Arch {
				maps.Copy(files, o.Modules)
			}
		}
		maps.Copy(files, a.Libc)
		img, err := b.build(ctx, a.Kernel.Arch, a.Busybox, files)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(out, "vmtest: %s image built in %v\n", a.Kernel.Arch, time.Since(start).Round(time.Millisecond))
		images[a.Kernel.Arch] = img
	}

	logs := filepath.Join(o.Cache, "logs")
	if err := os.MkdirAll(logs, 0o755); err != nil {
		return nil, err
	}
	pruneLogs(logs, 24*time.Hour)
	reports := make([]*Report, len(assets))
	for i, a := range assets {
		rep := &Report{Kernel: a.Kernel, Release: a.Release}
		if o.Fixtures {
			rep.Expected = []string{"fixtures"}
		} else {
			for _, t := range images[a.Kernel.Arch].tests {
				rep.Expected = append(rep.Expected, t.pkg.Name())
			}
		}
		reports[i] = rep
	}
	// Longest first: an emulated arm64 guest takes several times as long as
	// an x86_64 one on an x86_64 host, so it starts at once and the others
	// share the second slot.
	order := make([]int, len(assets))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(x, y int) bool {
		return assets[order[x]].Kernel.Arch != runtime.GOARCH && assets[order[y]].Kernel.Arch == runtime.GOARCH
	})
	sem := make(chan struct{}, o.Parallel)
	var wg sync.WaitGroup
	for _, i := range order {
		a, rep := assets[i], reports[i]
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			runGuest(ctx, o, a, images[a.Kernel.Arch], rep, out, logs)
		}()
	}
	wg.Wait()

	if o.Fixtures {
		for _, rep := range reports {
			if err := writeFixtures(o.FixturesDir, rep); err != nil {
				rep.FileErrs = append(rep.FileErrs, err.Error())
			} else if len(rep.Files) > 0 {
				fmt.Fprintf(out, "vmtest: %s: wrote %d fixture files to %s\n", rep.Kernel.Name, len(rep.Files), filepath.Join(o.FixturesDir, rep.Release))
			}
		}
	}
	return reports, nil
}

func runGuest(ctx context.Context, o Options, a *Assets, img *image, rep *Report, out io.Writer, logs string) {
	var ev string
	if !o.Fixtures {
		var err error
		if o.BootArgs != nil {
			ev, err = o.BootArgs(a.Kernel, a.Image)
		} else {
			ev, err = BootKprobeEvent(a.Kernel, o.BootProbes)
		}
		if err != nil {
			rep.RunErr = err
			return
		}
	}
	spec, err := archOf(a.Kernel.Arch)
	if err != nil {
		rep.RunErr = err
		return
	}
	cmdline, err := kernelCmdline(spec.console, ev, o.Fixtures, spec.bootArgs...)
	if err != nil {
		rep.RunErr = err
		return
	}
	accel, err := accelFor(a.Kernel)
	if err != nil {
		rep.RunErr = err
		return
	}
	// The pid keeps concurrent runs from one checkout apart.
	rep.LogPath = filepath.Join(logs, fmt.Sprintf("%s-%d.log", a.Kernel.Name, os.Getpid()))
	lf, err := os.Create(rep.LogPath)
	if err != nil {
		rep.RunErr = err
		return
	}
	defer lf.Close()
	fmt.Fprintf(out, "vmtest: booting %s (%s, %s, -append %q)\n", a.Kernel.Name, a.Release, accel, cmdline)
	scratch, removeScratch, err := newScratch(a, logs)
	if err != nil {
		rep.RunErr = err
		return
	}
	defer removeScratch()
	m := machine{assets: a, initrd: img.initrd, scratch: scratch, cmdline: cmdline, accel: accel, memory: o.Memory, cpus: o.CPUs, timeout: o.Timeout, idle: o.Idle}
	boot(ctx, m, rep, &prefixWriter{w: out, prefix: "[" + a.Kernel.Name + "] "}, lf)
	if crash := rep.EarlyCrash(); crash != "" && ctx.Err() == nil {
		// The kernel died before /init ran: nothing of tracelet's had
		// run yet, so no test can have caused it. Under TCG on a loaded
		// host this happens now and then (a double fault in
		// kmem_cache_alloc_node at 0.42 s, with EFLAGS no real CPU
		// produces, on 6.12-amd64). Such a boot, and only such a boot,
		// is tried once more; the summary names the first crash.
		fmt.Fprintf(out, "vmtest: %s crashed before /init ran (%s): booting it once more (log %s)\n", a.Kernel.Name, crash, rep.LogPath)
		fresh := &Report{Kernel: rep.Kernel, Release: rep.Release, Expected: rep.Expected, LogPath: rep.LogPath + ".reboot", BootCrash: crash + " (first boot; log " + rep.LogPath + ")"}
		lf2, err := os.Create(fresh.LogPath)
		if err != nil {
			rep.RunErr = err
			return
		}
		defer lf2.Close()
		*rep = *fresh
		boot(ctx, m, rep, &prefixWriter{w: out, prefix: "[" + a.Kernel.Name + "] "}, lf2)
	}
	verdict := "PASS"
	if err := rep.Err(); err != nil {
		verdict = "FAIL"
	}
	fmt.Fprintf(out, "vmtest: %s %s in %v (log %s)\n", a.Kernel.Name, verdict, rep.Elapsed.Round(100*time.Millisecond), rep.LogPath)
}

// writeFixtures stores the files a fixture run sent back under
// dir/<release>/, replacing the files of the same names.
func writeFixtures(dir string, rep *Report) error {
	if len(rep.Files) == 0 {
		return nil
	}
	if rep.Release == "" || strings.ContainsAny(rep.Release, "/\\") || strings.HasPrefix(rep.Release, ".") {
		return fmt.Errorf("bad kernel release %q for a fixture directory", rep.Release)
	}
	base := filepath.Join(dir, rep.Release)
	for name, data := range rep.Files {
		p := filepath.Join(base, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// lockedWriter serialises writes of concurrent guests, one line at a time.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// prefixWriter tags each line with its kernel; callers write whole lines.
type prefixWriter struct {
	w      io.Writer
	prefix string
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	if _, err := p.w.Write(append([]byte(p.prefix), b...)); err != nil {
		return 0, err
	}
	return len(b), nil
}

// fetchAll resolves and downloads every kernel under an exclusive lock on
// the cache, which concurrent runs from one checkout share: apt-get and the
// unpacking would otherwise race on the same files.
func fetchAll(ctx context.Context, o Options, out io.Writer) ([]*Assets, error) {
	lf, err := os.OpenFile(filepath.Join(o.Cache, "fetch.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	defer lf.Close() // closing drops the lock
	if err := unix.Flock(int(lf.Fd()), unix.LOCK_EX); err != nil {
		return nil, fmt.Errorf("locking %s: %w", lf.Name(), err)
	}
	if err := ensureTools(ctx, o.Kernels, out); err != nil {
		return nil, err
	}
	f := newFetcher(o.Cache, out)
	assets := make([]*Assets, len(o.Kernels))
	for i, k := range o.Kernels {
		a, err := f.fetch(ctx, k)
		if err != nil {
			return nil, err
		}
		assets[i] = a
		fmt.Fprintf(out, "vmtest: %s is %s (%s %s)\n", k.Name, a.Release, a.Package.Name, a.Package.Version)
	}
	return assets, nil
}

// pruneLogs removes console logs older than age; each run writes its own.
func pruneLogs(dir string, age time.Duration) {
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if fi, err := e.Info(); err == nil && fi.Mode().IsRegular() && time.Since(fi.ModTime()) > age {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}
