package script

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/tracelet/tracelet/asm"
	"github.com/tracelet/tracelet/bpf"
	"github.com/tracelet/tracelet/internal/testenv"
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
		{`BEGIN { @x = (uint8 *)arg0; }`, "-e:1:14: pointer casts to (uint8 *) are not supported: cast to a struct pointer, (struct NAME *)"},
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

// Positional parameters, side by side with bpftrace: a number is an
// integer, str() gives any one's text, one not given is 0 or "", $# counts
// them.
func TestSideBySidePositional(t *testing.T) {
	testenv.RequireRoot(t)
	bt, err := exec.LookPath("bpftrace")
	if err != nil {
		t.Skip("bpftrace is not installed (apt-get install bpftrace)")
	}
	src := `BEGIN { printf("%d %d [%s] [%s] [%s] %d %d\n", $1, $1 * 2, str($1), str($2), str($4), $4, $#); @[str($2)] = $1; exit(); }`
	params := []string{"42", "abc", "0x10"}
	want, err := exec.Command(bt, append([]string{"-e", src}, params...)...).Output()
	if err != nil {
		t.Fatalf("bpftrace: %v", err)
	}
	got := runGated(t, sbsProg(t), src, RunOptions{Params: params}, "exit", "0")
	if w, g := normalizeOutput(string(want)), normalizeOutput(got); w != g || !strings.Contains(g, "42 84 [42] [abc] [] 0 3") {
		t.Errorf("bpftrace:\n%s\ntracelet:\n%s", w, g)
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

// bswap() reverses the bytes of its argument's own width, and a variable
// keeps the width of the integer it was first assigned, as in bpftrace 0.17
// (whose output for this script is the want below): tcpconnect.bt's
// $dport = $sk->__sk_common.skc_dport; $dport = bswap($dport) swaps two
// bytes.
func TestBswap(t *testing.T) {
	got := runBegin(t, `BEGIN { $p = (uint16)0x1234; $q = (int32)-2;
		printf("%x %x %x %x %x\n", bswap($p), bswap((uint32)0x11223344),
		    bswap((uint64)0x0102030405060708) >> 32, bswap((uint8)7), bswap($q));
		$p = bswap($p); printf("%x\n", $p); exit(); }`, RunOptions{})
	if want := "Attaching 1 probe...\n3412 44332211 8070605 7 feffffff\n3412\n\n\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if _, err := CompileSource("-e", []byte(`BEGIN { printf("%d", bswap("x")); }`), CheckOptions{}, Options{}); err == nil ||
		!strings.Contains(err.Error(), "bswap() needs an integer, not string") {
		t.Errorf("bswap of a string: %v", err)
	}
}

// A map whose first assignment reads it (vmscan.bt's @sum_ss = @sum_ss +
// $dur_ss) is an integer that starts at zero; bpftrace 0.17 prints this.
func TestMapReadInOwnAssignment(t *testing.T) {
	got := runBegin(t, `BEGIN { @a = @a + 5; @a = @a + 2; @b = 3 - @b; exit(); }`, RunOptions{})
	if want := "Attaching 1 probe...\n\n\n@a: 7\n@b: 3\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	// Read and never assigned at all stays an error.
	if _, err := CompileSource("-e", []byte(`BEGIN { @a = @b + 1; }`), CheckOptions{}, Options{}); err == nil ||
		!strings.Contains(err.Error(), "map @b is read but never assigned") {
		t.Errorf("@b never assigned: %v", err)
	}
}

// kstack(N) keeps N frames in a stack map of its own, so that stacks equal
// in their N innermost frames are one key; kstack keeps 127. The workload's
// open(2) is seen by both.
func TestKstackFrames(t *testing.T) {
	testenv.RequireRoot(t)
	out := runGated(t, sbsProg(t), `tracepoint:syscalls:sys_enter_openat /pid == WPID/ { @short[kstack(2)] = count(); @full[kstack] = count(); @u[ustack(1)] = count(); }`,
		RunOptions{}, "open", "/nonexistent/kstack")
	frames := func(m string) []int {
		var ns []int
		in, n := false, 0
		for _, l := range strings.Split(out, "\n") {
			switch {
			case strings.HasPrefix(l, m+"["):
				in, n = true, 0
			case in && strings.HasPrefix(l, "]"):
				ns = append(ns, n)
				in = false
			case in && strings.HasPrefix(l, "        "):
				n++
			}
		}
		return ns
	}
	short, full, user := frames("@short"), frames("@full"), frames("@u")
	if len(short) == 0 || len(full) == 0 || len(user) == 0 {
		t.Fatalf("no stacks:\n%s", out)
	}
	for _, n := range short {
		if n != 2 {
			t.Errorf("kstack(2) printed %d frames:\n%s", n, out)
		}
	}
	for _, n := range user {
		if n != 1 {
			t.Errorf("ustack(1) printed %d frames:\n%s", n, out)
		}
	}
	if full[0] <= 2 {
		t.Errorf("kstack printed %d frames, want the whole syscall path:\n%s", full[0], out)
	}
	obj, err := CompileSource("-e", []byte(`kprobe:f { @a[kstack(5)] = count(); @b[kstack] = count(); @c[ustack(127)] = count(); }`), CheckOptions{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	sizes := map[string]uint32{}
	for _, m := range obj.Maps {
		if m.Spec.Type == bpf.StackTrace {
			sizes[m.Spec.Name] = m.Spec.ValueSize
		}
	}
	if want := map[string]uint32{"stacks": 8 * 127, "stacks_5": 8 * 5}; !reflect.DeepEqual(sizes, want) {
		t.Errorf("stack maps %v, want %v", sizes, want)
	}
	for src, msg := range map[string]string{
		`kprobe:f { @[kstack(0)] = count(); }`:                      "kstack() takes the number of frames to keep, a constant from 1 to 127",
		`kprobe:f { @[ustack(arg0)] = count(); }`:                   "ustack() takes the number of frames to keep",
		`kprobe:f { @[kstack(1, 2)] = count(); }`:                   "wrong number of arguments to kstack()",
		`kprobe:f { @[kstack(3)] = count(); @[kstack] = count(); }`: "",
	} {
		_, err := CompileSource("-e", []byte(src), CheckOptions{}, Options{})
		if msg == "" {
			if err == nil {
				t.Errorf("%s: kstack(3) and kstack are different keys, but it compiled", src)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%s: got %v, want %q", src, err, msg)
		}
	}
}

// "%\n" is no conversion: it prints as written, as bpftrace 0.17 prints
// dcstat.bt's header (its output for this script is the want).
func TestPrintfPercentNewline(t *testing.T) {
	got := runBegin(t, `BEGIN { printf("%10s %5s%\n", "REFS", "HIT%"); printf("a%\n"); exit(); }`, RunOptions{})
	if want := "Attaching 1 probe...\n      REFS  HIT%%\na%\n\n\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if _, err := ParseFormat("%\t"); err == nil {
		t.Error(`"%\t" accepted`)
	}
}

// numaid is the NUMA node of the CPU the probe runs on
// (bpf_get_numa_node_id): one of the nodes the kernel lists.
func TestNumaid(t *testing.T) {
	got := runBegin(t, `BEGIN { printf("%d\n", numaid); exit(); }`, RunOptions{})
	node := strings.TrimSpace(strings.TrimPrefix(got, "Attaching 1 probe...\n"))
	if _, err := os.Stat("/sys/devices/system/node/node" + node); err != nil {
		t.Errorf("numaid printed %q, not a node of /sys/devices/system/node: %v", got, err)
	}
}

// str(p, n) with n known only when the probe runs reads at most n bytes
// (shellsnoop.bt's str(args->buf, args->count)): n is clamped to the
// string's room, a negative n reading all of it, and 0 reading nothing.
func TestStrRuntimeLength(t *testing.T) {
	testenv.RequireRoot(t)
	out := runGated(t, sbsProg(t), `tracepoint:syscalls:sys_enter_openat /pid == WPID && str(args->filename) == "/nonexistent/strlen"/ {
		$n = 5; $m = -1; $z = 0; $big = 1000;
		printf("[%s] [%s] [%s] [%s]\n", str(args->filename, $n), str(args->filename, $m), str(args->filename, $z), str(args->filename, $big)); }`,
		RunOptions{}, "open", "/nonexistent/strlen")
	if want := "[/none] [/nonexistent/strlen] [] [/nonexistent/strlen]\n"; !strings.Contains(out, want) {
		t.Errorf("no line %q in:\n%s", want, out)
	}
	if _, err := CompileSource("-e", []byte(`kprobe:f { @l[tid] = 1; printf("%s", str(arg0, @l[tid])); }`), CheckOptions{}, Options{}); err == nil ||
		!strings.Contains(err.Error(), "assign it to a variable first") {
		t.Errorf("length from a map: %v", err)
	}
}

// reg("name") reads a saved register by its tracefs name: at the workload's
// calls the first argument register holds arg0 (7), and ip is set.
func TestReg(t *testing.T) {
	testenv.RequireRoot(t)
	arch, err := asm.ArchFor(runtime.GOARCH)
	if err != nil {
		t.Skipf("no pt_regs table here: %v", err)
	}
	a0, err := arch.Arg(asm.FuncABI, 0)
	if err != nil || !a0.InRegister() {
		t.Skipf("the first argument is not in a register here (%v)", err)
	}
	out := runWorkload(t, `uprobe:TESTPROG:TARGET /pid == WPID/ { @[reg("`+a0.Reg+`"), reg("ip") != 0] = count(); }`,
		RunOptions{}, "calls", "4", "7", "9")
	if want := "Attaching 1 probe...\n\n\n@[7, 1]: 4\n"; out != want {
		t.Errorf("got %q, want %q", out, want)
	}
}

// software:EVENT[:COUNT] samples a perf software event on every CPU: the
// workload's page faults (every one, with a count of 1) reach the program.
func TestSoftwareProbe(t *testing.T) {
	testenv.RequireRoot(t)
	out := runGated(t, sbsProg(t), `software:page-faults:1 /pid == WPID/ { @faults = count(); @p[probe] = count(); }`,
		RunOptions{}, "open", "/nonexistent/faults")
	m := regexp.MustCompile(`@faults: (\d+)\n`).FindStringSubmatch(out)
	if m == nil || m[1] == "0" || !strings.Contains(out, "@p[software:page-faults:1]: "+m[1]+"\n") {
		t.Errorf("no page faults of the workload counted:\n%s", out)
	}
	for src, msg := range map[string]string{
		`software:pagefaults { }`: `unknown software event "pagefaults"; did you mean "page-faults"?`,
		`hardware:cycles:0 { }`:   `bad hardware count "0"`,
		`software { }`:            "software probe must be written software:EVENT[:COUNT]",
	} {
		if _, err := Parse("-e", []byte(src)); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%s: got %v, want %q", src, err, msg)
		}
	}
	prog, err := Parse("-e", []byte(`s:faults { } h:cycles:1000 { }`))
	if err != nil {
		t.Fatal(err)
	}
	if a, b := prog.Probes[0].Attach[0], prog.Probes[1].Attach[0]; a.describe() != "software:faults:100" || b.describe() != "hardware:cycles:1000" {
		t.Errorf("got %s and %s, want bpftrace's default count 100 and the count given", a.describe(), b.describe())
	}
}

// username is the uid, printed as the user's name from /etc/passwd, in
// printf, keys and values; bpftrace 0.17 prints the same for this script
// run as root.
func TestUsername(t *testing.T) {
	file := filepath.Join(t.TempDir(), "passwd")
	if err := os.WriteFile(file, []byte("root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\nbad line\nalias:x:1000:1000::/:/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	user := passwdUser(file)
	for uid, want := range map[uint32]string{0: "root", 1000: "alice", 4242: ""} {
		if got := user(uid); got != want {
			t.Errorf("uid %d: got %q, want %q", uid, got, want)
		}
	}
	got := runBegin(t, `BEGIN { printf("%s %d\n", username, uid); @[username] = count(); @u = username; exit(); }`, RunOptions{})
	if want := "Attaching 1 probe...\nroot 0\n\n\n@[root]: 1\n@u: root\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// cat() prints a file, its path formatted as printf formats (bpftrace's
// output for cat("/proc/sys/kernel/ostype") is "Linux\n"); a file that
// cannot be opened prints bpftrace's error on stderr, not in the output.
func TestCat(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "f7"), []byte("seven\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got := runBegin(t, `BEGIN { cat("/proc/sys/kernel/ostype"); cat("`+dir+`/f%d", 7); cat("/nonexistent/cat"); exit(); }`, RunOptions{})
	if want := "Attaching 1 probe...\nLinux\nseven\n\n\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if _, err := CompileSource("-e", []byte(`BEGIN { cat("/proc/%d/comm"); }`), CheckOptions{}, Options{}); err == nil ||
		!strings.Contains(err.Error(), "the format has 1 conversion(s) but 0 argument(s)") {
		t.Errorf("cat with a missing argument: %v", err)
	}
}

// buf(p, n) reads n bytes (clamped to the string size) and %r prints them
// as bpftrace 0.17 does: printable ASCII as is, the rest as \xNN. For this
// script and path bpftrace prints "/none|/nonexistent/b\x09uf\x00|".
func TestBuf(t *testing.T) {
	testenv.RequireRoot(t)
	out := runGated(t, sbsProg(t), `tracepoint:syscalls:sys_enter_openat /pid == WPID && str(args->filename) == "/nonexistent/b\tuf"/ {
		$n = 18; printf("%r|%r|\n", buf(args->filename, 5), buf(args->filename, $n)); }`,
		RunOptions{}, "open", "/nonexistent/b\tuf")
	if want := `/none|/nonexistent/b\x09uf\x00|` + "\n"; !strings.Contains(out, want) {
		t.Errorf("no line %q in:\n%s", want, out)
	}
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
