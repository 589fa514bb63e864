package vmtest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// Assets are the host files one guest boots from.
type Assets struct {
	Kernel  Kernel
	Package debPackage // the linux-image package it came from
	Release string     // uname -r of the guest: "6.1.0-56-cloud-amd64"
	Image   string     // bootable kernel: bzImage (x86), uncompressed Image (arm64, riscv64), zImage (armhf), ELF (mipsel)
	Config  string     // the kernel's config, kept for diagnosing missing features
	Busybox string     // static busybox for the guest's architecture
	// Libc maps guest paths to host files of Debian's shared C library
	// (libc.so.6 and the loader, from libc6) and its static ldconfig (from
	// libc-bin), which /init runs to write the guest's /etc/ld.so.cache:
	// library uprobes resolve libc through that cache, as on a real system.
	Libc map[string]string
	// Modules maps guest paths under /lib/modules/RELEASE to host files
	// of the kernel modules that tests load themselves (guestModules),
	// where the package has them.
	Modules map[string]string
}

// fetcher downloads into the cache shared by all kernels; one mutex per
// architecture keeps two kernels of one architecture from racing on its apt
// root.
type fetcher struct {
	cache string
	log   io.Writer
	mu    sync.Mutex
	arch  map[string]*sync.Mutex
}

func newFetcher(cache string, log io.Writer) *fetcher {
	return &fetcher{cache: cache, log: log, arch: map[string]*sync.Mutex{}}
}

func (f *fetcher) lock(arch string) func() {
	f.mu.Lock()
	m := f.arch[arch]
	if m == nil {
		m = new(sync.Mutex)
		f.arch[arch] = m
	}
	f.mu.Unlock()
	m.Lock()
	return m.Unlock
}

// ensureTools installs the emulators the kernels need, and the decompressors
// ImageBTF uses, when they are missing.
// apt-get install is idempotent, but asking it only when a binary is missing
// keeps runs offline-capable and quiet.
func ensureTools(ctx context.Context, ks []Kernel, log io.Writer) error {
	var missing []string
	seen := map[string]bool{}
	for _, k := range ks {
		a, err := archOf(k.Arch)
		if err != nil {
			return err
		}
		if _, err := exec.LookPath(a.qemu); err != nil && !seen[a.pkg] {
			seen[a.pkg] = true
			missing = append(missing, a.pkg)
		}
	}
	// ImageBTF decompresses xz and zstd bzImage payloads with these (for
	// the member-chain boot probe, from the guest image's own BTF).
	for tool, pkg := range map[string]string{"xz": "xz-utils", "zstd": "zstd"} {
		if _, err := exec.LookPath(tool); err != nil && !seen[pkg] {
			seen[pkg] = true
			missing = append(missing, pkg)
		}
	}
	if _, err := exec.LookPath("dpkg-deb"); err != nil {
		return errors.New("dpkg-deb not found: the VM suite unpacks Debian packages and needs a Debian-based host")
	}
	if len(missing) == 0 {
		return nil
	}
	sort.Strings(missing)
	if os.Geteuid() != 0 {
		return fmt.Errorf("missing %s: run as root, or apt-get install %s", strings.Join(missing, ", "), strings.Join(missing, " "))
	}
	fmt.Fprintf(log, "vmtest: apt-get install %s\n", strings.Join(missing, " "))
	cmd := exec.CommandContext(ctx, "apt-get", append([]string{"install", "-y", "-q", "--no-install-recommends"}, missing...)...)
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("apt-get install %s: %v\n%s", strings.Join(missing, " "), err, out)
	}
	return nil
}

// fetch resolves the newest package of the kernel's series, downloads it and
// busybox-static, and unpacks what the guest boots from.
func (f *fetcher) fetch(ctx context.Context, k Kernel) (*Assets, error) {
	defer f.lock(k.Arch)()
	apt := newAptRoot(f.cache, k.Arch, k.Suite, f.log)
	if err := apt.update(ctx); err != nil {
		return nil, err
	}
	debs := filepath.Join(f.cache, "debs")
	if err := os.MkdirAll(debs, 0o755); err != nil {
		return nil, err
	}

	kpkg, err := apt.newest(ctx, k.packagePrefix(), k.PackagePattern())
	if err != nil {
		return nil, fmt.Errorf("kernel %s: %w", k.Name, err)
	}
	kdeb, err := apt.download(ctx, kpkg, debs)
	if err != nil {
		return nil, err
	}
	as := &Assets{Kernel: k, Package: kpkg}
	kdir := filepath.Join(f.cache, "kernels", kpkg.Name+"_"+kpkg.Version)
	if as.Release, err = extractKernel(kdeb, kdir); err != nil {
		return nil, fmt.Errorf("kernel %s: %w", k.Name, err)
	}
	as.Image = filepath.Join(kdir, "vmlinuz")
	as.Config = filepath.Join(kdir, "config")
	if as.Modules, err = extractModules(kdeb, kdir, as.Release); err != nil {
		return nil, fmt.Errorf("kernel %s: %w", k.Name, err)
	}

	if k.Suite != "" {
		// Only the kernel is the older suite's: the guest's busybox and
		// libc stay the architecture's, which the image builder knows.
		apt = newAptRoot(f.cache, k.Arch, "", f.log)
		if err := apt.update(ctx); err != nil {
			return nil, err
		}
	}
	bpkg, err := apt.newest(ctx, "busybox-static", exactName("busybox-static"))
	if err != nil {
		return nil, err
	}
	bdeb, err := apt.download(ctx, bpkg, debs)
	if err != nil {
		return nil, err
	}
	as.Busybox = filepath.Join(f.cache, "busybox", bpkg.Version+"_"+k.Arch, "busybox")
	if err := extractFiles(bdeb, map[string]string{"bin/busybox": as.Busybox}); err != nil {
		return nil, err
	}
	if as.Libc, err = f.fetchLibc(ctx, apt, k.Arch, debs); err != nil {
		return nil, err
	}
	return as, nil
}

// fetchLibc downloads libc6 and libc-bin of the architecture and unpacks
// libc.so.6, the loader and /sbin/ldconfig (statically linked in Debian, so
// it runs in the guest; the host's ldconfig skips foreign-architecture
// libraries, so the cache is made where it is used).
func (f *fetcher) fetchLibc(ctx context.Context, apt aptRoot, arch, debs string) (map[string]string, error) {
	spec, err := archOf(arch)
	if err != nil {
		return nil, err
	}
	libDir := "lib/" + spec.triplet + "/"
	out := map[string]string{}
	for _, name := range []string{"libc6", "libc-bin"} {
		pkg, err := apt.newest(ctx, name, exactName(name))
		if err != nil {
			return nil, err
		}
		deb, err := apt.download(ctx, pkg, debs)
		if err != nil {
			return nil, err
		}
		dir := filepath.Join(f.cache, "libc", pkg.Name+"_"+pkg.Version+"_"+arch)
		want := map[string]string{}
		if name == "libc-bin" {
			want["sbin/ldconfig"] = filepath.Join(dir, "ldconfig")
			out["/sbin/ldconfig"] = want["sbin/ldconfig"]
		} else {
			for _, lib := range []string{"libc.so.6", spec.loader} {
				want[libDir+lib] = filepath.Join(dir, lib)
				out["/"+libDir+lib] = want[libDir+lib]
			}
		}
		if err := extractFiles(deb, want); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// extractKernel unpacks boot/vmlinuz-*, boot/config-* and boot/System.map-*
// into dir (once; a "release" file marks a finished unpack) and returns the
// kernel release. Only /boot is read from the package: the modules are not
// needed, because Debian's cloud kernels build tracefs, kprobes, the 8250 and
// PL011 consoles and initramfs support in.
func extractKernel(deb, dir string) (string, error) {
	if b, err := os.ReadFile(filepath.Join(dir, "release")); err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	var release string
	err := walkDeb(deb, func(name string, r io.Reader) error {
		dirName, base := path.Split(name)
		if dirName != "boot/" {
			return nil
		}
		for _, kind := range []string{"vmlinuz", "vmlinux", "config", "System.map"} {
			rel, ok := strings.CutPrefix(base, kind+"-")
			if !ok {
				continue
			}
			// mipsel's malta flavour ships an ELF vmlinux, which is
			// what QEMU's -kernel loads there.
			if kind == "vmlinuz" || kind == "vmlinux" {
				release = rel
				return writeKernelImage(filepath.Join(dir, "vmlinuz"), r)
			}
			return writeFile(filepath.Join(dir, kind), r, 0o644)
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("unpacking %s: %w", deb, err)
	}
	if release == "" {
		return "", fmt.Errorf("%s has no boot/vmlinuz-* or boot/vmlinux-*", deb)
	}
	return release, os.WriteFile(filepath.Join(dir, "release"), []byte(release+"\n"), 0o644)
}

// guestModules are the modules, under /lib/modules/RELEASE, that the guest
// gets from its kernel's package, compressed as the package has them
// (Debian's 6.12 modules are .ko.xz, which the kernel unpacks itself):
// brd, the RAM disk, has no dependencies, and its functions are what
// fentry:MODULE:FUNCTION tests attach to (module BTF).
var guestModules = []string{"kernel/drivers/block/brd.ko"}

// extractModules unpacks guestModules from the kernel's package into dir
// (once; a "modules" file lists them) and returns them by guest path. A
// package without them gives none: the tests that need them skip.
func extractModules(deb, dir, release string) (map[string]string, error) {
	list := filepath.Join(dir, "modules")
	out := map[string]string{}
	if b, err := os.ReadFile(list); err == nil {
		for _, name := range strings.Fields(string(b)) {
			out["/"+name] = filepath.Join(dir, name)
		}
		return out, nil
	}
	prefix := "lib/modules/" + release + "/"
	var names []string
	err := walkDeb(deb, func(name string, r io.Reader) error {
		name = strings.TrimPrefix(name, "usr/")
		rel, ok := strings.CutPrefix(name, prefix)
		if !ok {
			return nil
		}
		for _, m := range guestModules {
			if rel == m || strings.HasPrefix(rel, m+".") && !strings.Contains(rel[len(m)+1:], "/") {
				dst := filepath.Join(dir, name)
				if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
					return err
				}
				names = append(names, name)
				out["/"+name] = dst
				return writeFile(dst, r, 0o644)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("unpacking %s: %w", deb, err)
	}
	return out, os.WriteFile(list, []byte(strings.Join(names, "\n")+"\n"), 0o644)
}

// writeKernelImage stores the kernel uncompressed when it is gzip'd: arm64
// packages may ship vmlinuz as a gzip'd Image, and QEMU's -kernel on the virt
// machine boots only a raw Image (x86's bzImage carries its own decompressor).
func writeKernelImage(dst string, r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if len(b) > 2 && b[0] == 0x1f && b[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return err
		}
		if b, err = io.ReadAll(zr); err != nil {
			return fmt.Errorf("decompressing kernel image: %w", err)
		}
	}
	return writeFile(dst, bytes.NewReader(b), 0o644)
}

// extractFiles copies named members of a .deb to host paths, unless they are
// all there already. A name is found under usr/ too.
func extractFiles(deb string, want map[string]string) error {
	done := true
	for _, dst := range want {
		if _, err := os.Stat(dst); err != nil {
			done = false
		}
	}
	if done {
		return nil
	}
	found := 0
	err := walkDeb(deb, func(name string, r io.Reader) error {
		dst, ok := want[name]
		if !ok {
			// Packages built for a merged /usr (trixie's) ship
			// bin/busybox as usr/bin/busybox, lib/… as usr/lib/….
			dst, ok = want[strings.TrimPrefix(name, "usr/")]
		}
		if !ok {
			return nil
		}
		found++
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return writeFile(dst, r, 0o755)
	})
	if err != nil {
		return fmt.Errorf("unpacking %s: %w", deb, err)
	}
	if found != len(want) {
		return fmt.Errorf("%s lacks some of %v", deb, want)
	}
	return nil
}

// walkDeb streams the regular files of a package's data archive. dpkg-deb
// does the ar and xz/zstd work, so no decompressor outside the standard
// library is needed here.
func walkDeb(deb string, fn func(name string, r io.Reader) error) error {
	cmd := exec.Command("dpkg-deb", "--fsys-tarfile", deb)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	tr := tar.NewReader(pipe)
	var walkErr error
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			walkErr = err
			break
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		if err := fn(strings.TrimPrefix(path.Clean(h.Name), "./"), tr); err != nil {
			walkErr = err
			break
		}
	}
	io.Copy(io.Discard, pipe)
	if err := cmd.Wait(); err != nil && walkErr == nil {
		walkErr = fmt.Errorf("dpkg-deb --fsys-tarfile: %v: %s", err, stderr.String())
	}
	return walkErr
}

// writeFile writes atomically, so that an interrupted fetch never leaves a
// truncated kernel in the cache.
func writeFile(dst string, r io.Reader, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".tmp-")
	if err != nil {
		return err
	}
	_, err = io.Copy(tmp, r)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), mode)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), dst)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}
