package vmtest

import (
	"compress/gzip"
	"context"
	"debug/elf"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// image is the initramfs of one architecture; every kernel of that
// architecture boots the same image.
type image struct {
	arch   string
	initrd string
	tests  []guestTest
}

// maxTestdata bounds what is copied into guest RAM from testdata trees.
const maxTestdata = 256 << 20

// builder cross-compiles the guest binaries and packs the image.
type builder struct {
	repo   string
	module string
	work   string // .cache/vmtest/build
	pkgs   []GuestPackage
	// compat are the packages whose GOARCH=386 tests the amd64 guests run
	// as well (vmrun -compat386): a 32-bit tracer on a 64-bit kernel.
	compat []GuestPackage
	log    io.Writer
}

// goBuild runs the go tool for the guest: static (CGO_ENABLED=0), linux,
// GOARCH (and GOARM, GOMIPS) of the guest's Debian architecture. Symbols
// stay in: uprobe tests resolve their targets through .symtab.
func (b *builder) goBuild(ctx context.Context, arch string, args ...string) error {
	spec, err := archOf(arch)
	if err != nil {
		return err
	}
	return b.goBuildEnv(ctx, spec.goEnv(), args...)
}

// goBuildEnv runs the go tool with env (CGO_ENABLED, GOOS, GOARCH, ...).
func (b *builder) goBuildEnv(ctx context.Context, env []string, args ...string) error {
	cmd := exec.CommandContext(ctx, goTool(), args...)
	cmd.Dir = b.repo
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s go %s: %v\n%s", strings.Join(env[2:], " "), strings.Join(args, " "), err, out)
	}
	return nil
}

func goTool() string {
	if g := os.Getenv("GO"); g != "" {
		return g
	}
	if p := filepath.Join(os.Getenv("GOROOT"), "bin", "go"); os.Getenv("GOROOT") != "" && fileExists(p) {
		return p
	}
	return "go"
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// compatTestprogEnv is the go build environment of the 32-bit testprog of
// the guests whose kernels run 32-bit processes (CONFIG_IA32_EMULATION on
// Debian's amd64 kernels, CONFIG_COMPAT on its arm64 ones).
var compatTestprogEnv = map[string][]string{
	"amd64": {"GOARCH=386"},
	"arm64": {"GOARCH=arm", "GOARM=7"},
}

// hasGoFiles reports whether dir holds a Go package (not only tests).
func hasGoFiles(dir string) bool {
	m, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	for _, f := range m {
		if !strings.HasSuffix(f, "_test.go") {
			return true
		}
	}
	return false
}

// build compiles everything for arch and writes the gzip'd cpio.
func (b *builder) build(ctx context.Context, arch, busybox string, files map[string]string) (*image, error) {
	dir := filepath.Join(b.work, arch)
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "tests"), 0o755); err != nil {
		return nil, err
	}
	spec, err := archOf(arch)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(b.log, "vmtest: building the %s guest image (%d test packages)\n", arch, len(b.pkgs))

	bins := map[string]string{} // guest path -> host path
	testprog := filepath.Join(dir, "testprog")
	if err := b.goBuild(ctx, arch, "build", "-o", testprog, "./internal/testprog"); err != nil {
		return nil, err
	}
	bins[guestTestprog] = testprog
	// The guest has no toolchain: what tests would build or run through
	// the go tool comes prebuilt (testenv.StrippedTestProg, testenv.GoNm).
	stripped := filepath.Join(dir, "testprog-stripped")
	if err := b.goBuild(ctx, arch, "build", "-ldflags=-s -w", "-o", stripped, "./internal/testprog"); err != nil {
		return nil, err
	}
	bins[guestStripped] = stripped
	// The 32-bit testprog that a 64-bit kernel runs as a compat process
	// (testenv.TestProg32): i386 under x86_64, armv7 under arm64.
	if env := compatTestprogEnv[arch]; env != nil {
		p := filepath.Join(dir, "testprog-compat")
		if err := b.goBuildEnv(ctx, append([]string{"CGO_ENABLED=0", "GOOS=linux"}, env...), "build", "-o", p, "./internal/testprog"); err != nil {
			return nil, err
		}
		bins[guestTestprogCompat] = p
	}
	nm := filepath.Join(dir, "go-nm")
	if err := b.goBuild(ctx, arch, "build", "-o", nm, "cmd/nm"); err != nil {
		return nil, err
	}
	bins[guestNm] = nm
	rec := filepath.Join(dir, "fixturerec")
	if err := b.goBuild(ctx, arch, "build", "-o", rec, "./internal/vmtest/fixturerec"); err != nil {
		return nil, err
	}
	bins[guestFixtures] = rec
	// A cmd/tracelet that does not build leaves /bin/tracelet out instead
	// of stopping the suite: the guest tests that run it then fail where
	// they need it, and every other test still runs.
	if tl, err := b.tracelet(ctx, arch, dir); err != nil {
		fmt.Fprintf(b.log, "vmtest: WARNING: no /bin/tracelet in the %s guest: %v\n", arch, err)
	} else if tl != "" {
		bins[guestTracelet] = tl
	}

	for g, h := range files {
		bins[g] = h
	}
	img := &image{arch: arch}
	pkgs := b.pkgs
	if arch == "amd64" {
		pkgs = append(append([]GuestPackage(nil), pkgs...), b.compat...)
	}
	for _, p := range pkgs {
		if !p.OnArch(arch) {
			continue
		}
		// A compat build keeps the binary's own name (tests compare the
		// comm with it) in a directory of its GOARCH.
		name := strings.ReplaceAll(p.Dir, "/", "_") + ".test"
		sub := ""
		env := []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=" + p.GOARCH}
		if p.GOARCH == "" {
			env = spec.goEnv()
		} else {
			sub = p.GOARCH + "/"
			if err := os.MkdirAll(filepath.Join(dir, "tests", p.GOARCH), 0o755); err != nil {
				return nil, err
			}
		}
		out := filepath.Join(dir, "tests", filepath.FromSlash(sub), name)
		if err := b.goBuildEnv(ctx, env, "test", "-c", "-o", out, "./"+p.Dir); err != nil {
			return nil, fmt.Errorf("packages.txt:%d: %w", p.Line, err)
		}
		if !fileExists(out) {
			return nil, fmt.Errorf("packages.txt:%d: %s has no tests (go test -c wrote no binary); remove the line", p.Line, p.Dir)
		}
		gp := guestTests + "/" + sub + name
		bins[gp] = out
		img.tests = append(img.tests, guestTest{pkg: p, bin: gp})
	}

	img.initrd = filepath.Join(dir, "initrd.gz")
	if err := b.pack(img, busybox, bins); err != nil {
		return nil, fmt.Errorf("packing %s: %w", img.initrd, err)
	}
	return img, nil
}

// tracelet returns the guest's tracelet binary: built from cmd/tracelet
// when it has sources, else ./tracelet when it is a static binary for arch,
// else nothing.
func (b *builder) tracelet(ctx context.Context, arch, dir string) (string, error) {
	// TRACELET_VM_DIST puts the release binary dist/tracelet-linux-ARCH
	// (make release) in the guest instead (make vmtest-release).
	spec, err := archOf(arch)
	if err != nil {
		return "", err
	}
	if d := os.Getenv("TRACELET_VM_DIST"); d != "" {
		p := filepath.Join(d, "tracelet-linux-"+spec.release)
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("TRACELET_VM_DIST: %w", err)
		}
		return p, nil
	}
	if hasGoFiles(filepath.Join(b.repo, "cmd", "tracelet")) {
		out := filepath.Join(dir, "tracelet")
		return out, b.goBuild(ctx, arch, "build", "-o", out, "./cmd/tracelet")
	}
	p := filepath.Join(b.repo, "tracelet")
	f, err := elf.Open(p)
	if err != nil {
		return "", nil
	}
	defer f.Close()
	if f.Machine != spec.elf {
		return "", nil
	}
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			return "", nil // dynamically linked: would not run in the guest
		}
	}
	return p, nil
}

// pack writes the newc archive: directories, /dev/console, busybox, /init,
// the binaries, and the repository's testdata trees under /src in the
// repository's layout, so that each package runs from /src/<dir> and finds
// testdata/ and ../testdata where it does on the host.
func (b *builder) pack(img *image, busybox string, bins map[string]string) error {
	f, err := os.Create(img.initrd)
	if err != nil {
		return err
	}
	defer f.Close()
	zw, err := gzip.NewWriterLevel(f, gzip.BestSpeed)
	if err != nil {
		return err
	}
	w := newCpioWriter(zw)
	made := map[string]bool{}
	mkdir := func(p string) error {
		var parts []string
		for d := path.Clean(p); d != "/" && d != "." && !made[d]; d = path.Dir(d) {
			parts = append(parts, d)
		}
		for i := len(parts) - 1; i >= 0; i-- {
			made[parts[i]] = true
			if err := w.Dir(parts[i], 0o755); err != nil {
				return err
			}
		}
		return nil
	}
	addFile := func(guest, host string, perm uint32) error {
		if err := mkdir(path.Dir(guest)); err != nil {
			return err
		}
		hf, err := os.Open(host)
		if err != nil {
			return err
		}
		defer hf.Close()
		fi, err := hf.Stat()
		if err != nil {
			return err
		}
		return w.File(guest, perm, fi.Size(), hf)
	}

	for _, d := range []string{"/bin", "/sbin", "/usr/bin", "/usr/sbin", "/etc", "/proc", "/sys", "/dev", "/tmp", "/root", "/var/tracelet", guestSrc, guestTests} {
		if err := mkdir(d); err != nil {
			return err
		}
	}
	if err := w.CharDev("/dev/console", 0o600, 5, 1); err != nil {
		return err
	}
	if err := addFile("/bin/busybox", busybox, 0o755); err != nil {
		return err
	}
	// busybox --install in /init creates the applet links; sh must exist
	// before that, for the #! line.
	if err := w.Symlink("/bin/sh", "busybox"); err != nil {
		return err
	}
	// ldconfig in /init reads this; the triplet directory is where
	// Debian's libc6 puts libc.so.6.
	if spec, err := archOf(img.arch); err == nil {
		conf := "/lib/" + spec.triplet + "\n"
		if err := w.File("/etc/ld.so.conf", 0o644, int64(len(conf)), strings.NewReader(conf)); err != nil {
			return err
		}
	}
	init := initScript(img.tests)
	if err := w.File("/init", 0o755, int64(len(init)), strings.NewReader(init)); err != nil {
		return err
	}
	guestPaths := make([]string, 0, len(bins))
	for g := range bins {
		guestPaths = append(guestPaths, g)
	}
	sort.Strings(guestPaths)
	for _, g := range guestPaths {
		if err := addFile(g, bins[g], 0o755); err != nil {
			return err
		}
	}

	// Test data: the top-level testdata and each package's own.
	var total int64
	trees := []string{"testdata"}
	for _, t := range img.tests {
		if err := mkdir(guestSrc + "/" + t.pkg.Dir); err != nil {
			return err
		}
		trees = append(trees, path.Join(t.pkg.Dir, "testdata"))
	}
	for _, tree := range trees {
		root := filepath.Join(b.repo, filepath.FromSlash(tree))
		if !fileExists(root) {
			continue
		}
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(b.repo, p)
			if err != nil {
				return err
			}
			guest := guestSrc + "/" + filepath.ToSlash(rel)
			switch {
			case d.IsDir():
				return mkdir(guest)
			case d.Type()&fs.ModeSymlink != 0:
				target, err := os.Readlink(p)
				if err != nil {
					return err
				}
				return w.Symlink(guest, target)
			case d.Type().IsRegular():
				fi, err := d.Info()
				if err != nil {
					return err
				}
				if total += fi.Size(); total > maxTestdata {
					return fmt.Errorf("testdata trees exceed %d MiB; the guest holds them in RAM", maxTestdata>>20)
				}
				return addFile(guest, p, uint32(fi.Mode().Perm()))
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	if err := w.Close(); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return f.Close()
}
