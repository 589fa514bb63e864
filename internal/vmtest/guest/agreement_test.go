package guest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracelet/tracelet/internal/testenv"
	"github.com/tracelet/tracelet/kprobeevents"
	"github.com/tracelet/tracelet/tracefs"
)

// tableDir holds the grammar's error tables, in the guest as in the
// repository (the image copies testdata/ under /src).
var tableDir = filepath.Join("..", "..", "..", "testdata", "kprobeevents")

var controlFile = map[string]string{"kprobe": tracefs.KprobeEvents, "uprobe": tracefs.UprobeEvents, "auto": tracefs.DynamicEvents}
var targets = map[string]kprobeevents.Target{"kprobe": kprobeevents.TargetKprobe, "uprobe": kprobeevents.TargetUprobe, "auto": kprobeevents.TargetAuto}

// agreement is what the test needs of the running kernel.
type agreement struct {
	fs    *tracefs.FS
	opts  kprobeevents.Options // Arch, Kernel and probed Types; Target per row
	group string
}

func newAgreement(t *testing.T, suffix string) *agreement {
	t.Helper()
	testenv.RequireKprobes(t)
	fsys, err := tracefs.Find()
	if err != nil {
		t.Fatal(err)
	}
	feat, err := fsys.Features()
	if err != nil {
		t.Fatal(err)
	}
	k, err := kprobeevents.ParseKernel(release(t))
	if err != nil {
		t.Fatal(err)
	}
	a := &agreement{
		fs:    fsys,
		opts:  feat.Options(kprobeevents.Options{Arch: kprobeevents.HostArch(), Kernel: k}),
		group: fmt.Sprintf("tracelet_%d_%s", os.Getpid(), suffix),
	}
	// A row the kernel wrongly accepts creates an event; it goes with
	// the group.
	t.Cleanup(func() {
		for _, f := range []string{tracefs.KprobeEvents, tracefs.UprobeEvents} {
			if err := fsys.RemoveGroup(f, a.group); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		}
	})
	return a
}

// TestValidationAgreesWithKernel writes every malformed definition of the
// grammar's error tables for this kernel to the real control file. The
// kernel must reject each, and its error_log entry must name the table's
// class (by the kernel's own message) with the caret at the table's column;
// kprobeevents.Parse must report the same class and column, except for the
// classes only the running kernel can know, which it must accept. When the
// kernel disagrees with a table, the kernel is right: fix the table and the
// grammar.
func TestValidationAgreesWithKernel(t *testing.T) {
	a := newAgreement(t, "agree")
	kv := fmt.Sprintf("%d.%d", a.opts.Kernel.Major, a.opts.Kernel.Minor)
	tables := testenv.ErrorTablesFor(kv)
	t.Logf("kernel %s (%s), tables %v, probed types %s", kv, a.opts.Arch, tables, a.opts.Types)
	n := 0
	for _, name := range tables {
		rows, err := testenv.LoadErrorTable(filepath.Join(tableDir, name))
		if err != nil {
			t.Fatal(err)
		}
		for _, row := range rows {
			n++
			t.Run(row.String(), func(t *testing.T) { a.checkRow(t, row) })
		}
	}
	if n < 50 {
		t.Errorf("only %d rows for kernel %s: the tables lost their cases", n, kv)
	}
}

func (a *agreement) checkRow(t *testing.T, table testenv.ErrorRow) {
	r := table.InGroup(a.group)
	def := testenv.HostRegs(r.Def)
	kind, ok := kprobeevents.ParseErrorKind(r.Kind)
	if !ok || !kind.Kernel() {
		t.Fatalf("%s: %q is not a kernel error class", table, r.Kind)
	}
	opts := a.opts
	opts.Target = targets[r.Target]
	if !opts.Arch.HasArgN() && strings.Contains(def, "$arg") {
		a.checkNoArgN(t, def, controlFile[r.Target], opts)
		return
	}

	// Ours.
	_, perr := kprobeevents.Parse(def, opts)
	var pe *kprobeevents.Error
	switch {
	case kind.RunTime():
		if perr != nil {
			t.Errorf("ours: %s is decided by the running kernel, but Parse refused: %v", kind, perr)
		}
	case !errors.As(perr, &pe):
		t.Errorf("ours: Parse(%q) = %v, want %s at column %d", def, perr, kind, r.Col)
	case pe.Kind != kind || pe.Col != r.Col:
		t.Errorf("ours: %s at column %d (%s), table: %s at column %d\n%s", pe.Kind, pe.Col, pe.Msg, kind, r.Col, pe.Caret())
	}

	// The kernel's.
	err := a.fs.AddDynamicEvent(controlFile[r.Target], def)
	var we *tracefs.WriteError
	switch {
	case err == nil:
		t.Errorf("kernel: accepted %q, table: %s at column %d", def, kind, r.Col)
		return
	case !errors.As(err, &we):
		t.Fatalf("refused before writing (tracefs's own check): %v", err)
	case we.Log == nil:
		t.Errorf("kernel: rejected %q (%v) without an error_log entry; table: %s at column %d", def, we.Err, kind, r.Col)
		return
	}
	got, known := kprobeevents.KindOfMessage(we.Log.Message)
	if !known || got != kind || we.Column() != r.Col {
		t.Errorf("kernel: %s %q at column %d; table: %s at column %d\n  Command: %s\n           %s^",
			got, we.Log.Message, we.Column(), kind, r.Col, def, strings.Repeat(" ", max(we.Column(), 0)))
	}
}

// checkNoArgN: where the kernel has no $argN (32-bit arm), a table row that
// uses one is refused with BAD_VAR by the kernel, whatever the row's own
// class, and Parse must say so too; the column is the first $-variable the
// kernel reaches, which need not be the row's.
func (a *agreement) checkNoArgN(t *testing.T, def, file string, opts kprobeevents.Options) {
	var pe *kprobeevents.Error
	if _, err := kprobeevents.Parse(def, opts); !errors.As(err, &pe) {
		t.Errorf("ours: Parse(%q) = %v, want an error", def, err)
	} else if pe.Kind != kprobeevents.BAD_VAR {
		t.Logf("ours: %s before the $argN (%s)", pe.Kind, pe.Msg)
	}
	err := a.fs.AddDynamicEvent(file, def)
	var we *tracefs.WriteError
	if !errors.As(err, &we) || we.Log == nil {
		t.Fatalf("kernel: %q: %v, want a rejection with an error_log entry", def, err)
	}
	got, _ := kprobeevents.KindOfMessage(we.Log.Message)
	if pe != nil && got != pe.Kind {
		t.Errorf("kernel: %s %q; ours: %s", got, we.Log.Message, pe.Kind)
	}
	t.Logf("%s has no $argN: the kernel says %s %q", opts.Arch, got, we.Log.Message)
}

// ownCases are definitions that tracelet refuses with a class of its own,
// for a reason the kernel's parser does not have. The kernel may accept
// them; the test asserts our refusal and records exactly what the kernel
// does instead, so the README's claims about them stay true.
var ownCases = []struct {
	name string
	def  string // "G" is the test's group
	file string
	kind kprobeevents.ErrorKind
	// kernel is what the kernel does with the raw write: "accept" (events
	// is then the set it creates), or "reject".
	kernel string
	events []string
	why    string
}{
	{"newline", "p:G/a vfs_read\np:G/b vfs_read", tracefs.KprobeEvents, kprobeevents.UNSAFE_CHAR, "accept", []string{"a", "b"},
		"one write holding a newline defines two events: a definition could smuggle in a second command"},
	{"semicolon", `p:G/c vfs_read s=\"x;y"`, tracefs.KprobeEvents, kprobeevents.UNSAFE_CHAR, "accept", []string{"c"},
		"the control file takes ';', but the kprobe_event= boot parameter splits there, so we refuse it everywhere"},
	{"hash", `p:G/d vfs_read s=\"x#y"`, tracefs.KprobeEvents, kprobeevents.UNSAFE_CHAR, "reject", nil,
		"the kernel cuts the command at '#' and parses what is left, which is another definition than the one written"},
	{"uprobe in kprobe_events", "p:G/e /bin/true:0x10", tracefs.KprobeEvents, kprobeevents.WRONG_FILE, "reject", nil,
		"kprobe_events takes no uprobes; the kernel says EINVAL without an error_log entry"},
}

// TestOwnClassesAgainstKernel checks tracelet's own error classes against
// what the kernel does with the same bytes.
func TestOwnClassesAgainstKernel(t *testing.T) {
	a := newAgreement(t, "own")
	for _, c := range ownCases {
		t.Run(c.name, func(t *testing.T) {
			def := strings.ReplaceAll(c.def, "G/", a.group+"/")
			def = strings.ReplaceAll(def, " vfs_read", " "+testenv.KprobeEntry(t, "vfs_read"))
			opts := a.opts
			opts.Target = kprobeevents.TargetKprobe
			_, perr := kprobeevents.Parse(def, opts)
			var pe *kprobeevents.Error
			if !errors.As(perr, &pe) || pe.Kind != c.kind {
				t.Errorf("ours: Parse(%q) = %v, want %s", def, perr, c.kind)
			}
			werr := rawWrite(a.fs, c.file, def)
			evs := a.events(t)
			switch {
			case c.kernel == "accept" && werr != nil:
				t.Errorf("kernel: rejected %q (%v); recorded as accepted", def, werr)
			case c.kernel == "accept" && fmt.Sprint(evs) != fmt.Sprint(c.events):
				t.Errorf("kernel: accepted %q creating %v, recorded %v", def, evs, c.events)
			case c.kernel == "reject" && werr == nil:
				t.Errorf("kernel: accepted %q creating %v; recorded as rejected", def, evs)
			case c.kernel == "reject" && len(evs) > 0:
				t.Errorf("kernel: rejected %q but created %v", def, evs)
			}
			t.Logf("%s: we refuse (%s); the kernel %ss (%v, events %v): %s", c.name, c.kind, c.kernel, werr, evs, c.why)
			for _, f := range []string{tracefs.KprobeEvents, tracefs.UprobeEvents} {
				if err := a.fs.RemoveGroup(f, a.group); err != nil {
					t.Errorf("removing %s: %v", a.group, err)
				}
			}
		})
	}
}

// rawWrite writes def in one write(2), bypassing tracefs's own refusals,
// the way a shell's echo >> would.
func rawWrite(fsys *tracefs.FS, file, def string) error {
	f, err := os.OpenFile(filepath.Join(fsys.Root(), file), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	_, err = f.Write([]byte(def))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// events lists the events of the test's group, sorted.
func (a *agreement) events(t *testing.T) []string {
	t.Helper()
	evs, err := a.fs.DynamicEvents(tracefs.DynamicEvents)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		if e.Group == a.group {
			out = append(out, e.Event)
		}
	}
	return out
}
