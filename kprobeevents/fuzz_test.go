package kprobeevents

import (
	"strings"
	"testing"
)

// FuzzParse: Parse never panics, an accepted definition's canonical form
// (what the kernel prints back) parses back to itself, and no accepted definition can carry a newline or
// a second command.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"p do_sys_open dfd=%ax:x64",
		"r16:myprobe do_sys_open $retval",
		"p:uprobes/p_bash_0x4245c0 /bin/bash:0x00000000000b0a10 arg1=%di:u64",
		"p:g/e /bin/bash:0x10%return(0x20) a=+u8(+0(%dx)):x32[3] b=%ax:b3@2/8",
		"p:ev vfs_read a=\\123 b=\\\"str\" c=@jiffies+8 d=$stack3 e=$comm f=+0(%di):string[4]",
		"-:kprobes/foo",
		"p:ev vfs_read f=%di:%pD",
		"r:ev vfs_read $arg1 filp->f_pos",
		"p:ev vfs_read a=+0x28(%di):x8 b=\\0x10 c=@jiffies+0 d=$COMM e=%di:b0x3@0x1/8",
		"p:g/e /bin/true:0x10 f=@+256 s=$stack03",
		"p:g/e do_sys_openat2 dentry=+0x0(+0x28($arg1)):string file=+0x0(+0x28(+0x48($arg1))):string",
		"p:ev vfs_read $arg1:%pd f=+8($arg2):%pD",
		"f:fprobes/vfs_read__entry vfs_read file=file buf=buf:string",
		"f8:g/x vfs_read%return r=$retval c=count f=file->f_path.dentry->d_name.name:string",
		"f vfs_read $retval $arg*",
		"t:tracepoints/kfree kfree call_site=call_site p=$arg2:x64",
		"t sched_switch prev_comm=+0($arg2):string",
		"e:eprobes/openat syscalls.sys_enter_openat name=+0($filename):ustring $dfd c=$comm if dfd == 3",
		"e sys/ev $f:u32",
		"p vfs_read $arg* ^file-.x",
	} {
		f.Add(s, uint8(0), uint8(0))
		f.Add(s, uint8(128), uint8(6))
	}
	kernels := []Kernel{{}, {6, 1}, {6, 12}, {5, 4}, {4, 9}}
	exts := []ExtensionSet{0, ext612, ExtensionsOf(ExtEprobe), ExtensionsOf(ExtFprobe, ExtTprobe, ExtEprobe, ExtArgNReturn)}
	f.Fuzz(func(t *testing.T, def string, archSel, sel uint8) {
		opts := Options{
			Arch:       Arches[int(archSel)%len(Arches)],
			Target:     Target(sel % 3),
			Kernel:     kernels[int(sel/3)%len(kernels)],
			Extensions: exts[int(sel/15)%len(exts)],
		}
		if archSel&64 != 0 {
			// The kernel's BTF and trace events known, as the
			// selftests' fakes tell them.
			opts.BTF, opts.Events = fakeBTF{}, fakeEvents{}
		}
		if archSel >= 128 {
			// A known %pd/%pD layout: Format expands them as the kernel does.
			opts.VFS = VFSLayout{DentryName: 0x28, FileDentry: 0x48}
		}
		d, err := Parse(def, opts)
		if err != nil {
			e, ok := err.(*Error)
			if !ok {
				t.Fatalf("Parse(%q) returned %T, want *Error", def, err)
			}
			if e.Col < 0 || e.Kind.String() == "" || e.Msg == "" {
				t.Fatalf("Parse(%q): bad error %+v", def, e)
			}
			_ = e.Caret()
			_ = e.Error()
			return
		}
		once := Format(d)
		if strings.ContainsAny(once, "\n\r\x00;#") {
			t.Fatalf("Parse(%q) accepted, canonical %q has an unsafe character", def, once)
		}
		if p, ok := d.(*Probe); ok {
			switch {
			case p.Type.IsFprobe() || p.Type == Eprobe:
				opts.Target = TargetAuto
			case p.Type.IsUser():
				opts.Target = TargetUprobe
			default:
				opts.Target = TargetKprobe
			}
			if err := p.Validate(opts); err != nil {
				t.Fatalf("Parse(%q) = %q, but Validate: %v", def, once, err)
			}
		}
		d2, err := Parse(once, opts)
		if err != nil {
			t.Fatalf("canonical %q of %q does not parse: %v", once, def, err)
		}
		if twice := Format(d2); twice != once {
			t.Fatalf("not idempotent:\n in    %q\n once  %q\n twice %q", def, once, twice)
		}
	})
}
