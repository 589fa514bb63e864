package scriptrun

import (
	"context"
	"debug/elf"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tracelet/tracelet/internal/testenv"
	"github.com/tracelet/tracelet/tracefs"
)

// btTool is one of bpftrace 0.17's tools, run unchanged by both tracers on
// one workload. The workload runs as sbsComm (a copy of prog named so), so
// that its lines are told from everyone else's by their comm.
type btTool struct {
	name string
	// skip says why the tool cannot be compared on this host: the
	// capability it needs that the host (or bpftrace 0.17 on it) lacks.
	skip string
	// prog is the workload's program, copied to a file named sbsComm:
	// "" is the test program.
	prog     string
	workload []string // its arguments; TMP is a file of the test's own
	// header is how many lines the output starts with that do not depend
	// on any event (the "Attaching" line, the tool's banner and column
	// heads): compared as they are.
	header int
	// keep matches the other lines compared: the workload's (COMM stands
	// for its comm). Every other line is another process's, or system-wide.
	keep string
	// norm are replacements, after the common ones (times, pids), for
	// what else changes from run to run.
	norm [][2]string
	// min is how many kept lines there must be.
	min int
	// driven, if not nil, makes the workload one the test talks to while
	// it is traced (bttools_driven_test.go), given prog's path.
	driven func(t *testing.T, prog string) *btDriven
	// systemWide: bpftrace 0.17 attaches uprobes system-wide even with -c
	// or -p (tracelet restricts them to that process), so its maps also
	// hold other processes' calls into the library: each kept line of
	// tracelet's must be among bpftrace's, which may have more.
	systemWide bool
}

var btTools = []btTool{
	{name: "execsnoop.bt", workload: []string{"exec", "/bin/true", "a", "bb", "ccc"}, header: 2,
		keep: `^\d+ +\d+ +/bin/true a bb ccc$`, norm: [][2]string{{`^\d+ +`, "MS "}}, min: 1},
	// The Go runtime's own opens at start get other fds under bpftrace,
	// whose -o file the workload inherits: only the workload's open is kept.
	{name: "opensnoop.bt", workload: []string{"open", "/nonexistent/opensnoop"}, header: 3,
		keep: ` COMM .* /nonexistent/opensnoop$`, min: 1},
	{name: "killsnoop.bt", workload: []string{"kill", "28", "3"}, header: 2, keep: ` COMM `, min: 3},
	// The runtime's own nanosleeps (sysmon's usleep) are the workload's
	// too: only the one of 5 ms is kept. Its parent is bpftrace for one
	// and the test's gate for the other. bpftrace's time() is a record of
	// its own, and its perf rings are read one CPU after the other: when
	// another thread's sleep ends on another CPU at the same moment, its
	// time can land on the line before, leaving this line without one
	// ("N bpftrace N COMM 0.005", seen once under load). The line is
	// compared from its PPID on.
	{name: "naptime.bt", workload: []string{"nanosleep", "5000000"}, header: 2,
		keep: ` COMM +0\.005$`, norm: [][2]string{{`^(?:HH:MM:SS +)*N \S+ +`, "HH:MM:SS N PCOMM "}}, min: 1},
	{name: "setuids.bt", workload: []string{"setuid", "0"}, header: 2, keep: ` COMM `, min: 1},
	{name: "statsnoop.bt", workload: []string{"statfs", "/nonexistent/statsnoop"}, header: 3, keep: ` COMM `, min: 1},
	{name: "syncsnoop.bt", workload: []string{"fdatasync", "TMP"}, header: 2, keep: ` COMM `, min: 1},
	// System-wide counts: only the workload's own keys are compared: its
	// 100,000 kill(2) calls (and as many getpid(2)) put it and kill in the
	// top 10 on this machine. KILLNR is kill's number in the workload's
	// ABI, which need not be the test's (a 386 test on x86_64 runs the
	// 64-bit testprog).
	{name: "syscount.bt", workload: []string{"kill", "28", "100000"}, header: 2,
		keep: `^(Top 10 .*|@process\[COMM\]: .*|@syscall\[KILLNR\]: .*)$`,
		norm: [][2]string{{`^(@process\[COMM\]): 2\d{5}$`, "$1: 2xxxxx"}, {`^(@syscall\[\d+\]): 1\d{5}$`, "$1: 1xxxxx"}}, min: 4},
	{name: "gethostlatency.bt", prog: "/usr/bin/getent", workload: []string{"ahosts", "localhost"}, header: 3,
		keep: ` COMM `, norm: [][2]string{{` COMM +\d+ `, " COMM LAT "}}, min: 1},
	// Interval and profile tools: their numbers are system-wide and their
	// lines one a second; the banner and column heads are compared.
	{name: "pidpersec.bt", prog: "/bin/sleep", workload: []string{"1.5"}, header: 2},
	{name: "cpuwalk.bt", prog: "/bin/sleep", workload: []string{"0.5"}, header: 2},
	{name: "bitesize.bt", prog: "/bin/sleep", workload: []string{"0.5"}, header: 2},
	{name: "writeback.bt", prog: "/bin/sleep", workload: []string{"0.5"}, header: 3},
	{name: "threadsnoop.bt", skip: "uprobe:libpthread:pthread_create: this glibc (2.34+) has pthread_create in libc.so.6; libpthread.so.0 is a stub without it, so no thread creation reaches the probe"},
	// bash on a terminal, typed into: the line compared is the unique
	// command's (its pid and time normalised).
	{name: "bashreadline.bt", prog: "bash", header: 2, keep: `  echo tracelet-readline-\d+-2$`, min: 1,
		driven: func(t *testing.T, bash string) *btDriven {
			requireReadline(t, bash)
			return bashTerminal(t, bash, fmt.Sprintf("echo tracelet-readline-%d-2", os.Getpid()))
		}},
	// openssl s_server (as sbsComm) with the test as its TLS client: one
	// SSL_do_handshake, two SSL_reads and an SSL_write, in lockstep. The
	// libcrypto probes find no symbol in a stripped libcrypto (the
	// ossl_* functions are local), for either tracer.
	{name: "sslsnoop.bt", prog: "openssl", header: 3, keep: ` COMM `, min: 4,
		norm: [][2]string{{`^\S+ +\S+ +COMM +\S+ +`, "TIME TID COMM LAT "}},
		driven: func(t *testing.T, prog string) *btDriven {
			d := tlsServer(t, prog)
			d.waitLines = 4
			return d
		}},
	// The histograms and stats at END, keyed by func: their keys, and the
	// stats' counts (latencies vary).
	{name: "ssllatency.bt", prog: "openssl", header: 2, systemWide: true, min: 7,
		keep:   `^(Latency distribution in microsecond:|@histF?\[SSL_\w+\]: ?|@statF?\[SSL_\w+\]: count .*)$`,
		norm:   [][2]string{{`^(@statF?\[\w+\]: count \d+), average \d+, total \d+$`, "$1"}},
		driven: tlsServer},
	{name: "loads.bt", skip: "bpftrace 0.17 cannot run it here: kaddr(\"avenrun\"), a data symbol this kernel's /proc/kallsyms does not list"},
	{name: "runqlat.bt", skip: "bpftrace 0.17 cannot run it here: its #include <linux/sched.h> fails under clang (__aligned_u64)"},
	{name: "runqlen.bt", skip: "neither compiles on 6.18: cfs_rq.nr_running became nr_queued (see toolsFailing)"},
	{name: "tcpdrop.bt", skip: "bpftrace 0.17 cannot run it here: its #include <net/sock.h> is not installed (kernel headers)"},
}

// kprobeTools are the tools that need kprobes (or kprobe:vfs_*
// wildcards), which this host lacks: TestRunKprobesBpftraceTools runs
// those with a workload in the VM guests.
var kprobeTools = []string{"biolatency.bt", "biosnoop.bt", "biostacks.bt", "capable.bt", "dcsnoop.bt",
	"mdflush.bt", "oomkill.bt", "swapin.bt", "tcpaccept.bt", "tcpconnect.bt", "tcplife.bt", "tcpretrans.bt",
	"tcpsynbl.bt", "undump.bt", "vfscount.bt", "vfsstat.bt", "xfsdist.bt"}

var (
	btTimeRE = regexp.MustCompile(`\b\d\d:\d\d:\d\d\b`)
	// A pid: four digits or more, with its column's padding, whose width
	// changes with the number.
	btPidRE = regexp.MustCompile(`\b\d{4,}\b *`)
)

// btNormalize keeps the header lines and the lines matching keep, with
// times and pids (and what norm says) replaced.
func (b btTool) normalize(out, comm string) (string, int) {
	keep := regexp.MustCompile(strings.ReplaceAll(b.keep, "COMM", regexp.QuoteMeta(comm)))
	var lines []string
	n := 0
	for i, l := range strings.Split(out, "\n") {
		if i >= b.header && (b.keep == "" || !keep.MatchString(l)) {
			continue
		}
		if i >= b.header {
			n++
		}
		l = strings.ReplaceAll(l, comm, "COMM")
		l = btTimeRE.ReplaceAllString(l, "HH:MM:SS")
		if !strings.HasPrefix(l, "@") {
			l = btPidRE.ReplaceAllString(l, "N ")
		}
		for _, r := range b.norm {
			l = regexp.MustCompile(r[0]).ReplaceAllString(l, r[1])
		}
		lines = append(lines, l)
	}
	return strings.Join(lines, "\n"), n
}

// TestSideBySideBpftraceTools runs each of bpftrace 0.17's tools that
// bpftrace can run on this host (tracepoint, uprobe, profile and interval
// tools), unchanged, with bpftrace and with tracelet on the same workload,
// and compares their outputs: the header lines as they are, and the
// workload's own lines after times and pids are normalised.
func TestSideBySideBpftraceTools(t *testing.T) {
	testenv.RequireRoot(t)
	bt, err := exec.LookPath("bpftrace")
	if err != nil {
		if testenv.InCI() {
			t.Fatal("bpftrace is not installed: make deps installs it")
		}
		t.Skip("bpftrace is not installed (apt-get install bpftrace)")
	}
	files, _ := filepath.Glob(filepath.Join(scriptTestdata, "bpftrace-tools", "*.bt"))
	listed := map[string]bool{}
	for _, k := range kprobeTools {
		listed[k] = true
	}
	for _, b := range btTools {
		if listed[b.name] {
			t.Errorf("%s listed twice", b.name)
		}
		listed[b.name] = true
	}
	for _, f := range files {
		if !listed[filepath.Base(f)] {
			t.Errorf("%s has no row in btTools or kprobeTools", filepath.Base(f))
		}
	}
	testProg := sbsProg(t)
	for _, b := range btTools {
		t.Run(b.name, func(t *testing.T) {
			if b.skip != "" {
				t.Skip(b.skip)
			}
			file := filepath.Join(scriptTestdata, "bpftrace-tools", b.name)
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if b.driven != nil {
				w, g := b.runDriven(t, bt, file, string(src))
				b.compare(t, w, g)
				return
			}
			prog := testProg
			if b.prog != "" {
				prog = copyAs(t, b.prog, sbsComm)
			}
			b.keep = strings.ReplaceAll(b.keep, "KILLNR", strconv.Itoa(killNumber(t, prog)))
			tmp := filepath.Join(t.TempDir(), "data")
			if err := os.WriteFile(tmp, []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
			var workload []string
			for _, w := range b.workload {
				workload = append(workload, strings.ReplaceAll(w, "TMP", tmp))
			}
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			// -o: the workload's own stdout (-c shares bpftrace's) stays out.
			btOut := filepath.Join(t.TempDir(), "bpftrace.out")
			cmd := exec.CommandContext(ctx, bt, "-o", btOut, file, "-c", prog+" "+strings.Join(workload, " "))
			cmd.Env = append(os.Environ(), "BPFTRACE_STRLEN=64")
			if msg, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("bpftrace: %v\n%s", err, msg)
			}
			want, err := os.ReadFile(btOut)
			if err != nil {
				t.Fatal(err)
			}
			got := runGated(t, prog, string(src), RunOptions{}, workload...)
			b.compare(t, string(want), got)
		})
	}
}

// compare compares bpftrace's output with tracelet's, normalised.
func (b btTool) compare(t *testing.T, want, got string) {
	t.Helper()
	w, wn := b.normalize(want, sbsComm)
	g, gn := b.normalize(got, sbsComm)
	t.Logf("compared:\n%s", g)
	if b.systemWide {
		if missing := notAmong(g, w, b.header); len(missing) > 0 {
			t.Errorf("tracelet's %q not in bpftrace's output:\nbpftrace:\n%s\ntracelet:\n%s", missing, w, g)
		}
		wn = gn
	} else if w != g {
		t.Errorf("bpftrace:\n%s\ntracelet:\n%s\n(tracelet's whole output:\n%s)", w, g, got)
	}
	if wn < b.min || gn < b.min {
		t.Errorf("%d and %d of the workload's lines, want at least %d:\nbpftrace:\n%s\ntracelet:\n%s", wn, gn, b.min, want, got)
	}
}

// notAmong returns the lines of got that are not among want's (each of
// want's lines standing for one of got's), and got's first header lines
// where they differ from want's.
func notAmong(got, want string, header int) []string {
	gl, wl := strings.Split(got, "\n"), strings.Split(want, "\n")
	var missing []string
	left := map[string]int{}
	for i, l := range wl {
		if i >= header {
			left[l]++
		}
	}
	for i, l := range gl {
		if i < header {
			if i >= len(wl) || wl[i] != l {
				missing = append(missing, l)
			}
			continue
		}
		if left[l] == 0 {
			missing = append(missing, l)
			continue
		}
		left[l]--
	}
	return missing
}

// runDriven runs the tool with bpftrace and with tracelet on a driven
// workload of its own each, and returns the two outputs.
func (b btTool) runDriven(t *testing.T, bt, file, src string) (want, got string) {
	t.Helper()
	prog := testenv.RequireHostTool(t, b.prog, "apt-get install "+b.prog)
	want = runDrivenBpftrace(t, bt, file, b, b.driven(t, prog))
	got = runDrivenTracelet(t, src, b, b.driven(t, prog))
	return want, got
}

// copyAs copies the program at path to a file named name, for a comm of
// the test's own.
func copyAs(t *testing.T, path, name string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// btKprobeTool is one of bpftrace 0.17's kprobe tools, run unchanged in
// the VM guests on a workload whose events the test knows.
type btKprobeTool struct {
	name string
	// skip says why the tool is not run in the guests at all.
	skip string
	// funcs are the kernel functions it needs: one of each group, which
	// the kernel may have inlined (blk_account_io_start on 6.1).
	funcs [][]string
	disk  bool // its workload reads the guest's scratch disk
	// memcg, if not "", is the memory.max of a cgroup of the test's own,
	// CGROUP in the workload; its swap is limited to 0, unless swap: then
	// the scratch disk is the guest's swap, and the cgroup's swap is not
	// limited.
	memcg string
	swap  bool
	// workload: PORT is a free loopback port; TMP a file of 8 bytes; NAME
	// a name no lookup has seen; DISK the scratch disk's /dev path.
	workload []string
	// want are lines the output must have, as regexps (COMM, COMM10 (its
	// first 10 bytes), PORT, NAME and DISKNAME replaced).
	want []string
	// atLeast: the line of want[0] ends with a count, system-wide, that
	// is at least the workload's own.
	atLeast int
	btf     bool // it casts to the kernel's structs, which need BTF
}

var btKprobeTools = []btKprobeTool{
	{name: "tcpconnect.bt", workload: []string{"tcp", "PORT"},
		want: []string{`^Tracing tcp connections\. Hit Ctrl-C to end\.$`,
			`^\d\d:\d\d:\d\d \d+ +COMM +127\.0\.0\.1 +\d+ +127\.0\.0\.1 +PORT *$`}, btf: true},
	{name: "tcpaccept.bt", workload: []string{"tcp", "PORT"},
		want: []string{`^Tracing TCP accepts\. Hit Ctrl-C to end\.$`,
			`^\d\d:\d\d:\d\d \d+ +COMM +127\.0\.0\.1 +\d+ +127\.0\.0\.1 +PORT +\d+/1$`}, btf: true},
	// vfs_* expands from available_filter_functions, or /proc/kallsyms
	// where that is unreadable; the workload's 5 reads are in the count.
	{name: "vfscount.bt", workload: []string{"read", "TMP", "1", "1", "1", "1", "1"},
		want: []string{`^@\[vfs_read\]: (\d+)$`}, atLeast: 5},
	// setuid(0) as root asks for CAP_SETUID (7). Its arg3, cap_capable's
	// opts, is on the stack on i386 (regparm(3)).
	{name: "capable.bt", workload: []string{"setuid", "0"},
		want: []string{`^\d\d:\d\d:\d\d  0 +\d+ +COMM +7 +CAP_SETUID +\d+$`}},
	// A name never looked up: d_lookup of it, on the way to ENOENT.
	{name: "dcsnoop.bt", workload: []string{"open", "/tmp/NAME"},
		want: []string{`^\d+ +\d+ +COMM +M NAME$`}, btf: true},
	// Eight O_DIRECT reads of the scratch disk: eight requests, each
	// accounted at its start and end.
	{name: "biolatency.bt", funcs: blkAccount, disk: true, workload: []string{"direct", "DISK", "8"},
		want: []string{`^@usecs:$`, `^\[\d+[KM]?, \d+[KM]?\) +\d+ \|@+ *\|$`}},
	{name: "biosnoop.bt", funcs: blkAccount, disk: true, workload: []string{"direct", "DISK", "8"},
		want: []string{`^TIME\(ms\) +\S+ +\S+ +PID +LAT\(ms\)$`, `^\d+ +DISKNAME +COMM +\d+ +\d+$`}, btf: true},
	// Its probe on blk_start_request (gone in 5.0) is skipped with a
	// warning, as bpftrace skips it; the stacks are the reads' own.
	{name: "biostacks.bt", funcs: [][]string{blkAccount[0], {"blk_mq_start_request"}}, disk: true, workload: []string{"direct", "DISK", "8"},
		want: []string{`^@usecs\[$`, `^\s+\w*submit_bio\w*\+\d+$`}},
	// The connection's two sockets, client and server, each a line when
	// it closes.
	{name: "tcplife.bt", workload: []string{"tcp", "PORT"},
		want: []string{`^PID +\S+ +LADDR +\S+ +RADDR +\S+ +TX_KB +RX_KB +MS$`,
			`^\d+ +COMM10 +127\.0\.0\.1 +\d+ +127\.0\.0\.1 +PORT +0 +0 +\d+$`,
			`^\d+ +COMM10 +127\.0\.0\.1 +PORT +127\.0\.0\.1 +\d+ +0 +0 +\d+$`}, btf: true},
	// The workload's listener has a backlog of 1.
	{name: "tcpsynbl.bt", workload: []string{"tcp", "PORT"},
		want: []string{`^@backlog\[1\]: *$`, `^\[0\] +\d+ \|@+ *\|$`}, btf: true},
	// A SYN dropped by a full accept queue, sent again after a second.
	{name: "tcpretrans.bt", workload: []string{"synretrans", "PORT", "1500"},
		want: []string{`^\d\d:\d\d:\d\d \d+ +127\.0\.0\.1:\d+ +127\.0\.0\.1:PORT +SYN_SENT$`}, btf: true},
	{name: "undump.bt", workload: []string{"unix", "NAME"},
		want: []string{`^\d\d:\d\d:\d\d COMM +\d+ +\d+ +NAME$`}, btf: true},
	// Reads for 1.5 s: the counts printed after the first second have
	// the workload's.
	{name: "vfsstat.bt", workload: []string{"readfor", "TMP", "1500"},
		want: []string{`^@\[vfs_read\]: (\d+)$`, `^\d\d:\d\d:\d\d$`}, atLeast: 10},
	{name: "mdflush.bt", funcs: [][]string{{"md_flush_request"}}},
	{name: "xfsdist.bt", funcs: [][]string{{"xfs_file_read_iter"}}},
	// The scratch disk (64 MiB) as swap, and a workload that writes 24
	// MiB in a cgroup of 8 and reads it back: reclaim swaps some 20 MiB
	// out (an 8 MiB disk was too small: the cgroup's OOM killer came
	// first), the reads swap them in (swap_readpage; 6.6 renamed it swap_read_folio, and
	// the tool finds nothing there).
	{name: "swapin.bt", funcs: [][]string{{"swap_readpage"}}, disk: true, swap: true, memcg: "8M",
		workload: []string{"swapin", "CGROUP", "24"},
		want:     []string{`^@\[COMM, \d+\]: \d+$`}},
	// The workload joins a cgroup whose memory.max is 16 MiB and touches
	// 64: the OOM killer, called in its own allocation, kills it.
	{name: "oomkill.bt", funcs: [][]string{{"oom_kill_process"}}, memcg: "16M", workload: []string{"oom", "CGROUP", "64"},
		want: []string{`^Tracing oom_kill_process\(\)\.\.\. Hit Ctrl-C to end\.$`,
			`^\d\d:\d\d:\d\d Triggered by PID \d+ \("COMM"\), OOM kill of PID \d+ \("COMM"\), \d+ pages, loadavg: \d+\.\d+ \d+\.\d+ \d+\.\d+ \d+/\d+ \d+$`}, btf: true},
}

// blkAccount are the functions where bpftrace's block tools see a request
// start and end: one of each pair, as the kernel has it.
var blkAccount = [][]string{{"blk_account_io_start", "__blk_account_io_start"}, {"blk_account_io_done", "__blk_account_io_done"}}

// kernelFunctions are the functions a kprobe may attach to, as the run's
// wildcards list them (kprobeFunctions): available_filter_functions where
// it can be read, else /proc/kallsyms. 6.12's blk_account_io_start is in
// kallsyms, but not in the first, and the kernel refuses a kprobe on it.
func kernelFunctions(t *testing.T) (map[string]bool, string) {
	t.Helper()
	fs, err := tracefs.Find()
	if err != nil {
		t.Fatal(err)
	}
	list, from, err := kprobeFunctions(fs)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]bool{}
	for _, f := range list {
		m[f] = true
	}
	return m, from
}

// TestRunKprobesBpftraceTools runs bpftrace 0.17's kprobe tools, unchanged,
// in the VM guests (this host has no kprobes, and the guests no bpftrace):
// each on a workload of known events, which its output must show.
func TestRunKprobesBpftraceTools(t *testing.T) {
	testenv.RequireKprobes(t)
	_, noBTF := os.Stat("/sys/kernel/btf/vmlinux")
	prog := sbsProg(t)
	funcs, funcsFrom := kernelFunctions(t)
	disk, diskName := testenv.ScratchDisk()
	listed := map[string]bool{}
	for _, b := range btKprobeTools {
		listed[b.name] = true
	}
	for _, k := range kprobeTools {
		if !listed[k] {
			t.Errorf("%s has no row in btKprobeTools", k)
		}
	}
	for _, b := range btKprobeTools {
		t.Run(b.name, func(t *testing.T) {
			if b.skip != "" {
				t.Skip(b.skip)
			}
			for _, g := range b.funcs {
				if !slices.ContainsFunc(g, func(f string) bool { return funcs[f] }) {
					t.Skipf("this kernel cannot trace %s: not in %s (inlined, notrace, renamed, or in a module the guest does not load)", strings.Join(g, " or "), funcsFrom)
				}
			}
			if b.disk && disk == "" {
				t.Skip("the guest has no scratch disk: its kernel has NVMe as a module, and the loop driver too")
			}
			if b.btf && noBTF != nil {
				t.Skip("its struct sock or nameidata comes from the kernel's BTF, and this kernel has none:", noBTF)
			}
			src, err := os.ReadFile(filepath.Join(scriptTestdata, "bpftrace-tools", b.name))
			if err != nil {
				// The guest holds script/testdata when ./script is among
				// its packages, as packages.txt has it (with make vmtest
				// VMPKG, list ./script too).
				t.Fatal(err)
			}
			if strings.Contains(string(src), "kretprobe:") {
				testenv.RequireReturnProbes(t)
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
			ln.Close() // the workload listens on it
			tmp := filepath.Join(t.TempDir(), "data")
			if err := os.WriteFile(tmp, []byte("12345678"), 0o644); err != nil {
				t.Fatal(err)
			}
			name := "dcsnoop-" + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
			cgroup := ""
			if b.swap {
				testenv.SwapOn(t, disk)
			}
			if b.memcg != "" {
				swapMax := "0"
				if b.swap {
					swapMax = ""
				}
				cgroup = testenv.MemoryCgroup(t, b.memcg, swapMax)
			}
			comm10 := sbsComm[:min(10, len(sbsComm))]
			r := strings.NewReplacer("CGROUP", cgroup, "PORT", port, "TMP", tmp, "NAME", name, "DISKNAME", diskName, "DISK", disk,
				"COMM10", regexp.QuoteMeta(comm10), "COMM", regexp.QuoteMeta(sbsComm))
			var workload []string
			for _, w := range b.workload {
				workload = append(workload, r.Replace(w))
			}
			out := runGated(t, prog, string(src), RunOptions{}, workload...)
			lines := strings.Split(out, "\n")
			for i, w := range b.want {
				re := regexp.MustCompile(r.Replace(w))
				found := false
				for _, l := range lines {
					m := re.FindStringSubmatch(l)
					if m == nil {
						continue
					}
					found = true
					if i == 0 && b.atLeast > 0 {
						if n, _ := strconv.Atoi(m[1]); n < b.atLeast {
							t.Errorf("%s: %d, want at least the workload's %d", l, n, b.atLeast)
						}
					}
				}
				if !found {
					t.Errorf("no line matching %s in:\n%s", re, out)
				}
			}
		})
	}
}

// killNumber is kill(2)'s system call number in the ABI of the ELF file
// prog, as raw_syscalls report it for a process running prog.
func killNumber(t *testing.T, prog string) int {
	t.Helper()
	f, err := elf.Open(prog)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	switch f.Machine {
	case elf.EM_X86_64:
		return 62
	case elf.EM_386, elf.EM_ARM:
		return 37
	case elf.EM_AARCH64, elf.EM_RISCV:
		return 129
	}
	t.Fatalf("%s: no kill(2) number known for %v", prog, f.Machine)
	return 0
}
