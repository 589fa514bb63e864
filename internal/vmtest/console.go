package vmtest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// TestResult is one test (or subtest) as go test -test.v reported it.
type TestResult struct {
	Name    string // TestFoo or TestFoo/sub
	Status  string // PASS, FAIL or SKIP
	Elapsed string // "0.12s"
}

// PackageResult is one package's run inside one guest.
type PackageResult struct {
	Name     string
	Status   int  // exit status of the test binary
	Reported bool // a RESULT line was seen
	Tests    []TestResult
	output   lineRing
	// Failures are the messages of the failed tests (their t.Error and
	// t.Fatal lines and --- FAIL lines), bounded: the package tail can
	// be hundreds of lines past them.
	Failures []string
	pending  []string // message lines of the test running now
}

// Output returns the package's last console lines (bounded), for showing a
// failure.
func (p *PackageResult) Output() []string { return p.output.lines() }

// Report is everything the host learned from one guest's console.
type Report struct {
	Kernel   Kernel
	Release  string // uname -r, from the guest's BOOT line
	Machine  string // uname -m
	Booted   bool   // /init started and printed its BOOT line
	Packages []*PackageResult
	Expected []string // packages the image was built with
	Done     bool
	RC       int
	Fatal    []string // kernel panics and oopses
	// BootCrash is set on a second boot: the kernel crash, before /init,
	// that ended the first (see EarlyCrash).
	BootCrash string
	Warnings  []string // soft lockups, RCU stalls, WARN splats
	Files     map[string][]byte
	FileErrs  []string
	Elapsed   time.Duration
	TimedOut  time.Duration // non-zero when the guest ran out of time
	Stalled   time.Duration // non-zero when the console stayed silent this long
	RunErr    error         // QEMU could not start or failed
	LogPath   string        // the whole console output
	cur       *PackageResult
	file      *fileFrame
}

type fileFrame struct {
	name string
	size int
	sum  string
	b64  strings.Builder
}

// Console patterns. Fatal ones fail the kernel even after DONE; warnings are
// reported only, because a TCG guest on a busy host can trip the soft lockup
// detector without anything being wrong.
var (
	fatalPatterns = []*regexp.Regexp{
		regexp.MustCompile(`Kernel panic - not syncing`),
		regexp.MustCompile(`\bOops: [^[]*\[#\d+\]`), // "Oops: 0002 [#1]", "Oops: double fault: 0000 [#1]"
		regexp.MustCompile(`Internal error: .*\[#\d+\]`),
		regexp.MustCompile(`kernel BUG at `),
		regexp.MustCompile(`BUG: (unable to handle|kernel NULL pointer dereference|KASAN|Bad page|scheduling while atomic)`),
		regexp.MustCompile(`general protection fault`),
		regexp.MustCompile(`Unable to handle kernel `),
	}
	warnPatterns = []*regexp.Regexp{
		regexp.MustCompile(`BUG: soft lockup`),
		regexp.MustCompile(`rcu: INFO: rcu_\w+ (self-)?detected stall`),
		regexp.MustCompile(`WARNING: CPU: \d+ PID: \d+ at `),
	}
	softLockup = regexp.MustCompile(`BUG: soft lockup - CPU#\d+ stuck for (\d+)s!`)
	testLine   = regexp.MustCompile(`--- (PASS|FAIL|SKIP): (\S+) \(([0-9.]+s)\)`)
	runLine    = regexp.MustCompile(`^=== (RUN|CONT|PAUSE|NAME) `)
	msgLine    = regexp.MustCompile(`^\s+\S+_test\.go:\d+: |^panic: `)
	base64Ln   = regexp.MustCompile(`^[A-Za-z0-9+/=]+$`)
	attrField  = regexp.MustCompile(`(\w+)=(\S*)`)
)

const (
	maxLockupSecs  = 120
	maxWarnings    = 50
	maxFileBytes   = 8 << 20
	packageTailLen = 400
	maxPending     = 8  // message lines kept per test
	maxFailures    = 40 // failure lines kept per package
)

// Line feeds one console line (without its newline) to the report.
func (r *Report) Line(line string) {
	line = strings.TrimRight(line, "\r")
	if r.file != nil {
		r.fileLine(line)
		return
	}
	if i := strings.Index(line, "=== TRACELET-VM-"); i >= 0 {
		r.marker(line[i:])
		return
	}
	for _, p := range fatalPatterns {
		if p.MatchString(line) {
			r.Fatal = append(r.Fatal, line)
			break
		}
	}
	// A TCG guest on a busy host trips the soft lockup detector for a few
	// tens of seconds without anything being wrong; a CPU stuck for
	// minutes is a dead kernel whose watchdog keeps the console busy, so
	// the idle limit would never stop it.
	if m := softLockup.FindStringSubmatch(line); m != nil {
		if secs, err := strconv.Atoi(m[1]); err == nil && secs >= maxLockupSecs {
			r.Fatal = append(r.Fatal, line)
		}
	}
	for _, p := range warnPatterns {
		if p.MatchString(line) && len(r.Warnings) < maxWarnings {
			r.Warnings = append(r.Warnings, line)
			break
		}
	}
	if r.cur == nil {
		return
	}
	p := r.cur
	p.output.add(line)
	switch m := testLine.FindStringSubmatch(line); {
	case m != nil:
		p.Tests = append(p.Tests, TestResult{Name: m[2], Status: m[1], Elapsed: m[3]})
		if m[1] == "FAIL" {
			for _, l := range append(p.pending, strings.TrimSpace(line)) {
				if len(p.Failures) < maxFailures {
					p.Failures = append(p.Failures, l)
				}
			}
		}
		p.pending = p.pending[:0]
	case runLine.MatchString(line):
		p.pending = p.pending[:0]
	case msgLine.MatchString(line):
		if len(p.pending) == maxPending {
			p.pending = append(p.pending[:0], p.pending[1:]...)
		}
		p.pending = append(p.pending, strings.TrimSpace(line))
	}
}

func attrs(s string) map[string]string {
	m := map[string]string{}
	for _, kv := range attrField.FindAllStringSubmatch(s, -1) {
		m[kv[1]] = kv[2]
	}
	return m
}

func (r *Report) marker(line string) {
	a := attrs(line)
	switch {
	case strings.HasPrefix(line, markBoot):
		r.Booted = true
		r.Release, r.Machine = a["release"], a["machine"]
	case strings.HasPrefix(line, markBegin):
		r.cur = &PackageResult{Name: a["pkg"], Status: -1, output: newLineRing(packageTailLen)}
		r.Packages = append(r.Packages, r.cur)
	case strings.HasPrefix(line, markResult):
		p := r.cur
		if p == nil || p.Name != a["pkg"] {
			p = &PackageResult{Name: a["pkg"], output: newLineRing(packageTailLen)}
			r.Packages = append(r.Packages, p)
		}
		p.Reported = true
		st, err := strconv.Atoi(a["status"])
		if err != nil {
			st = -1
		}
		p.Status = st
		r.cur = nil
	case strings.HasPrefix(line, markDone):
		r.Done = true
		rc, err := strconv.Atoi(a["rc"])
		if err != nil {
			rc = -1
		}
		r.RC = rc
		r.cur = nil
	case strings.HasPrefix(line, markEnd):
		r.FileErrs = append(r.FileErrs, "file end marker without a start: "+line)
	case strings.HasPrefix(line, markFile):
		size, err := strconv.Atoi(a["size"])
		if err != nil || size < 0 || size > maxFileBytes || !validFixtureName(a["name"]) {
			r.FileErrs = append(r.FileErrs, "bad file frame: "+line)
			return
		}
		r.file = &fileFrame{name: a["name"], size: size, sum: a["sha256"]}
	}
}

// fileLine collects one base64 line of a file frame. Kernel messages can
// land between the lines of a frame; anything that is not base64 is skipped
// (and the checksum catches a line the kernel split).
func (r *Report) fileLine(line string) {
	f := r.file
	if i := strings.Index(line, markEnd); i >= 0 {
		r.file = nil
		data, err := base64.StdEncoding.DecodeString(f.b64.String())
		sum := sha256.Sum256(data)
		switch {
		case err != nil:
			r.FileErrs = append(r.FileErrs, fmt.Sprintf("%s: %v", f.name, err))
		case len(data) != f.size:
			r.FileErrs = append(r.FileErrs, fmt.Sprintf("%s: got %d bytes, frame said %d", f.name, len(data), f.size))
		case hex.EncodeToString(sum[:]) != f.sum:
			r.FileErrs = append(r.FileErrs, fmt.Sprintf("%s: sha256 mismatch", f.name))
		default:
			if r.Files == nil {
				r.Files = map[string][]byte{}
			}
			r.Files[f.name] = data
		}
		return
	}
	if base64Ln.MatchString(line) && f.b64.Len() < maxFileBytes*4/3+4 {
		f.b64.WriteString(line)
	}
}

// validFixtureName keeps guest-chosen names inside the fixture directory.
func validFixtureName(n string) bool {
	if n == "" || strings.HasPrefix(n, "/") || strings.Contains(n, "..") || strings.ContainsAny(n, "\\\x00") {
		return false
	}
	return true
}

// EarlyCrash returns the first kernel crash when the guest crashed before
// /init printed its boot line and before QEMU or the harness failed: the
// only case in which runGuest boots again. "" otherwise.
func (r *Report) EarlyCrash() string {
	if r.Booted || r.RunErr != nil || len(r.Fatal) == 0 || r.BootCrash != "" {
		return ""
	}
	return strings.TrimSpace(r.Fatal[0])
}

// Err says why the kernel's run failed, or nil when it passed: it booted,
// every expected package reported status 0, /init reached DONE with rc=0, and
// the kernel neither panicked nor oopsed.
func (r *Report) Err() error {
	var errs []error
	if r.RunErr != nil {
		errs = append(errs, r.RunErr)
	}
	for _, f := range r.Fatal {
		errs = append(errs, fmt.Errorf("kernel crashed: %s", strings.TrimSpace(f)))
	}
	if r.TimedOut > 0 {
		errs = append(errs, fmt.Errorf("guest timed out after %v, %s", r.TimedOut, r.where()))
	}
	if r.Stalled > 0 {
		errs = append(errs, fmt.Errorf("guest hung: no console output for %v, %s", r.Stalled, r.where()))
	}
	if !r.Booted {
		errs = append(errs, errors.New("the kernel never reached /init (no boot line on the console): it does not boot"))
	}
	got := map[string]*PackageResult{}
	for _, p := range r.Packages {
		got[p.Name] = p
	}
	for _, name := range r.Expected {
		p := got[name]
		switch {
		case p == nil || !p.Reported:
			if r.Booted {
				errs = append(errs, fmt.Errorf("package %s: no result", name))
			}
		case p.Status != 0:
			errs = append(errs, fmt.Errorf("package %s: exit status %d%s", name, p.Status, failedList(p)))
		}
	}
	for _, p := range r.Packages {
		if p.Reported && p.Status != 0 && !contains(r.Expected, p.Name) {
			errs = append(errs, fmt.Errorf("package %s: exit status %d%s", p.Name, p.Status, failedList(p)))
		}
	}
	for _, e := range r.FileErrs {
		errs = append(errs, errors.New("fixture transfer: "+e))
	}
	if r.Booted && !r.Done {
		errs = append(errs, errors.New("no DONE line: /init did not finish"))
	} else if r.Done && r.RC != 0 && len(errs) == 0 {
		errs = append(errs, fmt.Errorf("/init finished with rc=%d", r.RC))
	}
	return errors.Join(errs...)
}

func failedList(p *PackageResult) string {
	var f []string
	for _, t := range p.Tests {
		if t.Status == "FAIL" {
			f = append(f, t.Name)
		}
	}
	if len(f) == 0 {
		return ""
	}
	return " (failed: " + strings.Join(f, ", ") + ")"
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// lineRing keeps the last n lines, so a chatty guest cannot grow the host's
// memory without bound.
type lineRing struct {
	buf  []string
	next int
	full bool
}

func newLineRing(n int) lineRing { return lineRing{buf: make([]string, n)} }

func (l *lineRing) add(s string) {
	if len(l.buf) == 0 {
		return
	}
	l.buf[l.next] = s
	l.next = (l.next + 1) % len(l.buf)
	if l.next == 0 {
		l.full = true
	}
}

func (l *lineRing) lines() []string {
	if !l.full {
		return append([]string(nil), l.buf[:l.next]...)
	}
	return append(append([]string(nil), l.buf[l.next:]...), l.buf[:l.next]...)
}

// where says how far the guest got when it was stopped.
func (r *Report) where() string {
	switch {
	case r.cur != nil:
		return "in package " + r.cur.Name
	case r.Booted:
		return "between packages"
	}
	return "before /init started"
}
