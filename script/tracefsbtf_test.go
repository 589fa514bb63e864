package script

import (
	"strings"
	"testing"

	"github.com/tracelet/tracelet/asm"
	"github.com/tracelet/tracelet/kprobeevents"
	"github.com/tracelet/tracelet/tracefs"
)

// compileTracefsBTF compiles src for the tracefs backend against the 6.18
// BTF fixture, with goarch's registers, for a kernel of grammar g.
func compileTracefsBTF(t *testing.T, src, goarch string, g *kprobeevents.Options) ([]*TracefsProbe, error) {
	t.Helper()
	spec := fixtureBTF(t)
	prog, err := Parse("-e", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if err := ExpandBTF(prog, spec); err != nil {
		t.Fatal(err)
	}
	info, err := Check(prog, CheckOptions{BTF: spec, Formats: fixtureFormats})
	if err != nil {
		t.Fatal(err)
	}
	arch, err := asm.ArchFor(goarch)
	if err != nil {
		t.Fatal(err)
	}
	probes, _, err := CompileTracefs(prog, info, TracefsOptions{Arch: arch, Grammar: g})
	return probes, err
}

var (
	kernel61  = kprobeevents.Kernel{Major: 6, Minor: 1}
	kernel612 = kprobeevents.Kernel{Major: 6, Minor: 12}
)

// TestTracefsBTFDefinitions: fentry and fexit with args members and
// retval, and struct casts in kprobes, become exact definitions from the
// 6.18 BTF fixture (struct file: f_mode at 4, f_path.dentry at 72, f_pos
// at 112; struct dentry: d_name.name at 40, d_shortname at 56): kprobes
// with registers and offsets for a 6.1 target (no fprobes, no BTF
// arguments) and where no grammar is given, fprobes with the kernel's BTF
// arguments for a 6.12 target, on the x86_64 and arm64 register tables.
// Each definition is also one that package kprobeevents accepts for its
// target kernel, with the same BTF.
func TestTracefsBTFDefinitions(t *testing.T) {
	const (
		fentry      = `fentry:vfs_read /args.count == 10/ { printf("%s %d %d\n", str(args.file->f_path.dentry->d_name.name), args.count, args.file->f_pos); }`
		kfunc       = `kfunc:vfs_read { printf("%s %d\n", str(args->file->f_path.dentry->d_name.name), args->count); }`
		fexit       = `fexit:vfs_read { printf("%d\n", retval); }`
		fexitArgs   = `kretfunc:vfs_read { printf("%d %d\n", args.count, retval); }`
		fexitMember = `fexit:filp_open { printf("%d\n", retval->f_pos); }`
		cast        = `kprobe:vfs_read { printf("%s %d\n", str(((struct file *)arg0)->f_path.dentry->d_name.name), ((struct file *)arg0)->f_pos); }`
		castArray   = `kprobe:vfs_read { printf("%s %u\n", ((struct file *)arg0)->f_path.dentry->d_shortname.string, ((struct file *)arg0)->f_mode); }`
		castRetval  = `kretprobe:filp_open { printf("%d\n", ((struct file *)retval)->f_pos); }`
		castFentry  = `fentry:vfs_read { printf("%d\n", ((struct file *)args.file)->f_pos); }`
	)
	for _, c := range []struct {
		src, goarch string
		kernel      kprobeevents.Kernel
		def         string
		fields      string
	}{
		{fentry, "amd64", kernel61, `p:g/e vfs_read count=%dx:u64 name=+0(+40(+72(%di))):string f_pos=+112(%di):s64`, "name,count,f_pos"},
		{fentry, "arm64", kernel61, `p:g/e vfs_read count=%x2:u64 name=+0(+40(+72(%x0))):string f_pos=+112(%x0):s64`, "name,count,f_pos"},
		{fentry, "amd64", kernel612, `f:g/e vfs_read count=count:u64 name=file->f_path.dentry->d_name.name:string f_pos=file->f_pos:s64`, "name,count,f_pos"},
		{fentry, "arm64", kernel612, `f:g/e vfs_read count=count:u64 name=file->f_path.dentry->d_name.name:string f_pos=file->f_pos:s64`, "name,count,f_pos"},
		{kfunc, "amd64", kernel61, `p:g/e vfs_read name=+0(+40(+72(%di))):string count=%dx:u64`, "name,count"},
		{kfunc, "arm64", kernel612, `f:g/e vfs_read name=file->f_path.dentry->d_name.name:string count=count:u64`, "name,count"},
		{fexit, "amd64", kernel61, `r:g/e vfs_read retval=$retval:s64`, "retval"},
		{fexit, "amd64", kernel612, `f:g/e vfs_read%return retval=$retval:s64`, "retval"},
		{fexitArgs, "arm64", kernel612, `f:g/e vfs_read%return count=count:u64 retval=$retval:s64`, "count,retval"},
		{fexitMember, "amd64", kernel61, `r:g/e filp_open f_pos=+112($retval):s64`, "f_pos"},
		{fexitMember, "arm64", kernel612, `f:g/e filp_open%return f_pos=$retval->f_pos:s64`, "f_pos"},
		{cast, "amd64", kernel61, `p:g/e vfs_read name=+0(+40(+72(%di))):string f_pos=+112(%di):s64`, "name,f_pos"},
		{cast, "arm64", kernel61, `p:g/e vfs_read name=+0(+40(+72(%x0))):string f_pos=+112(%x0):s64`, "name,f_pos"},
		// A cast has no spelling in the kernel's grammar: offsets on 6.12 too.
		{cast, "amd64", kernel612, `p:g/e vfs_read name=+0(+40(+72(%di))):string f_pos=+112(%di):s64`, "name,f_pos"},
		{castArray, "amd64", kernel61, `p:g/e vfs_read string=+56(+72(%di)):string f_mode=+4(%di):u32`, "string,f_mode"},
		{castArray, "arm64", kernel612, `p:g/e vfs_read string=+56(+72(%x0)):string f_mode=+4(%x0):u32`, "string,f_mode"},
		{castRetval, "arm64", kernel61, `r:g/e filp_open f_pos=+112($retval):s64`, "f_pos"},
		{castFentry, "amd64", kernel612, `p:g/e vfs_read f_pos=+112(%di):s64`, "f_pos"},
	} {
		g := &kprobeevents.Options{Kernel: c.kernel}
		probes, err := compileTracefsBTF(t, c.src, c.goarch, g)
		if err != nil {
			t.Errorf("%s (%s, %s): %v", c.src, c.goarch, c.kernel, err)
			continue
		}
		tp := probes[0]
		def, err := tp.Definition("g", "e", "")
		if err != nil || def != c.def || strings.Join(tp.Fields, ",") != c.fields {
			t.Errorf("%s (%s, %s):\n got %q %v, fields %v\nwant %q, fields %s", c.src, c.goarch, c.kernel, def, err, tp.Fields, c.def, c.fields)
			continue
		}
		arch := kprobeevents.ArchX86_64
		if c.goarch == "arm64" {
			arch = kprobeevents.ArchARM64
		}
		vo := kprobeevents.Options{Arch: arch, Kernel: c.kernel, BTF: tracefs.KernelBTF(fixtureBTF(t))}
		if _, err := kprobeevents.ParseProbe(def, vo); err != nil {
			t.Errorf("%s (%s, %s): %q is not a definition that kernel takes: %v", c.src, c.goarch, c.kernel, def, err)
		}
		// Without a grammar, and with --offsets, every kernel with
		// kprobe_events takes what is written: the kprobe form.
		for _, g := range []*kprobeevents.Options{nil, {Kernel: kernel612, Offsets: true}} {
			if c.src == fexitArgs {
				continue
			}
			probes, err := compileTracefsBTF(t, c.src, c.goarch, g)
			if err != nil || probes[0].Fprobe {
				t.Errorf("%s (%s, grammar %v): fprobe %v, %v; want a kprobe", c.src, c.goarch, g, err == nil && probes[0].Fprobe, err)
			}
		}
	}
	if probes, err := compileTracefsBTF(t, fentry, "amd64", &kprobeevents.Options{Kernel: kernel612}); err != nil || probes[0].Filter != "count == 10" {
		t.Errorf("fentry predicate: %v", err)
	}
}

// TestTracefsBTFRefusals: what the tracefs backend cannot express is
// refused with the construct and its column, before anything is written.
func TestTracefsBTFRefusals(t *testing.T) {
	for _, c := range []struct {
		src    string
		kernel kprobeevents.Kernel
		want   string
	}{
		{`fexit:vfs_read { printf("%d %d\n", args.count, retval); }`, kernel61,
			"-e:1:41: tracefs backend: args.count of fexit:vfs_read is read at the function's return, which needs the kernel's $argN on a return probe (fprobe events with BTF arguments, CONFIG_HAVE_FUNCTION_ARG_ACCESS_API, Linux 6.10 or newer)"},
		{`kprobe:vfs_read { printf("%d\n", ((struct file *)arg0)->f_pos + 1); }`, kernel61,
			"-e:1:63: tracefs backend: an expression cannot be expressed in tracefs"},
		{`fentry:vfs_read { @[args.file->f_pos] = sum(args.count); }`, kernel612,
			"-e:1:19: tracefs backend: sum() cannot be expressed in tracefs"},
		{`fentry:vfs_read { printf("%d\n", args.file->f_path.dentry->d_name.name[0]); }`, kernel612,
			"-e:1:71: tracefs backend: an array element cannot be expressed in tracefs"},
		{`kprobe:vfs_read { printf("%d\n", (uint8)((struct file *)arg0)->f_pos); }`, kernel61,
			"-e:1:34: tracefs backend: a cast to uint8 cannot be expressed in tracefs"},
	} {
		_, err := compileTracefsBTF(t, c.src, "amd64", &kprobeevents.Options{Kernel: c.kernel})
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%s:\n got %v\nwant %s...", c.src, err, c.want)
		}
	}
}

// FuzzTracefsBTF: scripts with BTF members, casts and fentry/fexit
// arguments compile for the tracefs backend, for no grammar, 6.1 and
// 6.12, without panicking and with every error positioned; the fentry
// and fexit definitions made are ones kprobeevents accepts for the target.
func FuzzTracefsBTF(f *testing.F) {
	for _, s := range []string{
		`fentry:vfs_read /args.count == 10/ { printf("%s %d %d\n", str(args.file->f_path.dentry->d_name.name), args.count, args.file->f_pos); }`,
		`kfunc:vfs_read { printf("%s %d\n", str(args->file->f_path.dentry->d_name.name), args->count); }`,
		`kretfunc:vfs_read { printf("%d %d\n", args.count, retval); }`,
		`fexit:filp_open { printf("%d\n", retval->f_pos); }`,
		`kprobe:vfs_read { printf("%s %u\n", ((struct file *)arg0)->f_path.dentry->d_shortname.string, ((struct file *)arg0)->f_mode); }`,
		`kretprobe:filp_open /((struct file *)retval)->f_pos > 0/ { @[((struct file *)retval)->f_flags] = count(); }`,
		`fentry:vfs_read { printf("%d\n", ((struct file *)args.file)->f_inode->i_size); }`,
	} {
		f.Add(s)
	}
	spec := fixtureBTF(f)
	amd64, err := asm.ArchFor("amd64")
	if err != nil {
		f.Fatal(err)
	}
	positioned := func(t *testing.T, step string, err error) {
		l, ok := AsErrorList(err)
		if !ok {
			t.Fatalf("%s error of type %T: %v", step, err, err)
		}
		for _, e := range l {
			if !e.Pos.IsValid() {
				t.Fatalf("%s error without position: %v", step, e)
			}
		}
	}
	f.Fuzz(func(t *testing.T, src string) {
		prog, err := Parse("fuzz", []byte(src))
		if err != nil {
			return
		}
		if err := ExpandBTF(prog, spec); err != nil {
			return
		}
		info, err := Check(prog, CheckOptions{BTF: spec, Formats: fixtureFormats})
		if err != nil {
			return
		}
		for _, k := range []kprobeevents.Kernel{{}, kernel61, kernel612} {
			var g *kprobeevents.Options
			if !k.IsZero() {
				g = &kprobeevents.Options{Kernel: k}
			}
			probes, _, err := CompileTracefs(prog, info, TracefsOptions{Arch: amd64, Grammar: g})
			if err != nil {
				positioned(t, "CompileTracefs", err)
				continue
			}
			for _, tp := range probes {
				if tp.Attach.Type != Fentry && tp.Attach.Type != Fexit {
					continue
				}
				def, err := tp.Definition("g", "e", "")
				if err != nil {
					t.Fatalf("%s: %v", tp.Attach.Raw, err)
				}
				vo := kprobeevents.Options{Arch: kprobeevents.ArchX86_64, Kernel: k, BTF: tracefs.KernelBTF(spec)}
				if _, err := kprobeevents.ParseProbe(def, vo); err != nil {
					t.Fatalf("%q (kernel %s) is not a definition that kernel takes: %v", def, k, err)
				}
			}
		}
	})
}
