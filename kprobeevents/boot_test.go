package kprobeevents

import (
	"errors"
	"strings"
	"testing"
)

func TestBootParamRoundTrip(t *testing.T) {
	opts := Options{Arch: ArchX86_64}
	var ps []*Probe
	for _, d := range []string{
		"p:myprobe do_sys_open dfd=%ax filename=+0(%si):string",
		"r8:kprobes/ret vfs_read rv=$retval:s64",
		"p ext4:ext4_sync_file+8",
		"p:g/e vfs_read s=\\\"a=b\"",
	} {
		p, err := ParseProbe(d, opts)
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	v, err := EncodeBootParamFor(ps, opts)
	if err != nil {
		t.Fatal(err)
	}
	want := `p:kprobes/myprobe,do_sys_open,dfd=%ax,filename=+0(%si):string;r8:kprobes/ret,vfs_read,rv=$retval:s64;p:kprobes/p_ext4_ext4_sync_file_8,ext4:ext4_sync_file+8;p:g/e,vfs_read,s=\"a=b"`
	if v != want {
		t.Errorf("EncodeBootParam =\n%s\nwant\n%s", v, want)
	}
	if strings.ContainsAny(v, " \t\n") {
		t.Errorf("boot parameter has blanks: %q", v)
	}
	for _, in := range []string{v, BootParamName + "=" + v, BootParamName + "=\"" + v + "\"", v + ";;"} {
		back, err := DecodeBootParamFor(in, opts)
		if err != nil {
			t.Fatalf("DecodeBootParam(%q): %v", in, err)
		}
		if len(back) != len(ps) {
			t.Fatalf("decoded %d probes, want %d", len(back), len(ps))
		}
		for i := range ps {
			if back[i].String() != ps[i].String() {
				t.Errorf("probe %d: %q, want %q", i, back[i], ps[i])
			}
		}
	}
}

func TestBootParamRefusals(t *testing.T) {
	opts := Options{Arch: ArchX86_64}
	u, err := ParseProbe("p /bin/bash:0x10", opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := EncodeBootParamFor([]*Probe{u}, opts); !errors.Is(err, &Error{Kind: WRONG_FILE}) {
		t.Errorf("uprobe in boot parameter: %v", err)
	}
	comma, err := ParseProbe(`p:g/e vfs_read s=\"a,b"`, opts)
	if err != nil {
		t.Fatal(err)
	}
	_, err = EncodeBootParamFor([]*Probe{comma}, opts)
	var e *Error
	if !errors.As(err, &e) || e.Kind != UNSAFE_CHAR || e.Input[e.Col] != ',' {
		t.Errorf("comma in boot parameter: %v", err)
	}
	odd, err := ParseProbe(`p:g/e vfs_read s=\"a"b"`, opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := EncodeBootParamFor([]*Probe{odd}, opts); !errors.Is(err, &Error{Kind: UNSAFE_CHAR}) {
		t.Errorf("odd quotes in boot parameter: %v", err)
	}
	if _, err := EncodeBootParamFor([]*Probe{nil}, opts); err == nil {
		t.Errorf("nil probe accepted")
	}
	many := make([]*Probe, 100)
	for i := range many {
		many[i], _ = ParseProbe("p:tracelet_1/event_number_"+strings.Repeat("x", 10)+string(rune('a'+i%26))+" vfs_read a=%di", opts)
	}
	if _, err := EncodeBootParamFor(many, opts); !errors.Is(err, &Error{Kind: DEF_TOO_LONG}) {
		t.Errorf("oversized boot parameter: %v", err)
	}
	if _, err := DecodeBootParamFor("p:a,vfs_read;-:a", opts); !errors.Is(err, &Error{Kind: BAD_COMMAND}) {
		t.Errorf("removal in boot parameter: %v", err)
	}
	_, err = DecodeBootParamFor("p:a,vfs_read;p:b,vfs_read,$retval", opts)
	if !errors.As(err, &e) || e.Kind != RETVAL_ON_PROBE || !strings.Contains(e.Msg, "boot definition 2") {
		t.Errorf("bad second definition: %v", err)
	}
	if _, err := DecodeBootParamFor("p:a,/bin/bash:0x10", opts); !errors.Is(err, &Error{Kind: WRONG_FILE}) {
		t.Errorf("uprobe decoded from boot parameter: %v", err)
	}
}
