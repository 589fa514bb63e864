package kprobeevents

import (
	"errors"
	"testing"
)

func TestIsShorthand(t *testing.T) {
	for s, want := range map[string]bool{
		"p:bash:readline":                       true,
		"r:libc:malloc":                         true,
		"p:/bin/bash:0x4245c0":                  true,
		"r:bash:readline +0($retval):string":    true,
		"p:bash:readline+4 a=%di":               true,
		"p:myopen do_sys_openat2 dfd=$arg1":     false,
		"p:grp/ev /bin/bash:0x10":               false,
		"p /bin/bash:0x10":                      false,
		"r16:grp/ev vfs_read":                   false,
		"-:grp/ev":                              false,
		"p:bash:":                               false,
		"":                                      false,
		"x:bash:readline":                       false,
		"p::readline":                           false,
		"  p:bash:readline  ":                   true,
		"p:uprobes/p_bash_0x4245c0 /bin/bash:0": false,
	} {
		if got := IsShorthand(s); got != want {
			t.Errorf("IsShorthand(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestShorthand(t *testing.T) {
	opts := Options{Arch: ArchX86_64}
	tests := []struct {
		spec, path string
		off        uint64
		want       string
	}{
		{"p:bash:readline", "/usr/bin/bash", 0xd5a30, "p:uprobes/p_bash_readline /usr/bin/bash:0x00000000000d5a30"},
		{"r:libc:malloc", "/usr/lib/x86_64-linux-gnu/libc.so.6", 0x9d850, "r:uprobes/r_libc_malloc /usr/lib/x86_64-linux-gnu/libc.so.6:0x000000000009d850"},
		{"p:bash:readline+4 c=%di:u8", "/usr/bin/bash", 0x100, "p:uprobes/p_bash_readline_4 /usr/bin/bash:0x0000000000000104 c=%di:u8"},
		{"p:/root/a.out:0x42", "/root/a.out", 0x42, "p:uprobes/p_a_0x42 /root/a.out:0x0000000000000042"},
		{"p:libc:memcpy@GLIBC_2.14", "/lib/libc.so.6", 0x10, "p:uprobes/p_libc_memcpy_GLIBC_2_14 /lib/libc.so.6:0x0000000000000010"},
	}
	for _, tt := range tests {
		sh, err := ParseShorthand(tt.spec, opts)
		if err != nil {
			t.Errorf("ParseShorthand(%q): %v", tt.spec, err)
			continue
		}
		p, err := sh.Resolve(tt.path, tt.off)
		if err != nil {
			t.Errorf("%q.Resolve: %v", tt.spec, err)
			continue
		}
		if p.String() != tt.want {
			t.Errorf("%q: %q, want %q", tt.spec, p, tt.want)
		}
	}
	sh, err := ParseShorthand("p:/bin/bash:0x4245c0", opts)
	if err != nil || !sh.HasAddr || sh.Addr != 0x4245c0 || sh.Binary != "/bin/bash" || sh.Symbol != "" {
		t.Errorf("address form: %+v %v", sh, err)
	}
}

func TestShorthandErrors(t *testing.T) {
	opts := Options{Arch: ArchX86_64}
	tests := []struct {
		spec string
		kind ErrorKind
		col  int
	}{
		{"p:bash:readline $comm:u32", NEED_STRING_TYPE, 22},
		{"p:bash:readline a=@jiffies", SYM_ON_UPROBE, 18},
		{"p:bash:readline $retval", RETVAL_ON_PROBE, 16},
		{"r:bash:readline   x=%zz", BAD_REG_NAME, 18},
		{"p:bash:0xzz", BAD_UPROBE_OFFS, 7},
		{"p:bash:read-line", BAD_PROBE_ADDR, 7},
		{"p:bash:readline+x", BAD_PROBE_ADDR, 15},
		{"p:grp/ev /bin/bash:0x10", BAD_COMMAND, 0},
		{"p:bash:readline\nx", UNSAFE_CHAR, 15},
	}
	for _, tt := range tests {
		_, err := ParseShorthand(tt.spec, opts)
		var e *Error
		if !errors.As(err, &e) || e.Kind != tt.kind || e.Col != tt.col {
			t.Errorf("ParseShorthand(%q) = %v, want %s at %d", tt.spec, err, tt.kind, tt.col)
		}
	}
	sh, err := ParseShorthand("p:bash:readline", opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sh.Resolve("bash", 0x10); !errors.Is(err, &Error{Kind: WRONG_FILE}) {
		t.Errorf("Resolve without a path: %v", err)
	}
}
