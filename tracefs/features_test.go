package tracefs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracelet/tracelet/kprobeevents"
	"golang.org/x/sys/unix"
)

// TestParseFeaturesFixtures reads the README of every recorded kernel. What
// each lists is checked against the kernel's history: char arrived in 6.3,
// %pd/%pD in 6.10, and Debian's 6.1 carries symstr as a backport.
func TestParseFeaturesFixtures(t *testing.T) {
	want := map[string]struct{ has, lacks []kprobeevents.TypeKind }{
		"6.1.0-56-cloud-amd64":       {[]kprobeevents.TypeKind{kprobeevents.TypeSymstr, kprobeevents.TypeUstring}, []kprobeevents.TypeKind{kprobeevents.TypeChar, kprobeevents.TypeDentry}},
		"6.1.0-56-cloud-arm64":       {[]kprobeevents.TypeKind{kprobeevents.TypeSymstr}, []kprobeevents.TypeKind{kprobeevents.TypeChar, kprobeevents.TypeFile}},
		"6.12.117+deb12-cloud-amd64": {[]kprobeevents.TypeKind{kprobeevents.TypeChar, kprobeevents.TypeDentry, kprobeevents.TypeFile}, nil},
		"6.18":                       {[]kprobeevents.TypeKind{kprobeevents.TypeChar, kprobeevents.TypeDentry}, nil},
	}
	all := []kprobeevents.TypeKind{kprobeevents.TypeU8, kprobeevents.TypeU16, kprobeevents.TypeU32, kprobeevents.TypeU64,
		kprobeevents.TypeS8, kprobeevents.TypeS64, kprobeevents.TypeX8, kprobeevents.TypeX64,
		kprobeevents.TypeString, kprobeevents.TypeSymbol}
	for rel, w := range want {
		b, err := os.ReadFile(filepath.Join("..", "testdata", "kernels", rel, "README"))
		if err != nil {
			t.Fatal(err)
		}
		f, err := ParseFeatures(b)
		if err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
		for _, k := range append(all, w.has...) {
			if !f.Types.Has(k) {
				t.Errorf("%s: %s missing from %s", rel, k, f.Types)
			}
		}
		for _, k := range w.lacks {
			if f.Types.Has(k) {
				t.Errorf("%s: %s listed in %s", rel, k, f.Types)
			}
		}
	}
	if _, err := ParseFeatures([]byte("tracing mini-HOWTO:\n  trace\t- The static contents\n")); err == nil {
		t.Error("a README without types parsed")
	}
}

// TestFeaturesValidate: with the 6.1 README's types, validation refuses
// char with BAD_TYPE at the type's column, as that kernel does, and still
// takes every listed type.
func TestFeaturesValidate(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "testdata", "kernels", "6.1.0-56-cloud-amd64", "README"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := ParseFeatures(b)
	if err != nil {
		t.Fatal(err)
	}
	opts := f.Options(kprobeevents.Options{Arch: kprobeevents.ArchX86_64, Target: kprobeevents.TargetKprobe})
	def := "p:g/e vfs_read a=%di:u8 c=+0(%di):char"
	_, err = kprobeevents.ParseProbe(def, opts)
	var e *kprobeevents.Error
	if !errors.As(err, &e) || e.Kind != kprobeevents.BAD_TYPE || e.Col != strings.Index(def, "char") || !strings.Contains(e.Error(), "char") {
		t.Fatalf("char on 6.1: %v", err)
	}
	if _, err := kprobeevents.ParseProbe("p:g/e vfs_read s=+0(%di):symstr u=+u0(%si):ustring", opts); err != nil {
		t.Errorf("listed types refused: %v", err)
	}
}

// TestFeaturesReal reads the running kernel's README.
func TestFeaturesReal(t *testing.T) {
	fsys := mustFS(t)
	f, err := fsys.Features()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []kprobeevents.TypeKind{kprobeevents.TypeU8, kprobeevents.TypeS64, kprobeevents.TypeX32, kprobeevents.TypeString} {
		if !f.Types.Has(k) {
			t.Errorf("%s missing from %s", k, f.Types)
		}
	}
	t.Logf("types: %s", f.Types)
}

// TestGrammarReal: Grammar fills in what a caller leaves out from the
// running kernel, and keeps what the caller set.
func TestGrammarReal(t *testing.T) {
	fsys := mustFS(t)
	f, err := fsys.Features()
	if err != nil {
		t.Fatal(err)
	}
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		t.Fatal(err)
	}
	running, err := kprobeevents.ParseKernel(unix.ByteSliceToString(u.Release[:]))
	if err != nil {
		t.Fatal(err)
	}
	// The kernel's machine, not GOARCH: a 386 test binary on an x86_64
	// kernel must get the x86_64 registers.
	arch, err := kprobeevents.ParseArch(unix.ByteSliceToString(u.Machine[:]))
	if err != nil {
		t.Fatal(err)
	}
	g := fsys.Grammar(kprobeevents.Options{})
	if g.Arch != arch || g.Kernel != running || g.Types != f.Types {
		t.Errorf("Grammar(zero) = arch %v kernel %v types %s; want %v %v %s", g.Arch, g.Kernel, g.Types, arch, running, f.Types)
	}
	set := kprobeevents.Options{Arch: kprobeevents.ArchARM64, Kernel: kprobeevents.Kernel{Major: 5, Minor: 10}, Types: kprobeevents.TypesOf(kprobeevents.TypeU8)}
	// What the caller left zero is filled in (Events: this tracefs's
	// formats); what it set stays.
	want := set
	want.Events = EventFields{fsys}
	if got := fsys.Grammar(set); got != want {
		t.Errorf("Grammar changed what the caller set: %+v", got)
	}
}

// TestParseFeaturesExtensions: the optional grammar of each recorded kernel,
// from its README. Debian's 6.12 has everything; the 6.18 development host
// is built without fprobe events and BTF arguments but takes $argN on
// return probes; 6.1 has event probes only.
func TestParseFeaturesExtensions(t *testing.T) {
	type ext = kprobeevents.Extension
	want := map[string][]ext{
		"6.1.0-56-cloud-amd64":       {kprobeevents.ExtEprobe},
		"6.1.0-56-cloud-arm64":       {kprobeevents.ExtEprobe},
		"6.12.117+deb12-cloud-amd64": {kprobeevents.ExtFprobe, kprobeevents.ExtTprobe, kprobeevents.ExtEprobe, kprobeevents.ExtBTFArgs, kprobeevents.ExtBTFFields, kprobeevents.ExtArgNReturn},
		"6.18":                       {kprobeevents.ExtEprobe, kprobeevents.ExtArgNReturn},
	}
	all := []ext{kprobeevents.ExtFprobe, kprobeevents.ExtTprobe, kprobeevents.ExtEprobe, kprobeevents.ExtBTFArgs, kprobeevents.ExtBTFFields, kprobeevents.ExtArgNReturn}
	for rel, has := range want {
		b, err := os.ReadFile(filepath.Join("..", "testdata", "kernels", rel, "README"))
		if err != nil {
			t.Fatal(err)
		}
		f, err := ParseFeatures(b)
		if err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
		set := f.Extensions()
		if !set.Probed() {
			t.Errorf("%s: set not marked probed", rel)
		}
		for _, e := range all {
			w := false
			for _, h := range has {
				w = w || h == e
			}
			if set.Has(e) != w {
				t.Errorf("%s: %s = %v, want %v (%s)", rel, e, set.Has(e), w, set)
			}
		}
		rep := f.Report()
		if len(rep) != 6 || rep[0].Name != "fprobe events" || rep[2].Name != "event probes" || rep[3].Name != "BTF arguments" {
			t.Fatalf("%s: report %+v", rel, rep)
		}
		for _, r := range rep {
			if r.OK && !strings.HasPrefix(r.Reason, "README: ") || !r.OK && !strings.Contains(r.Reason, "CONFIG_") {
				t.Errorf("%s: %s: reason %q", rel, r.Name, r.Reason)
			}
		}
	}
}

// TestFeaturesRefuseMissingKinds: with a README's extensions, a definition
// of a kind that kernel lacks is checked for syntax first, then refused
// with the kind, its option and its first kernel; a BTF name is refused as
// that kernel refuses it (NOSUP_BTFARG).
func TestFeaturesRefuseMissingKinds(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "testdata", "kernels", "6.18", "README"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := ParseFeatures(b)
	if err != nil {
		t.Fatal(err)
	}
	opts := f.Options(kprobeevents.Options{Arch: kprobeevents.ArchX86_64, Kernel: kprobeevents.Kernel{Major: 6, Minor: 18}})
	tests := []struct {
		def  string
		kind kprobeevents.ErrorKind
		col  int
		msg  string
	}{
		{"f:g/e vfs_read", kprobeevents.NOT_SUPPORTED, 0, "CONFIG_FPROBE_EVENTS"},
		{"t:g/e kfree", kprobeevents.NOT_SUPPORTED, 0, "Linux 6.5"},
		{"f:g/e vfs_read x=%ax", kprobeevents.BAD_VAR, 17, ""},
		{"p:g/e vfs_read file", kprobeevents.NOSUP_BTFARG, 15, "CONFIG_PROBE_EVENTS_BTF_ARGS"},
		{"p:g/e vfs_read $arg*", kprobeevents.NOSUP_BTFARG, 15, "CONFIG_PROBE_EVENTS_BTF_ARGS"},
	}
	for _, tt := range tests {
		_, err := kprobeevents.Parse(tt.def, opts)
		var e *kprobeevents.Error
		if !errors.As(err, &e) || e.Kind != tt.kind || e.Col != tt.col || !strings.Contains(e.Msg, tt.msg) {
			t.Errorf("Parse(%q) = %v, want %s at %d mentioning %q", tt.def, err, tt.kind, tt.col, tt.msg)
		}
	}
	if _, err := kprobeevents.Parse("e:g/e syscalls.sys_enter_openat fd=$dfd", opts); err != nil {
		t.Errorf("event probe on 6.18: %v", err)
	}
	if _, err := kprobeevents.Parse("r:g/e vfs_read x=$arg1", opts); err != nil {
		t.Errorf("$argN on a 6.18 return probe: %v", err)
	}
}

// TestCheckKallsyms: a kernel whose symbols show the probe parser but no
// event probe code has no event probes, whatever its README says.
func TestCheckKallsyms(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "testdata", "kernels", "6.18", "README"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		syms string
		want bool
	}{
		{"0000000000000000 T traceprobe_parse_probe_arg\n0000000000000000 t eprobe_dyn_event_show\n", true},
		{"0000000000000000 T traceprobe_parse_probe_arg\n0000000000000000 T traceprobe_free_probe_arg\n", false},
		{"", true},
	} {
		f, err := ParseFeatures(b)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.CheckKallsyms(strings.NewReader(tt.syms)); err != nil {
			t.Fatal(err)
		}
		if f.Eprobe != tt.want || f.Extensions().Has(kprobeevents.ExtEprobe) != tt.want {
			t.Errorf("%q: Eprobe = %v, want %v", tt.syms, f.Eprobe, tt.want)
		}
		if r := f.Report()[2]; r.OK != tt.want || !tt.want && !strings.Contains(r.Reason, "CONFIG_EPROBE_EVENTS") {
			t.Errorf("%q: report %+v", tt.syms, r)
		}
	}
}

// TestEventFields checks an event probe against the events of the running
// kernel's tracefs.
func TestEventFields(t *testing.T) {
	fsys := mustFS(t)
	ev := EventFields{fsys}
	names, err := ev.Fields("sched", "sched_switch")
	if err != nil {
		t.Skipf("no sched/sched_switch: %v", err)
	}
	has := false
	for _, n := range names {
		has = has || n == "prev_pid"
		if strings.HasPrefix(n, "common_") {
			t.Errorf("common field %s offered", n)
		}
	}
	if !has {
		t.Errorf("sched_switch fields %v lack prev_pid", names)
	}
	if _, err := ev.Fields("sched", "no_such_event_x"); err == nil {
		t.Error("a missing event has fields")
	}
	opts := kprobeevents.Options{Arch: kprobeevents.ArchX86_64, Events: ev}
	for def, want := range map[string]kprobeevents.ErrorKind{
		"e:g/e sched.sched_switch p=$prev_pid":   0,
		"e:g/e sched.sched_switch p=$nope":       kprobeevents.BAD_VAR,
		"e:g/e sched.no_such_event_x p=$nope":    kprobeevents.BAD_ATTACH_EVENT,
		"e:g/e sched.sched_switch c=$common_pid": kprobeevents.BAD_VAR,
	} {
		_, err := kprobeevents.Parse(def, opts)
		if want == 0 && err != nil || want != 0 && !errors.Is(err, &kprobeevents.Error{Kind: want}) {
			t.Errorf("Parse(%q) = %v, want %v", def, err, want)
		}
	}
}

// TestControlFileNewKinds: fprobes, tracepoint probes and event probes go
// to dynamic_events, the only file that takes them.
func TestControlFileNewKinds(t *testing.T) {
	for typ, want := range map[kprobeevents.ProbeType]string{
		kprobeevents.Kprobe: KprobeEvents, kprobeevents.Uretprobe: UprobeEvents,
		kprobeevents.Fprobe: DynamicEvents, kprobeevents.Fretprobe: DynamicEvents,
		kprobeevents.Tprobe: DynamicEvents, kprobeevents.Eprobe: DynamicEvents,
	} {
		if got := ControlFile(typ); got != want {
			t.Errorf("ControlFile(%s) = %s, want %s", typ, got, want)
		}
	}
}
