package tools

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tracelet/tracelet/internal/testenv"
	"github.com/tracelet/tracelet/script"
)

// The TCP script tools (scripts/tcp*.bt) side by side with libbpf-tools
// (tcplife; tcpstates where libbpf-tools' own tool needs kprobes, which
// this host lacks) and bpftrace (tcpretrans.bt's columns), each on a
// workload of this process's own connections to a loopback port that the
// kernel picked for the test: other suites run concurrently, so every
// comparison is filtered to that port.

// scriptRun is a script tool running in this process, and what it printed.
type scriptRun struct {
	mu   sync.Mutex
	out  []byte
	stop func() error
}

func (s *scriptRun) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.out = append(s.out, p...)
	return len(p), nil
}

func (s *scriptRun) lines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Split(string(s.out), "\n")
}

// wait returns the lines printed once n of them match, failing after 15s.
func (s *scriptRun) wait(t *testing.T, what string, n int, match func(string) bool) []string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var got []string
		for _, l := range s.lines() {
			if match(l) {
				got = append(got, l)
			}
		}
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("tracelet printed %d of %d %s in 15s:\n%s", len(got), n, what, strings.Join(s.lines(), "\n"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// runScript runs the embedded script tool name with the macros defines
// (NAME=VALUE, as its flags give them) until the test ends.
func runScript(t *testing.T, name string, defines ...string) *scriptRun {
	t.Helper()
	sc, err := LookupScript(name)
	if err != nil {
		t.Fatal(err)
	}
	var ds []script.Define
	for _, d := range defines {
		def, err := script.ParseDefine(d)
		if err != nil {
			t.Fatal(err)
		}
		ds = append(ds, def)
	}
	s := &scriptRun{}
	s.stop = runTool(t, func(ctx context.Context, ready func()) error {
		return RunScript(ctx, sc, ScriptOptions{Defines: ds, Out: s, Ready: ready})
	})
	return s
}

// startTracer starts another tracer (from Debian package pkg) and waits
// until it has printed a line containing ready (printed once it is
// attached).
func startTracer(t *testing.T, ready, bin, pkg string, args ...string) *libbpfTool {
	t.Helper()
	l := startOracle(t, bin, pkg, args...)
	l.wait(t, bin+"'s line with "+ready, func(s string) bool { return strings.Contains(s, ready) })
	return l
}

// waitN returns the lines printed once n of them match, failing after
// 15s.
func (l *libbpfTool) waitN(t *testing.T, what string, n int, match func(string) bool) []string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var got []string
		for _, s := range l.lines() {
			if match(s) {
				got = append(got, s)
			}
		}
		if len(got) >= n || time.Now().After(deadline) {
			if len(got) < n {
				t.Fatalf("%s printed %d of %d %s in 15s:\n%s", l.cmd.Args[2], len(got), n, what, strings.Join(l.lines(), "\n"))
			}
			return got
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// lines returns what the oracle printed so far.
func (l *libbpfTool) lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.got)
}

// listen listens on a loopback port the kernel picks (backlog as given),
// closed when the test ends. It returns the fd and the port.
func listen(t *testing.T, family int, backlog int) (int, int) {
	t.Helper()
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	var sa unix.Sockaddr = &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}
	if family == unix.AF_INET6 {
		sa = &unix.SockaddrInet6{Addr: [16]byte{15: 1}}
	}
	if err := unix.Bind(fd, sa); err != nil {
		if family == unix.AF_INET6 {
			t.Skipf("no IPv6 loopback: %v", err)
		}
		t.Fatal(err)
	}
	if err := unix.Listen(fd, backlog); err != nil {
		t.Fatal(err)
	}
	got, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	switch a := got.(type) {
	case *unix.SockaddrInet4:
		return fd, a.Port
	case *unix.SockaddrInet6:
		return fd, a.Port
	}
	t.Fatalf("getsockname: %T", got)
	return 0, 0
}

// conn is one connection of the workload, both ends.
type conn struct {
	client, server net.Conn
}

// connect connects to addr, accepting on the listening fd, and returns
// both ends.
func connect(t *testing.T, lfd int, addr string) conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	nfd, _, err := unix.Accept4(lfd, unix.SOCK_CLOEXEC)
	if err != nil {
		c.Close()
		t.Fatal(err)
	}
	// FileConn dups the fd: close it through its *os.File, not by number,
	// or the File's finalizer closes the number again later, by then
	// perhaps a tool's program or map (an END test run failed with
	// EINVAL, its program's fd taken by another file).
	f := os.NewFile(uintptr(nfd), "accepted")
	s, err := net.FileConn(f)
	f.Close()
	if err != nil {
		c.Close()
		t.Fatal(err)
	}
	return conn{c, s}
}

// exchange sends tx bytes from client to server and rx back.
func (c conn) exchange(t *testing.T, tx, rx int) {
	t.Helper()
	for _, d := range []struct {
		from, to net.Conn
		n        int
	}{{c.client, c.server, tx}, {c.server, c.client, rx}} {
		go d.from.Write(make([]byte, d.n))
		buf := make([]byte, d.n)
		if _, err := ioReadFull(d.to, buf); err != nil {
			t.Fatal(err)
		}
	}
}

func ioReadFull(c net.Conn, b []byte) (int, error) {
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	n := 0
	for n < len(b) {
		m, err := c.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// headerLine returns the first line that starts with prefix.
func headerLine(lines []string, prefix string) string {
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	return ""
}

func hasField(s string, i int, want string) bool {
	f := strings.Fields(s)
	return len(f) > i && f[i] == want
}

// kb prints bytes in KiB as libbpf-tools' %.2f does.
func kb(n int) string { return strconv.FormatFloat(float64(n)/1024, 'f', 2, 64) }

// tcplife against libbpf-tools' tcplife: three sessions of known sizes,
// each seen from both ends, the client closing first. Every column but MS
// (a duration each tool measures itself) must be the same, and what the
// workload knows: its pid, the ports, the bytes.
func TestSideBySideTCPLife(t *testing.T) {
	pid := strconv.Itoa(os.Getpid())
	theirs := startTracer(t, "RX_KB", "/usr/sbin/tcplife", "libbpf-tools", "-p", pid)
	ours := runScript(t, "tcplife", "PID="+pid)
	lfd, port := listen(t, unix.AF_INET, 16)
	p := strconv.Itoa(port)
	sizes := [][2]int{{10000, 5000}, {1, 2048}, {300000, 7}}
	var want []string
	for _, sz := range sizes {
		c := connect(t, lfd, "127.0.0.1:"+p)
		c.exchange(t, sz[0], sz[1])
		cport := strconv.Itoa(c.client.LocalAddr().(*net.TCPAddr).Port)
		c.client.Close()
		time.Sleep(10 * time.Millisecond)
		c.server.Close()
		want = append(want,
			fmt.Sprintf("%s 127.0.0.1 %s 127.0.0.1 %s %s %s", pid, cport, p, kb(sz[0]), kb(sz[1])),
			fmt.Sprintf("%s 127.0.0.1 %s 127.0.0.1 %s %s %s", pid, p, cport, kb(sz[1]), kb(sz[0])))
	}
	mine := func(s string) bool { return hasField(s, 3, p) || hasField(s, 5, p) }
	got := ours.wait(t, "sessions", len(want), mine)
	their := theirs.waitN(t, "sessions", len(want), mine)
	// PID COMM LADDR LPORT RADDR RPORT TX_KB RX_KB, without MS; COMM is
	// the thread's, the same for both.
	cols := func(lines []string, withComm bool) []string {
		var r []string
		for _, l := range lines {
			f := strings.Fields(l)
			if len(f) != 9 {
				t.Errorf("not 9 columns: %q", l)
				continue
			}
			if !withComm {
				f = append(f[:1:1], f[2:]...)
			}
			r = append(r, strings.Join(f[:len(f)-1], " "))
		}
		slices.Sort(r)
		return r
	}
	slices.Sort(want)
	if o, th := cols(got, true), cols(their, true); !slices.Equal(o, th) {
		t.Errorf("tcplife sessions on port %s:\nlibbpf-tools:\n%s\ntracelet:\n%s", p, strings.Join(th, "\n"), strings.Join(o, "\n"))
	}
	if o := cols(got, false); !slices.Equal(o, want) {
		t.Errorf("tracelet's tcplife on port %s:\n%s\nwant (the workload's):\n%s", p, strings.Join(o, "\n"), strings.Join(want, "\n"))
	}
	// The column layout, byte for byte, apart from MS.
	same(t, "header", headerLine(theirs.lines(), "PID"), headerLine(ours.lines(), "PID"))
	noMS := func(lines []string) []string {
		var r []string
		for _, l := range lines {
			r = append(r, strings.TrimRight(l[:strings.LastIndexByte(l, ' ')+1], " "))
		}
		slices.Sort(r)
		return r
	}
	if o, th := noMS(got), noMS(their); len(o) == len(th) {
		for i := range o {
			same(t, "session", th[i], o[i])
		}
	}
	if err := ours.stop(); err != nil {
		t.Fatal(err)
	}
}

// tcpconnect against libbpf-tools' tcpstates: libbpf-tools' tcpconnect
// needs kprobes (tcp_v4_connect), which this host lacks, and its tcpstates
// follows the same tracepoint, whose CLOSE -> SYN_SENT rows are the
// connects, with the connecting task. Three IPv4 connects and one IPv6,
// with -p and -P; the columns are libbpf-tools' tcpconnect's.
func TestSideBySideTCPConnect(t *testing.T) {
	pid := strconv.Itoa(os.Getpid())
	theirs := startTracer(t, "NEWSTATE", "/usr/sbin/tcpstates", "libbpf-tools", "-w")
	lfd, port := listen(t, unix.AF_INET, 16)
	l6fd, port6 := listen(t, unix.AF_INET6, 16)
	// -P filters on the destination port: the IPv6 listener must have
	// the same one, or the IPv6 connect would be left out.
	if port6 != port {
		unix.Close(l6fd)
		l6fd = listenOn(t, port)
	}
	p := strconv.Itoa(port)
	ours := runScript(t, "tcpconnect", "PID="+pid, "PORT="+p)
	for range 3 {
		c := connect(t, lfd, "127.0.0.1:"+p)
		c.client.Close()
		c.server.Close()
	}
	c := connect(t, l6fd, "[::1]:"+p)
	c.client.Close()
	c.server.Close()

	mine := func(s string) bool { return hasField(s, 5, p) }
	got := ours.wait(t, "connects", 4, mine)
	// -w: SKADDR PID COMM IP LADDR LPORT RADDR RPORT OLDSTATE -> NEWSTATE MS
	their := theirs.waitN(t, "connects", 4, func(s string) bool {
		return hasField(s, 7, p) && hasField(s, 8, "CLOSE") && hasField(s, 10, "SYN_SENT")
	})
	var o, th []string
	for _, l := range got {
		f := strings.Fields(l)
		if len(f) != 6 {
			t.Fatalf("not 6 columns: %q", l)
		}
		o = append(o, strings.Join(f, " "))
	}
	for _, l := range their {
		f := strings.Fields(l)
		// tcpstates' COMM is 10 wide, tcpconnect's 12: the test's comm,
		// "tools.test", fits both.
		th = append(th, strings.Join([]string{f[1], f[2], f[3], f[4], f[6], f[7]}, " "))
	}
	slices.Sort(o)
	slices.Sort(th)
	want := []string{
		pid + " tools.test 4 127.0.0.1 127.0.0.1 " + p,
		pid + " tools.test 4 127.0.0.1 127.0.0.1 " + p,
		pid + " tools.test 4 127.0.0.1 127.0.0.1 " + p,
		pid + " tools.test 6 ::1 ::1 " + p,
	}
	if !slices.Equal(o, th) || !slices.Equal(o, want) {
		t.Errorf("connects to port %s:\ntracelet:\n%s\nlibbpf-tools' tcpstates:\n%s\nwant:\n%s",
			p, strings.Join(o, "\n"), strings.Join(th, "\n"), strings.Join(want, "\n"))
	}
	// libbpf-tools tcpconnect's layout: "%-6d %-12.12s %-2d %-16s %-16s %-5d".
	for _, l := range got {
		f := strings.Fields(l)
		n, _ := strconv.Atoi(f[0])
		ip, _ := strconv.Atoi(f[2])
		same(t, "connect", fmt.Sprintf("%-6d %-12.12s %-2d %-16s %-16s %-5s", n, f[1], ip, f[3], f[4], f[5]), l)
	}
	same(t, "header", "PID    COMM         IP SADDR            DADDR            DPORT", headerLine(ours.lines(), "PID"))
	if err := ours.stop(); err != nil {
		t.Fatal(err)
	}
}

// listenOn listens on ::1 at port, closed when the test ends.
func listenOn(t *testing.T, port int) int {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET6, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrInet6{Port: port, Addr: [16]byte{15: 1}}); err != nil {
		t.Skipf("[::1]:%d is taken: %v", port, err)
	}
	if err := unix.Listen(fd, 16); err != nil {
		t.Fatal(err)
	}
	return fd
}

// tcpretrans against bpftrace running the same script: tcpretrans.bt and
// bcc's tcpretrans need kprobes, which this host lacks, and libbpf-tools
// 0.26 has none. The workload is a SYN that a listener drops because its
// accept queue is full (backlog 0 holds one connection, which the first
// client takes): the kernel retransmits it after the initial RTO, 1s. Both
// must see the same retransmits of that connection, column for column
// (TIME aside), and the columns are tcpretrans.bt's.
func TestSideBySideTCPRetrans(t *testing.T) {
	theirs := startTracer(t, "RADDR:RPORT", "/usr/bin/bpftrace", "bpftrace", "scripts/tcpretrans.bt")
	lfd, port := listen(t, unix.AF_INET, 0)
	p := strconv.Itoa(port)
	ours := runScript(t, "tcpretrans", "RPORT="+p)
	first, err := net.Dial("tcp", "127.0.0.1:"+p)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	_ = lfd // never accepted: the queue stays full
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := unix.Connect(fd, &unix.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}); err != unix.EINPROGRESS {
		t.Fatalf("connect: %v, want EINPROGRESS", err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	cport := strconv.Itoa(sa.(*unix.SockaddrInet4).Port)
	// TIME PID LADDR:LPORT RADDR:RPORT STATE
	want := "127.0.0.1:" + cport + " 127.0.0.1:" + p + " SYN_SENT"
	mine := func(s string) bool {
		f := strings.Fields(s)
		return len(f) == 5 && strings.Join(f[2:], " ") == want
	}
	got := ours.wait(t, "retransmits", 1, mine)
	their := theirs.waitN(t, "retransmits", 1, mine)
	// The same event, so the same interrupted task in PID.
	same(t, "retransmit", their[0][9:], got[0][9:])
	same(t, "header", headerLine(theirs.lines(), "TIME"), headerLine(ours.lines(), "TIME"))
	// tcpretrans.bt's layout: "%-8d %14s:%-6d %14s:%-6d %6s" after the time.
	f := strings.Fields(got[0])
	n, _ := strconv.Atoi(f[1])
	same(t, "layout", fmt.Sprintf("%-8s %-8d %14s:%-6s %14s:%-6s %6s", f[0], n, "127.0.0.1", cport, "127.0.0.1", p, "SYN_SENT"), got[0])
	if err := ours.stop(); err != nil {
		t.Fatal(err)
	}
}

// tcpaccept against what the workload knows and libbpf-tools' tcpstates:
// tcpaccept.bt and bcc's tcpaccept need a kretprobe (inet_csk_accept),
// which this host lacks, and libbpf-tools 0.26 has none. This process
// accepts two IPv4 connections and one IPv6 one (accept4) from listeners
// of backlog 7; each line must name this process, both ends as the
// sockets have them, and BL 0/7, in tcpaccept.bt's columns; tcpstates'
// SYN_RECV -> ESTABLISHED rows must show the same addresses and ports.
func TestSideBySideTCPAccept(t *testing.T) {
	pid := strconv.Itoa(os.Getpid())
	theirs := startTracer(t, "NEWSTATE", "/usr/sbin/tcpstates", "libbpf-tools", "-w")
	lfd, port := listen(t, unix.AF_INET, 7)
	l6fd, port6 := listen(t, unix.AF_INET6, 7)
	p, p6 := strconv.Itoa(port), strconv.Itoa(port6)
	ours := runScript(t, "tcpaccept", "PID="+pid)
	var want []string
	for _, c := range []struct {
		fd   int
		addr string
	}{{lfd, "127.0.0.1:" + p}, {lfd, "127.0.0.1:" + p}, {l6fd, "[::1]:" + p6}} {
		cn := connect(t, c.fd, c.addr)
		la, ra := cn.client.LocalAddr().(*net.TCPAddr), cn.client.RemoteAddr().(*net.TCPAddr)
		// RADDR RPORT LADDR LPORT BL, as the accepting side sees them
		want = append(want, fmt.Sprintf("%s tools.test %s %d %s %d 0/7", pid, la.IP, la.Port, ra.IP, ra.Port))
		cn.client.Close()
		cn.server.Close()
	}
	mine := func(s string) bool { return hasField(s, 6, p) || hasField(s, 6, p6) }
	got := ours.wait(t, "accepts", len(want), mine)
	var o []string
	for _, l := range got {
		f := strings.Fields(l)
		if len(f) != 8 {
			t.Fatalf("not 8 columns: %q", l)
		}
		o = append(o, strings.Join(f[1:], " "))
		// tcpaccept.bt's layout: "%-6d %-14s " "%-39s %-5d %-39s %-5d " "%d/%d"
		n, _ := strconv.Atoi(f[1])
		same(t, "layout", fmt.Sprintf("%-8s %-6d %-14s %-39s %-5s %-39s %-5s %s", f[0], n, f[2], f[3], f[4], f[5], f[6], f[7]), l)
	}
	slices.Sort(o)
	slices.Sort(want)
	if !slices.Equal(o, want) {
		t.Errorf("accepts on ports %s and %s:\ntracelet:\n%s\nwant (the workload's):\n%s", p, p6, strings.Join(o, "\n"), strings.Join(want, "\n"))
	}
	// -w: SKADDR PID COMM IP LADDR LPORT RADDR RPORT OLDSTATE -> NEWSTATE MS
	their := theirs.waitN(t, "accepted connections", len(want), func(s string) bool {
		return (hasField(s, 5, p) || hasField(s, 5, p6)) && hasField(s, 8, "SYN_RECV") && hasField(s, 10, "ESTABLISHED")
	})
	var th, ends []string
	for _, l := range their {
		f := strings.Fields(l)
		th = append(th, strings.Join([]string{f[6], f[7], f[4], f[5]}, " "))
	}
	for _, l := range o {
		f := strings.Fields(l)
		ends = append(ends, strings.Join(f[2:6], " "))
	}
	slices.Sort(th)
	slices.Sort(ends)
	if !slices.Equal(ends, th) {
		t.Errorf("accepted connections:\ntracelet:\n%s\nlibbpf-tools' tcpstates:\n%s", strings.Join(ends, "\n"), strings.Join(th, "\n"))
	}
	same(t, "header", fmt.Sprintf("%-8s %-6s %-14s %-39s %-5s %-39s %-5s %s", "TIME", "PID", "COMM", "RADDR", "RPORT", "LADDR", "LPORT", "BL"),
		headerLine(ours.lines(), "TIME"))
	if err := ours.stop(); err != nil {
		t.Fatal(err)
	}
}

// Every flag of the TCP tools, alone, compiles, loads and attaches: the
// verifier sees each #ifdef's program. Without the kernel's BTF (the i386
// guest), tcplife, tcpaccept and the kprobe fallback, which read struct
// members, must refuse to start and say why.
func TestTCPScriptFlags(t *testing.T) {
	testenv.RequireRoot(t)
	_, errBTF := os.Stat("/sys/kernel/btf/vmlinux")
	names := []string{"tcpconnect", "tcplife", "tcpretrans", "tcpaccept"}
	// The kprobe fallback has a kretprobe, which a kernel whose ftrace
	// owns each function's entry cannot place (riscv64's).
	if testenv.HasKprobes() && !testenv.FtraceOwnsEntry(t) {
		names = append(names, "_tcpconnect-kprobe")
	}
	for _, name := range names {
		sc, err := LookupScript(name)
		if err != nil {
			t.Fatal(err)
		}
		if errBTF != nil && (name == "tcplife" || name == "tcpaccept" || name == "_tcpconnect-kprobe") {
			err := RunScript(context.Background(), sc, ScriptOptions{Out: io.Discard})
			if err == nil || !strings.Contains(err.Error(), "BTF") {
				t.Errorf("%s without BTF (%v): %v, want an error about BTF", name, errBTF, err)
			}
			continue
		}
		for _, f := range sc.Flags {
			value := "1"
			if f.Type == "bool" {
				value = ""
			}
			d, err := f.DefineValue(value)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			var out strings.Builder
			err = RunScript(ctx, sc, ScriptOptions{Defines: []script.Define{d}, Out: &out, Ready: cancel})
			cancel()
			if err != nil {
				t.Errorf("%s %s: %v", name, f.Name(), err)
			}
		}
	}
}

// tcpconnect's -t, -U and -c on the test's own connects; -c prints
// libbpf-tools' table.
func TestTCPConnectFlags(t *testing.T) {
	lfd, port := listen(t, unix.AF_INET, 16)
	p := strconv.Itoa(port)
	wide := runScript(t, "tcpconnect", "TIMESTAMP", "PRINT_UID", "PORT="+p)
	count := runScript(t, "tcpconnect", "COUNT", "PORT="+p)
	for range 2 {
		c := connect(t, lfd, "127.0.0.1:"+p)
		c.client.Close()
		c.server.Close()
	}
	// TIME(s) UID PID COMM IP SADDR DADDR DPORT
	got := wide.wait(t, "connects", 2, func(s string) bool { return hasField(s, 7, p) })
	for _, l := range got {
		f := strings.Fields(l)
		if len(f) != 8 || f[1] != strconv.Itoa(os.Getuid()) || f[2] != strconv.Itoa(os.Getpid()) {
			t.Errorf("-t -U: %q: want TIME(s) UID=%d PID=%d ...", l, os.Getuid(), os.Getpid())
		}
		// %-9.3f of the seconds
		secs, err := strconv.ParseFloat(f[0], 64)
		if ts := fmt.Sprintf("%-9.3f", secs); err != nil || !strings.HasPrefix(l, ts) {
			t.Errorf("-t: %q does not start with TIME(s) as %%-9.3f", l)
		}
		t.Logf("-t -U: %q", l)
	}
	same(t, "header", "TIME(s)  UID   PID    COMM         IP SADDR            DADDR            DPORT", headerLine(wide.lines(), "TIME"))
	if err := count.stop(); err != nil {
		t.Fatal(err)
	}
	// libbpf-tools tcpconnect -c's table: an empty line, the header
	// "%-25s %-25s %-20s %-10s", and rows "%-25s %-25s %-20d %-10llu".
	want := []string{"",
		fmt.Sprintf("%-25s %-25s %-20s %-10s", "LADDR", "RADDR", "RPORT", "CONNECTS"),
		fmt.Sprintf("%-25s %-25s %-20d %-10d", "127.0.0.1", "127.0.0.1", port, 2), ""}
	if got := count.lines(); !slices.Equal(got, want) {
		t.Errorf("-c printed:\n%q\nwant:\n%q", got, want)
	}
}

// tcpconnect's fallback for kernels without sock:inet_sock_set_state,
// kprobes on tcp_v4_connect and tcp_v6_connect as libbpf-tools has them,
// on the test's own connects (the VM guests; this host has no kprobes).
func TestTCPConnectKprobe(t *testing.T) {
	testenv.RequireReturnProbes(t)
	if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err != nil {
		// TestTCPScriptFlags checks that the fallback then refuses, naming BTF.
		t.Skipf("the kprobe fallback reads struct sock through the kernel's BTF, which this kernel lacks: %v", err)
	}
	pid := strconv.Itoa(os.Getpid())
	lfd, port := listen(t, unix.AF_INET, 16)
	p := strconv.Itoa(port)
	ours := runScript(t, "_tcpconnect-kprobe", "PID="+pid, "PORT="+p)
	want := []string{pid + " tools.test 4 127.0.0.1 127.0.0.1 " + p, pid + " tools.test 4 127.0.0.1 127.0.0.1 " + p}
	for range 2 {
		c := connect(t, lfd, "127.0.0.1:"+p)
		c.client.Close()
		c.server.Close()
	}
	// IPv6 where the loopback has ::1 (a guest may not).
	if fd, err := unix.Socket(unix.AF_INET6, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0); err == nil {
		err = unix.Bind(fd, &unix.SockaddrInet6{Port: port, Addr: [16]byte{15: 1}})
		if err == nil {
			err = unix.Listen(fd, 4)
		}
		if err == nil {
			c := connect(t, fd, "[::1]:"+p)
			c.client.Close()
			c.server.Close()
			want = append(want, pid+" tools.test 6 ::1 ::1 "+p)
		} else {
			t.Logf("no IPv6 connect: %v", err)
		}
		unix.Close(fd)
	}
	got := ours.wait(t, "connects", len(want), func(s string) bool { return hasField(s, 5, p) })
	var o []string
	for _, l := range got {
		o = append(o, strings.Join(strings.Fields(l), " "))
		t.Logf("connect: %q", l)
	}
	slices.Sort(o)
	slices.Sort(want)
	if !slices.Equal(o, want) {
		t.Errorf("connects to port %s:\n%s\nwant:\n%s", p, strings.Join(o, "\n"), strings.Join(want, "\n"))
	}
	if err := ours.stop(); err != nil {
		t.Fatal(err)
	}
}

// tcpconnect -P P1,P2 (a list, as libbpf-tools takes it), and its kprobe
// fallback's (in the VM guests), on the test's own connects to three
// ports: exactly the connects to P1 and P2, none to the third.
func TestTCPConnectPorts(t *testing.T) {
	for _, name := range []string{"tcpconnect", "_tcpconnect-kprobe"} {
		t.Run(name, func(t *testing.T) {
			if name == "_tcpconnect-kprobe" {
				testenv.RequireReturnProbes(t)
				if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err != nil {
					t.Skipf("the kprobe fallback reads struct sock through the kernel's BTF, which this kernel lacks: %v", err)
				}
			}
			lfds, ports, ours := runWithPortList(t, name, "P")
			// The unlisted port first: its line, were it printed, would
			// come before the ones waited for.
			for _, i := range []int{2, 0, 1, 0} {
				c := connect(t, lfds[i], "127.0.0.1:"+ports[i])
				c.client.Close()
				c.server.Close()
			}
			isOurs := func(s string) bool {
				return hasField(s, 5, ports[0]) || hasField(s, 5, ports[1]) || hasField(s, 5, ports[2])
			}
			ours.wait(t, "connects", 3, isOurs)
			if err := ours.stop(); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, l := range ours.lines() {
				if isOurs(l) {
					got = append(got, strings.Fields(l)[5])
				}
			}
			slices.Sort(got)
			want := []string{ports[0], ports[0], ports[1]}
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("-P %s,%s (not %s): connects to %v, want %v:\n%s", ports[0], ports[1], ports[2], got, want, strings.Join(ours.lines(), "\n"))
			}
		})
	}
}

// tcplife's -L and -D take lists, as libbpf-tools' do: three loopback
// sessions, two ports named, and only those ports' sessions print, on
// the listening side (-L, its local port) or the connecting side (-D,
// its remote port).
func TestTCPLifePorts(t *testing.T) {
	requireBTF(t) // TX_KB and RX_KB are struct tcp_sock's
	for _, c := range []struct {
		short string
		field int // LPORT or RPORT
	}{{"L", 3}, {"D", 5}} {
		t.Run("-"+c.short, func(t *testing.T) {
			lfds, ports, ours := runWithPortList(t, "tcplife", c.short)
			// The unlisted port first: its line, were it printed, would
			// come before the ones waited for.
			for _, i := range []int{2, 0, 1, 0} {
				conn := connect(t, lfds[i], "127.0.0.1:"+ports[i])
				conn.client.Close()
				time.Sleep(10 * time.Millisecond)
				conn.server.Close()
			}
			isOurs := func(s string) bool {
				return hasField(s, 3, ports[0]) || hasField(s, 3, ports[1]) || hasField(s, 3, ports[2]) ||
					hasField(s, 5, ports[0]) || hasField(s, 5, ports[1]) || hasField(s, 5, ports[2])
			}
			ours.wait(t, "sessions", 3, isOurs)
			if err := ours.stop(); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, l := range ours.lines() {
				if isOurs(l) {
					got = append(got, strings.Fields(l)[c.field])
				}
			}
			slices.Sort(got)
			want := []string{ports[0], ports[0], ports[1]}
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("-%s %s,%s (not %s): sessions on %v, want %v:\n%s", c.short, ports[0], ports[1], ports[2], got, want, strings.Join(ours.lines(), "\n"))
			}
		})
	}
}

// runWithPortList starts three loopback listeners and runs script tool
// name for this process, its list flag -short naming the first two ports.
func runWithPortList(t *testing.T, name, short string) (lfds []int, ports []string, ours *scriptRun) {
	t.Helper()
	sc, err := LookupScript(name)
	if err != nil {
		t.Fatal(err)
	}
	var portFlag ScriptFlag
	for _, f := range sc.Flags {
		if f.Short == short {
			portFlag = f
		}
	}
	for range 3 {
		lfd, port := listen(t, unix.AF_INET, 16)
		lfds, ports = append(lfds, lfd), append(ports, strconv.Itoa(port))
	}
	ds, err := portFlag.DefineValues(ports[0] + "," + ports[1])
	if err != nil {
		t.Fatal(err)
	}
	defs := []string{"PID=" + strconv.Itoa(os.Getpid())}
	for _, d := range ds {
		defs = append(defs, d.String())
	}
	return lfds, ports, runScript(t, name, defs...)
}
