package kprobeevents

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// kernelDir is one recording of a real kernel under testdata/kernels, or
// the 6.18 printback files kept in testdata/kprobeevents.
type kernelDir struct {
	name   string
	arch   Arch
	kernel Kernel
	files  map[string]string // control file -> path of what the kernel printed
	defs   string            // definitions.txt, "" when not recorded
}

var fixtureTargets = map[string]Target{
	"kprobe_events":  TargetKprobe,
	"uprobe_events":  TargetUprobe,
	"dynamic_events": TargetAuto,
}

// recordedVFS is the %pd/%pD layout of the recorded kernels that have
// those types: what the 6.12 kernel printed for dentry=$arg1:%pd and
// file=$arg1:%pD (kprobe_events), which is offsetof(struct dentry,
// d_name.name) = 0x20+8 and offsetof(struct file, f_path.dentry) = 0x40+8
// in that build. 6.1 has no %pd (its README and fetchargs_kprobe.txt).
var recordedVFS = map[string]VFSLayout{
	"6.12.117+deb12-cloud-amd64": {DentryName: 0x28, FileDentry: 0x48},
}

func kernelDirs(t *testing.T) []kernelDir {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("..", "testdata", "kernels", "*"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no testdata/kernels/*: %v", err)
	}
	var dirs []kernelDir
	for _, p := range paths {
		name := filepath.Base(p)
		k, err := ParseKernel(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		d := kernelDir{name: name, arch: ArchX86_64, kernel: k, files: map[string]string{}}
		if notes, err := os.ReadFile(filepath.Join(p, "NOTES.txt")); err == nil && strings.Contains(string(notes), "GOARCH=arm64") {
			d.arch = ArchARM64
		}
		for f := range fixtureTargets {
			if _, err := os.Stat(filepath.Join(p, f)); err == nil {
				d.files[f] = filepath.Join(p, f)
			}
		}
		if name == "6.18" {
			// The 6.18 host recording keeps its printback next to the
			// grammar's tables.
			for _, f := range []string{"uprobe_events", "dynamic_events"} {
				d.files[f] = filepath.Join("..", "testdata", "kprobeevents", f+"-6.18.txt")
			}
		}
		if b, err := os.ReadFile(filepath.Join(p, "definitions.txt")); err == nil {
			d.defs = string(b)
		}
		dirs = append(dirs, d)
	}
	return dirs
}

func lines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if l != "" && l[0] != '#' {
			out = append(out, l)
		}
	}
	return out
}

// TestFixturePrintback: every line a real kernel printed in kprobe_events,
// uprobe_events and dynamic_events parses, for that kernel, and formats
// back to itself byte for byte. Nothing is skipped.
func TestFixturePrintback(t *testing.T) {
	n := 0
	for _, d := range kernelDirs(t) {
		for file, path := range d.files {
			ls := lines(t, path)
			if len(ls) == 0 {
				t.Errorf("%s/%s is empty", d.name, file)
			}
			for _, line := range ls {
				n++
				opts := Options{Arch: d.arch, Kernel: d.kernel, Target: fixtureTargets[file], VFS: recordedVFS[d.name]}
				def, err := Parse(line, opts)
				if err != nil {
					t.Errorf("%s/%s: %q: %v", d.name, file, line, err)
					continue
				}
				if got := Format(def); got != line {
					t.Errorf("%s/%s: Format(Parse(line))\n got %s\nwant %s", d.name, file, got, line)
				}
				// The printed line does not need the layout: it is
				// already expanded.
				opts.VFS = VFSLayout{}
				if def, err := Parse(line, opts); err != nil {
					t.Errorf("%s/%s: without VFS: %q: %v", d.name, file, line, err)
				} else if got := Format(def); got != line {
					t.Errorf("%s/%s: without VFS: Format(Parse(line))\n got %s\nwant %s", d.name, file, got, line)
				}
			}
		}
	}
	if n < 40 {
		t.Fatalf("only %d printed lines", n)
	}
}

// openat2Params are the BTF parameter names of do_sys_openat2, the only
// function the recordings give unnamed $argN on.
var openat2Params = []string{"dfd", "filename", "how"}

var unnamedArgN = regexp.MustCompile(`^\$arg([1-9])((?::.*)?)$`)

// TestFixtureWrittenPrintback: for every definition a recording wrote
// (definitions.txt), Format(Parse(written)) is the line that kernel printed
// for it. Two things the kernel decides at run time, which no static parse
// can know, are applied to the written definition first, the way the kernel
// applies them:
//   - a kretprobe without MAXACTIVE gets register_kretprobe's default,
//     max(10, 2*nr_possible_cpus), which 6.1 and 6.12 print (the guests
//     had few CPUs: r10);
//   - on a kernel with BTF (6.5+), traceprobe_expand_meta_args rewrites an
//     unnamed $argN[:TYPE] of a function-entry kprobe into the parameter's
//     BTF name, which then also names the argument.
//
// %pd/%pD come out as the kernel expands them when Options.VFS gives the
// build's layout (recordedVFS).
func TestFixtureWrittenPrintback(t *testing.T) {
	n := 0
	for _, d := range kernelDirs(t) {
		if d.defs == "" {
			continue
		}
		printed := map[string]string{} // GROUP/EVENT -> printed line
		for file, path := range d.files {
			for _, line := range lines(t, path) {
				p, err := ParseProbe(line, Options{Arch: d.arch, Kernel: d.kernel, Target: fixtureTargets[file]})
				if err != nil {
					t.Fatalf("%s/%s: %q: %v", d.name, file, line, err)
				}
				key := p.GroupName() + "/" + p.EventName()
				if prev, ok := printed[key]; ok && prev != line {
					t.Errorf("%s: %s printed two ways:\n\t%s\n\t%s", d.name, key, prev, line)
				}
				printed[key] = line
			}
		}
		for _, written := range lines(t, filepath.Join("..", "testdata", "kernels", d.name, "definitions.txt")) {
			opts := Options{Arch: d.arch, Kernel: d.kernel, VFS: recordedVFS[d.name]}
			p, err := ParseProbe(written, opts)
			if err != nil {
				t.Errorf("%s: written %q: %v", d.name, written, err)
				continue
			}
			want, ok := printed[p.GroupName()+"/"+p.EventName()]
			if !ok {
				t.Errorf("%s: no printed line for %q", d.name, written)
				continue
			}
			n++
			if !p.Type.IsUser() && d.kernel.AtLeast(6, 5) && p.Type == Kprobe && p.Offset == 0 && p.Symbol == "do_sys_openat2" {
				w := strings.Fields(written)
				for i := 2; i < len(w); i++ {
					if m := unnamedArgN.FindStringSubmatch(w[i]); m != nil {
						w[i] = openat2Params[m[1][0]-'1'] + m[2]
					}
				}
				if p, err = ParseProbe(strings.Join(w, " "), opts); err != nil {
					t.Fatalf("%s: %v", d.name, err)
				}
			}
			if p.Type == Kretprobe && p.MaxActive == 0 {
				p.MaxActive = 10
			}
			if got := Format(p); got != want {
				t.Errorf("%s: Format(Parse(written))\n got %s\nwant %s\n(written %s)", d.name, got, want, written)
			}
		}
	}
	if n < 20 {
		t.Fatalf("only %d written definitions matched", n)
	}
}

// TestDentryExpansion: %pd and %pD format as the kernel rewrites them when
// the layout is known, as written when it is not, and the expanded text
// counts against the 63-character limit of the kernel's rewritten argument.
func TestDentryExpansion(t *testing.T) {
	vfs := VFSLayout{DentryName: 0x28, FileDentry: 0x48}
	opts := Options{Arch: ArchX86_64, Kernel: Kernel{6, 12}, VFS: vfs}
	def := "p:g/e vfs_read d=$arg1:%pd f=+0x8($arg2):%pD $arg3:%pd"
	p, err := ParseProbe(def, opts)
	if err != nil {
		t.Fatal(err)
	}
	want := "p:g/e vfs_read d=+0x0(+0x28($arg1)):string f=+0x0(+0x28(+0x48(+0x8($arg2)))):string arg3=+0x0(+0x28($arg3)):string"
	if got := Format(p); got != want {
		t.Errorf("with VFS:\n got %s\nwant %s", got, want)
	}
	if p.Args[0].Type.Kind != TypeDentry || p.Args[1].Type.Kind != TypeFile || p.Args[1].Fetch.Kind != FetchDeref {
		t.Errorf("parsed args: %+v", p.Args)
	}
	if got := p.Args[1].Text(); got != "+0x0(+0x28(+0x48(+0x8($arg2)))):string" {
		t.Errorf("Text() = %q", got)
	}
	opts.VFS = VFSLayout{}
	if p, err := ParseProbe(def, opts); err != nil || Format(p) != "p:g/e vfs_read d=$arg1:%pd f=+0x8($arg2):%pD arg3=$arg3:%pd" {
		t.Errorf("without VFS: %v %v", p, err)
	}
	// 63 characters expanded: the longest FETCH for %pD is 63-27.
	opts.VFS = vfs
	ok := "p:g/e vfs_read f=+0x" + strings.Repeat("0", 25) + "8($arg2):%pD"
	if _, err := ParseProbe(ok, opts); err != nil {
		t.Errorf("%q: %v", ok, err)
	}
	long := "p:g/e vfs_read f=+0x" + strings.Repeat("0", 26) + "8($arg2):%pD"
	if _, err := ParseProbe(long, opts); err == nil || !strings.Contains(err.Error(), "ARG_TOO_LONG") {
		t.Errorf("%q: %v, want ARG_TOO_LONG", long, err)
	}
	// A wider offset makes the expansion longer.
	opts.VFS = VFSLayout{DentryName: 0x128, FileDentry: 0x148}
	if _, err := ParseProbe(ok, opts); err == nil || !strings.Contains(err.Error(), "ARG_TOO_LONG") {
		t.Errorf("%q with 3-digit offsets: %v, want ARG_TOO_LONG", ok, err)
	}
}

// TestArgTextKept: the text after NAME= prints as written until the Arg is
// changed in code; then it prints the new value canonically.
func TestArgTextKept(t *testing.T) {
	p, err := ParseProbe("p:g/e vfs_read a=+0x28(%di):x8 b=\\0x10 c=@jiffies+0 d=$COMM e=%di:b0x3@0x1/8", Options{Arch: ArchX86_64})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.String(), "p:g/e vfs_read a=+0x28(%di):x8 b=\\0x10 c=@jiffies+0 d=$COMM e=%di:b0x3@0x1/8"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	p.Args[0].Fetch.Offset = 48
	p.Args[1].Type = Type{Kind: TypeU8}
	p.Args[4].Type.BitOffset = 2
	if got, want := p.String(), "p:g/e vfs_read a=+48(%di):x8 b=\\16:u8 c=@jiffies+0 d=$COMM e=%di:b3@2/8"; got != want {
		t.Errorf("after changes String() = %q, want %q", got, want)
	}
}
