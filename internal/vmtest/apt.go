package vmtest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// aptRoot is a private apt state for one architecture: its own sources list,
// package lists, archive cache and an empty dpkg status, passed to apt-get and
// apt-cache with -o options. The machine's own sources and lists stay
// untouched, and the arm64 lists can exist on an amd64 host without enabling
// a foreign architecture in dpkg.
type aptRoot struct {
	dir    string // .cache/vmtest/apt/<arch>
	arch   string
	suite  string // bookworm; the architecture's own where archSpec names one
	old    bool   // a kernel's own older suite (Kernel.Suite): no backports
	mirror string // http://deb.debian.org/debian
	secure string // http://deb.debian.org/debian-security
	log    io.Writer
}

// listsMaxAge bounds how stale "newest kernel" may be: older lists are
// refreshed before resolving.
const listsMaxAge = 6 * time.Hour

func newAptRoot(cache, arch, kernelSuite string, log io.Writer) aptRoot {
	suite := envOr("TRACELET_VM_SUITE", hostSuite())
	if spec, err := archOf(arch); err == nil && spec.suite != "" {
		suite = spec.suite
	}
	dir := filepath.Join(cache, "apt", arch)
	if kernelSuite != "" {
		// Lists of their own: the architecture's stay the newest.
		suite, dir = kernelSuite, filepath.Join(cache, "apt", arch+"-"+kernelSuite)
	}
	return aptRoot{
		old:    kernelSuite != "",
		dir:    dir,
		arch:   arch,
		suite:  suite,
		mirror: envOr("TRACELET_VM_MIRROR", "http://deb.debian.org/debian"),
		secure: envOr("TRACELET_VM_SECURITY_MIRROR", "http://deb.debian.org/debian-security"),
		log:    log,
	}
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// hostSuite is the Debian codename of the host, so that the guest kernels
// come from the release the machine runs.
func hostSuite() string {
	b, err := os.ReadFile("/etc/os-release")
	if err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "VERSION_CODENAME="); ok && v != "" {
				return strings.Trim(v, `"`)
			}
		}
	}
	return "bookworm"
}

// sourcesList names the suites that carry cloud kernels: 6.1 in the release
// and its security updates, 6.12 in bookworm-security (and in backports).
func (a aptRoot) sourcesList() string {
	opt := fmt.Sprintf("[arch=%s signed-by=/usr/share/keyrings/debian-archive-keyring.gpg]", a.arch)
	var b strings.Builder
	suites := []string{a.suite, a.suite + "-updates", a.suite + "-backports"}
	if a.old {
		// An old release's backports have moved to archive.debian.org.
		suites = suites[:2]
	}
	for _, s := range suites {
		fmt.Fprintf(&b, "deb %s %s %s main\n", opt, a.mirror, s)
	}
	fmt.Fprintf(&b, "deb %s %s %s-security main\n", opt, a.secure, a.suite)
	return b.String()
}

func (a aptRoot) options() []string {
	return []string{
		"-o", "APT::Architecture=" + a.arch,
		"-o", "APT::Architectures=" + a.arch,
		"-o", "Dir::Etc::SourceList=" + filepath.Join(a.dir, "sources.list"),
		"-o", "Dir::Etc::SourceParts=" + filepath.Join(a.dir, "sources.list.d"),
		"-o", "Dir::Etc::Preferences=" + filepath.Join(a.dir, "preferences"),
		"-o", "Dir::Etc::PreferencesParts=" + filepath.Join(a.dir, "preferences.d"),
		"-o", "Dir::State::Lists=" + filepath.Join(a.dir, "lists"),
		"-o", "Dir::State::status=" + filepath.Join(a.dir, "status"),
		"-o", "Dir::Cache=" + filepath.Join(a.dir, "cache"),
		// apt drops to _apt for downloads, which cannot write into a
		// root-owned cache under the repository.
		"-o", "APT::Sandbox::User=root",
		"-o", "Debug::NoLocking=1",
	}
}

// update writes the private sources and refreshes the lists when they are
// missing or older than listsMaxAge. TRACELET_VM_OFFLINE=1 uses what is there.
func (a aptRoot) update(ctx context.Context) error {
	for _, d := range []string{"lists/partial", "cache/archives/partial", "sources.list.d", "preferences.d"} {
		if err := os.MkdirAll(filepath.Join(a.dir, d), 0o755); err != nil {
			return err
		}
	}
	for name, body := range map[string]string{"sources.list": a.sourcesList(), "status": "", "preferences": ""} {
		p := filepath.Join(a.dir, name)
		if old, err := os.ReadFile(p); err == nil && string(old) == body {
			continue
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			return err
		}
		if name == "sources.list" {
			os.Remove(filepath.Join(a.dir, "updated"))
		}
	}
	stamp := filepath.Join(a.dir, "updated")
	if fi, err := os.Stat(stamp); err == nil && (time.Since(fi.ModTime()) < listsMaxAge || os.Getenv("TRACELET_VM_OFFLINE") == "1") {
		return nil
	}
	fmt.Fprintf(a.log, "vmtest: apt-get update (%s, private lists in %s)\n", a.arch, a.dir)
	if _, err := a.run(ctx, "apt-get", "-q", "update"); err != nil {
		return err
	}
	return os.WriteFile(stamp, nil, 0o644)
}

func (a aptRoot) run(ctx context.Context, tool string, args ...string) ([]byte, error) {
	full := append(a.options(), args...)
	cmd := exec.CommandContext(ctx, tool, full...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%s %s (%s): %v\n%s", tool, strings.Join(args, " "), a.arch, err, stderr.String())
	}
	return out, nil
}

// debPackage is one binary package version that apt can download.
type debPackage struct {
	Name, Version, Arch string
}

// newest resolves the newest version of any package whose name matches re
// (prefix keeps the listing short). Debian keeps several ABI-numbered kernel
// packages around (linux-image-6.1.0-55-…, -56-…); the newest is the one with
// the highest Version, compared as dpkg does.
func (a aptRoot) newest(ctx context.Context, prefix string, re *regexp.Regexp) (debPackage, error) {
	out, err := a.run(ctx, "apt-cache", "pkgnames", prefix)
	if err != nil {
		return debPackage{}, err
	}
	var names []string
	for _, n := range strings.Fields(string(out)) {
		if re.MatchString(n) {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return debPackage{}, fmt.Errorf("no package matching %s in the %s lists of %s", re, a.arch, a.dir)
	}
	out, err = a.run(ctx, "apt-cache", append([]string{"show", "--no-all-versions"}, names...)...)
	if err != nil {
		return debPackage{}, err
	}
	var best debPackage
	for _, p := range parseStanzas(out) {
		if best.Name == "" || compareDebVersions(p.Version, best.Version) > 0 {
			best = p
		}
	}
	if best.Name == "" {
		return debPackage{}, fmt.Errorf("apt-cache show gave no versions for %s", strings.Join(names, " "))
	}
	return best, nil
}

// parseStanzas reads Package/Version/Architecture from apt-cache show output.
func parseStanzas(out []byte) []debPackage {
	var pkgs []debPackage
	var cur debPackage
	flush := func() {
		if cur.Name != "" && cur.Version != "" {
			pkgs = append(pkgs, cur)
		}
		cur = debPackage{}
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			flush()
		case strings.HasPrefix(line, "Package: "):
			cur.Name = strings.TrimPrefix(line, "Package: ")
		case strings.HasPrefix(line, "Version: "):
			cur.Version = strings.TrimPrefix(line, "Version: ")
		case strings.HasPrefix(line, "Architecture: "):
			cur.Arch = strings.TrimPrefix(line, "Architecture: ")
		}
	}
	flush()
	return pkgs
}

// download fetches one exact package version into dir (once) and returns
// the .deb's path.
func (a aptRoot) download(ctx context.Context, p debPackage, dir string) (string, error) {
	dst := filepath.Join(dir, fmt.Sprintf("%s_%s_%s.deb", p.Name, strings.ReplaceAll(p.Version, ":", "%3a"), a.arch))
	if _, err := os.Stat(dst); err == nil {
		return dst, nil
	}
	tmp, err := os.MkdirTemp(dir, ".download-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	fmt.Fprintf(a.log, "vmtest: apt-get download %s=%s (%s)\n", p.Name, p.Version, a.arch)
	cmd := exec.CommandContext(ctx, "apt-get", append(a.options(), "-q", "download", p.Name+"="+p.Version)...)
	cmd.Dir = tmp
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("apt-get download %s=%s (%s): %v\n%s", p.Name, p.Version, a.arch, err, out)
	}
	debs, _ := filepath.Glob(filepath.Join(tmp, "*.deb"))
	if len(debs) != 1 {
		return "", fmt.Errorf("apt-get download %s=%s left %d .deb files, want 1", p.Name, p.Version, len(debs))
	}
	return dst, os.Rename(debs[0], dst)
}

// exactName matches one package name and nothing else.
func exactName(name string) *regexp.Regexp {
	return regexp.MustCompile(`^` + regexp.QuoteMeta(name) + `$`)
}
