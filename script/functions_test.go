package script

import (
	"strings"
	"testing"
	"time"
)

func TestStrftime(t *testing.T) {
	tm := time.Date(2026, 3, 7, 14, 5, 9, 0, time.UTC)
	for f, want := range map[string]string{
		"%H:%M:%S\n":        "14:05:09\n",
		"%Y-%m-%d %a %b %e": "2026-03-07 Sat Mar  7",
		"%I %p %j %y %%":    "02 PM 066 26 %",
		"%F %T %R %D":       "2026-03-07 14:05:09 14:05 03/07/26",
		"%s %u %w %Q":       "1772892309 6 6 %Q",
		"trailing %":        "trailing %",
	} {
		if got := Strftime(f, tm); got != want {
			t.Errorf("Strftime(%q) = %q, want %q", f, got, want)
		}
	}
}

// time() and join() records are formatted in user space; strftime() is a
// value printed with its format.
func TestTimeJoinRecords(t *testing.T) {
	obj, err := CompileSource("-e", []byte(`tracepoint:syscalls:sys_enter_execve { time(); time("%Y|"); join(args->argv); join(args->argv, ","); printf("%s\n", strftime("%H:%M", nsecs)); }`),
		CheckOptions{Formats: fixtureFormats}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 7, 14, 5, 9, 0, time.UTC)
	r := &Resolver{Now: func() time.Time { return now }, MonoToWall: func(ns uint64) time.Time { return now.Add(time.Duration(ns)) }}
	join := make([]byte, 16+JoinArgs*JoinArgSize)
	copy(join, le64(2))
	join[8] = 3
	for i, s := range []string{"/bin/true", "a", ""} {
		copy(join[16+i*JoinArgSize:], s+"\x00garbage")
	}
	var out strings.Builder
	for _, rec := range [][]byte{le64(0), le64(1), join, append(le64(3), join[8:]...), append(le64(4), le64(uint64(time.Minute))...)} {
		if _, err := obj.HandleRecord(&out, rec, r); err != nil {
			t.Fatal(err)
		}
	}
	if want := "14:05:09\n2026|/bin/true a \n/bin/true,a,\n14:06\n"; out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
	var joinMap bool
	for _, m := range obj.Maps {
		joinMap = joinMap || m.Spec.Name == JoinMap && int(m.Spec.ValueSize) == len(join)
	}
	if !joinMap {
		t.Error("no join scratch map")
	}
}

func le64(v uint64) []byte {
	b := make([]byte, 8)
	for i := range b {
		b[i] = byte(v >> (8 * i))
	}
	return b
}

func TestCastsAndParams(t *testing.T) {
	prog, err := Parse("-e", []byte(`BEGIN { @a = (uint8)257; @b = (int8)255; @c = (uint32)-1; @d = (int16)65535 + 1; @e = $1 + 1; @f = $#; @g = $3; @h = str($2); @i = str($3); @j = str($1); }`))
	if err != nil {
		t.Fatal(err)
	}
	info, err := Check(prog, CheckOptions{Params: []string{"41", "abc"}})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []uint64{1, ^uint64(0), 0xffffffff, 0, 42, 2, 0} {
		v, ok := foldConst(prog.Probes[0].Body[i].(*AssignStmt).Value)
		if !ok || v != want {
			t.Errorf("statement %d = %d (%v), want %d", i+1, v, ok, want)
		}
	}
	for name, want := range map[string]string{"a": "uint64", "b": "int64", "h": "string[4]", "i": "string[1]", "j": "string[3]"} {
		if got := info.Map(name).Value.String(); got != want {
			t.Errorf("@%s: %s, want %s", name, got, want)
		}
	}
	if got := TypeOf(prog.Probes[0].Body[0].(*AssignStmt).Value).String(); got != "uint8" {
		t.Errorf("(uint8)257 is %s", got)
	}
}

func TestFunctionErrors(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{`BEGIN { @x = (uint8)comm; }`, "-e:1:14: cannot cast string[16] to uint8: only integers can be cast"},
		{`BEGIN { @x = (struct task_struct *)arg0; }`, "-e:1:36: arg0 is only valid in kprobe, uprobe, usdt and rawtracepoint probes"},
		{`BEGIN { @x = (uint8 **)0; }`, "-e:1:14: casts to pointers to pointers are not supported: cast to (uint8 *) and read it with *"},
		{`BEGIN { @x = *(uint8 *)"str"; }`, "-e:1:15: cannot cast string[4] to uint8 *: only integers and pointers can be"},
		{`BEGIN { @x = (uint8 1; }`, "-e:1:21: expected ')' to close the cast (uint8), found number 1"},
		{`BEGIN { @x = $1; }`, ""}, // absent: 0
		{`BEGIN { @x = $2; }`, `-e:1:14: positional parameter $2 is "abc", not a number: use str($2) for its text`},
		{`BEGIN { @x = $0; }`, "-e:1:14: $0 is not a positional parameter: they are $1, $2, ... and $# (their count)"},
		{`BEGIN { $1 = 2; }`, "-e:1:9: $1 is a positional parameter: it cannot be assigned"},
		{`BEGIN { @x = kaddr(comm); }`, `-e:1:20: kaddr() needs a symbol name as a string literal, as in kaddr("avenrun")`},
		{`BEGIN { @x = kaddr("nope"); }`, `-e:1:20: kaddr("nope"): no such symbol`},
		{`BEGIN { time(1); }`, `-e:1:14: time() needs a string literal here, as in time("%H:%M:%S\n")`},
		{`BEGIN { time("a", "b"); }`, "wrong number of arguments to time(): got 2 (usage: time([\"strftime format\"]))"},
		{`BEGIN { @x = strftime("%H", comm); }`, "-e:1:29: strftime() needs nanoseconds (nsecs), not string[16]"},
		{`BEGIN { strftime("%H", nsecs); }`, "-e:1:9: strftime() is evaluated but not used"},
		{`BEGIN { join(comm); }`, "-e:1:14: join() needs the address of an array of string pointers (args->argv), not string[16]"},
		{`BEGIN { join(arg0, 1); }`, "arg0 is only valid in kprobe, uprobe, usdt and rawtracepoint probes"},
		{`kprobe:f { join(arg0, 1); }`, `-e:1:23: join() needs a string literal here, as in join(args->argv, ",")`},
	} {
		prog, err := Parse("-e", []byte(c.src))
		if err == nil {
			_, err = Check(prog, CheckOptions{Params: []string{"", "abc"}, KernelSymbol: func(name string) (uint64, error) {
				return 0, constError("no such symbol")
			}})
		}
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.src, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s:\n got %v\nwant %q", c.src, err, c.want)
		}
	}
	// Without a symbol table, kaddr says so, once: the uses of the
	// variable it could not type are not errors of their own.
	_, _, err := checkSrc(`BEGIN { $a = kaddr("avenrun"); @x = *$a + *($a + 8); }`, nil)
	if l, _ := AsErrorList(err); len(l) != 1 || !strings.Contains(err.Error(), `-e:1:14: kaddr("avenrun") needs the kernel's symbol table, and none is available`) {
		t.Errorf("kaddr without symbols: %v", err)
	}
}

func TestLoopsAndForms(t *testing.T) {
	prog, info, err := checkSrc(`interval:100ms { @m[1] = 1; delete(@m, 1); $i = 0; while ($i < 3) { $i++; unroll(2) { @n++; } } @a = ntop(0x0100007f); @b = ntop(AF_INET, 0x0100007f); } profile:99hz { @p = count(); } interval:s:1 { exit(); }`, nil)
	if err != nil {
		t.Fatal(err)
	}
	a := prog.Probes[0].Attach[0]
	if a.Type != Interval || a.Unit != "ms" || a.Rate != 100 {
		t.Errorf("interval:100ms is %+v", a)
	}
	if a := prog.Probes[1].Attach[0]; a.Type != Profile || a.Unit != "hz" || a.Rate != 99 {
		t.Errorf("profile:99hz is %+v", a)
	}
	del := prog.Probes[0].Body[1].(*ExprStmt).X.(*Call)
	if m := del.Args[0].(*MapExpr); len(del.Args) != 1 || len(m.Keys) != 1 {
		t.Errorf("delete(@m, 1) is %s", prog)
	}
	if got := info.Map("a").Value.String(); got != "inet" {
		t.Errorf("@a: %s", got)
	}
	if _, err := Compile(prog, info, Options{}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ src, want string }{
		{`BEGIN { @m[1, 2] = 1; delete(@m, 1); }`, "-e:1:34: @m has 2 keys: write delete(@m[k1, k2, ...])"},
		{`BEGIN { @m[1] = 1; delete(@m[1], 1); }`, "-e:1:27: delete() with two arguments takes a map without a key, then the key"},
		{`BEGIN { unroll(pid) { exit(); } }`, "-e:1:16: unroll count must be an integer constant from 1 to 100"},
		{`BEGIN { unroll(101) { exit(); } }`, "unroll count must be an integer constant from 1 to 100"},
		{`BEGIN { while (comm) { exit(); } }`, "-e:1:16: while condition must be an integer or a comparison, not string[16]"},
		{`BEGIN { while 1 { exit(); } }`, "-e:1:15: expected '(' after while, found number 1"},
		{`BEGIN { @x = ntop(AF_INET6, 1); }`, "-e:1:29: ntop(AF_INET6, ...) needs a 16-byte address"},
		{`BEGIN { @x = ntop(comm); }`, "ntop() needs an IPv4 address as an integer in network byte order, or an array of 4 or 16 bytes, not string[16]"},
		{`BEGIN { @x = *comm; }`, "operator * needs an integer, not string[16]"},
		{`interval:100 { }`, `-e:1:10: bad interval "100": expected interval:UNIT:N or interval:NUNIT (UNIT one of s, ms, us)`},
		{`interval:5m { }`, `-e:1:10: unknown interval unit "m"`},
	} {
		_, _, err := checkSrc(c.src, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s:\n got %v\nwant %q", c.src, err, c.want)
		}
	}
}

// A config block sets what maps to an option, unless the caller set it;
// an unknown key is refused by name.
func TestConfigBlock(t *testing.T) {
	src := "config = { max_strlen = 16; BPFTRACE_MAX_MAP_KEYS = 100 }\nBEGIN { @[str(arg0)] = count(); }"
	prog, err := Parse("-e", []byte(strings.Replace(src, "arg0", "0", 1)))
	if err != nil {
		t.Fatal(err)
	}
	info, err := Check(prog, CheckOptions{})
	if err != nil {
		t.Fatal(err)
	}
	obj, err := Compile(prog, info, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if m := obj.Maps[0]; m.Spec.MaxEntries != 100 || m.Spec.KeySize != 16 {
		t.Errorf("map %+v: want 100 entries of 16-byte keys", m.Spec)
	}
	// The caller's StrLen wins.
	prog, _ = Parse("-e", []byte(strings.Replace(src, "arg0", "0", 1)))
	info, err = Check(prog, CheckOptions{StrLen: 32})
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Maps[0].Keys[0].String(); got != "string[32]" {
		t.Errorf("key %s, want string[32]", got)
	}
	for _, c := range []struct{ src, want string }{
		{"config = { stack_mode = 1 }\nBEGIN { }", `-e:1:12: unknown config key "stack_mode": tracelet applies max_map_keys, max_strlen (or their BPFTRACE_ variables)`},
		{"config = { max_strlen = \"x\" }\nBEGIN { }", `-e:1:25: config max_strlen needs a number, found string "x"`},
		{"config = { max_strlen = 0 }\nBEGIN { }", "-e:1:25: config max_strlen = 0: expected a positive number"},
		{"config = { max_strlen = 8; max_strlen = 9 }\nBEGIN { }", "-e:1:28: config max_strlen is set twice (first at 1:12)"},
		{"config = { max_strlen = 500 }\nBEGIN { }", "-e:1:12: config max_strlen = 500: strings live on the BPF stack here, so it must be from 2 to 200"},
	} {
		_, _, err := checkSrc(c.src, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q:\n got %v\nwant %q", c.src, err, c.want)
		}
	}
}

// %r escapes only the bytes there (escapeBuffer), and buf() is typed.
func TestBufEscape(t *testing.T) {
	b := append(le64(300), "a\x7f\xff"...)
	if got := escapeBuffer(b); got != `a\x7f\xff` {
		t.Errorf("escapeBuffer clamps to the bytes there: got %q", got)
	}
	for src, msg := range map[string]string{
		`kprobe:f { printf("%s", buf(arg0, 4)); }`: "printf: %s needs a string",
		`kprobe:f { printf("%r", arg0); }`:         "printf: %r needs a buffer, buf(pointer, length)",
		`kprobe:f { printf("%r", buf(arg0)); }`:    "wrong number of arguments to buf()",
	} {
		if _, err := CompileSource("-e", []byte(src), CheckOptions{}, Options{}); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%s: got %v, want %q", src, err, msg)
		}
	}
}
