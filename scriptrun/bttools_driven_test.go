package scriptrun

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"debug/elf"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tracelet/tracelet/internal/testenv"
)

// btDriven is a workload that needs the test at its other end while it is
// traced: a TLS server the test is the client of, or a shell on a
// terminal the test types into. Both tracers get the same: bpftrace runs
// argv with -c (its command inherits bpftrace's stdio, and starts once
// the probes are attached); tracelet's side starts argv itself and traces
// its pid (as -p), which drive's protocol makes safe: the workload makes
// no traced call before the test talks to it.
type btDriven struct {
	argv                  []string
	dir                   string   // the working directory, if not ""
	env                   []string // added to the environment
	stdin, stdout, stderr *os.File // the workload's (bpftrace's, for -c)
	// tty: stdin is a terminal, made the controlling terminal of a new
	// session (bpftrace's, for -c; its command is in that session).
	tty bool
	// drive talks to the workload until it has made the calls the
	// comparison is about (and, where it can tell, until they have
	// returned). It runs once the probes are attached, or right away with
	// bpftrace -c, whose command starts only then.
	drive func() error
	// waitLines is how many of the workload's lines (the row's keep) the
	// tracer's output must show before the tracer is stopped.
	waitLines int
	// interrupt: the tracer is stopped (SIGINT, as Ctrl-C) while the
	// workload still runs, and end ends the workload after: bpftrace 0.17
	// resolves func (a usym) when it prints, from /proc/PID/maps, and
	// prints a bare address for a process that has exited. Otherwise
	// drive makes the workload exit, and the tracer ends with it.
	interrupt bool
	end       func()
	closers   []io.Closer
}

func (d *btDriven) close() {
	for _, c := range d.closers {
		c.Close()
	}
}

func (d *btDriven) sysProcAttr() *syscall.SysProcAttr {
	if !d.tty {
		return nil
	}
	return &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
}

// waitOutput waits until out shows n of the workload's lines.
func (b btTool) waitOutput(out func() string, n int) error {
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, got := b.normalize(out(), sbsComm)
		if got >= n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of the workload's %d lines after 20s:\n%s", got, n, out())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// runDrivenBpftrace runs the tool file with bpftrace -c on the workload
// and returns bpftrace's output: its stdout, read as it comes, or, where
// the workload has stdio of its own (which -c's command inherits from
// bpftrace), its -o file, which bpftrace 0.17 writes only at its exit.
func runDrivenBpftrace(t *testing.T, bt, file string, b btTool, d *btDriven) string {
	t.Helper()
	file, err := filepath.Abs(file) // bpftrace runs in d.dir
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args := []string{file, "-c", strings.Join(d.argv, " ")}
	var stdout testenv.Buffer
	out := stdout.String
	if d.stdout != nil {
		btOut := filepath.Join(t.TempDir(), "bpftrace.out")
		args = append([]string{"-o", btOut}, args...)
		out = func() string { b, _ := os.ReadFile(btOut); return string(b) }
	}
	cmd := exec.CommandContext(ctx, bt, args...)
	cmd.Env = append(append(os.Environ(), "BPFTRACE_STRLEN=64"), d.env...)
	cmd.Dir = d.dir
	cmd.Stdin, cmd.Stdout = d.stdin, io.Writer(&stdout)
	if d.stdout != nil {
		cmd.Stdout = d.stdout
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if d.stderr != nil {
		cmd.Stderr = d.stderr
	}
	cmd.SysProcAttr = d.sysProcAttr()
	err = cmd.Start()
	d.close() // the workload's ends, which bpftrace's command inherits
	if err != nil {
		t.Fatal(err)
	}
	derr := d.drive()
	if derr == nil {
		derr = b.waitOutput(out, d.waitLines)
	}
	if d.interrupt || derr != nil {
		cmd.Process.Signal(os.Interrupt)
	}
	err = cmd.Wait()
	if d.end != nil {
		d.end()
	}
	if derr != nil {
		t.Fatalf("bpftrace's workload: %v\nbpftrace's stderr:\n%s", derr, stderr.String())
	}
	if err != nil {
		t.Fatalf("bpftrace: %v\n%s", err, stderr.String())
	}
	return out()
}

// runDrivenTracelet runs src on the workload, traced by its pid, and
// returns the output.
func runDrivenTracelet(t *testing.T, src string, b btTool, d *btDriven) string {
	t.Helper()
	cmd := exec.Command(d.argv[0], d.argv[1:]...)
	cmd.Env = append(os.Environ(), d.env...)
	cmd.Dir = d.dir
	cmd.Stdin, cmd.Stdout, cmd.Stderr = d.stdin, d.stdout, d.stderr
	cmd.SysProcAttr = d.sysProcAttr()
	err := cmd.Start()
	d.close() // the workload's ends of its pipes or terminal
	if err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	defer func() {
		cmd.Process.Kill()
		<-exited
	}()
	var out testenv.Buffer
	r, err := Prepare("-e", []byte(src), RunOptions{Out: &out, PID: cmd.Process.Pid})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := r.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}()
	if err := startChecked(t, r, nil); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	waited := make(chan error, 1)
	go func() { waited <- r.Wait(ctx) }()
	derr := d.drive()
	if derr == nil {
		derr = b.waitOutput(out.String, d.waitLines)
	}
	if d.interrupt || derr != nil {
		cancel()
	}
	err = <-waited
	if d.end != nil {
		d.end()
	}
	if derr != nil {
		t.Fatalf("tracelet's workload: %v", derr)
	}
	if err != nil {
		t.Fatal(err)
	}
	return out.String()
}

// tlsServer is openssl s_server, run as sbsComm, on a unix socket of the
// test's own, with the test (Go's crypto/tls, which never calls libssl)
// as its one client. The exchange is a lockstep: the handshake (SSL_accept,
// which calls SSL_do_handshake), a line from the client (SSL_read, whose
// return the server's stdout shows), a line typed on the server's stdin
// (SSL_write, which the client reads), and one more line from the
// client (SSL_read again: the server reads it only after its SSL_write
// returned). The server's stdin stays open: at its end of file s_server
// writes 0 bytes, a call of its own. s_server has cleared
// SSL_MODE_AUTO_RETRY but, with TLS 1.3's session tickets sent inside
// SSL_accept and a client that sends none, no SSL_read returns without
// data.
//
// The server's stdin and stdout are FIFOs that a shell script opens
// before it execs the server (same pid, and the comm is sbsComm's), so
// that bpftrace's own stdout stays the test's to read while it runs. The
// test holds both FIFOs open read-write from the start, so that no open
// blocks, whichever end comes first.
func tlsServer(t *testing.T, prog string) *btDriven {
	t.Helper()
	prog = copyAs(t, prog, sbsComm)
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeSelfSigned(t, cert, key)
	sock := filepath.Join(dir, "s.sock")
	fifo := func(name string) *os.File {
		path := filepath.Join(dir, name)
		if err := unix.Mkfifo(path, 0o600); err != nil {
			t.Fatal(err)
		}
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	in, out := fifo("in"), fifo("out")
	// The socket's path is relative: s_server fails on one of more than
	// 31 bytes (BIO addr_strings, "Unknown error"), and t.TempDir's are
	// longer.
	script := filepath.Join(dir, "run.sh")
	line := fmt.Sprintf("exec %s s_server -unix %s -cert %s -key %s -quiet -naccept 1 <in >out\n",
		prog, filepath.Base(sock), cert, key)
	if err := os.WriteFile(script, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	d := &btDriven{argv: []string{"/bin/sh", script}, dir: dir, interrupt: true}
	var conn *tls.Conn
	stdout := bufio.NewReader(out)
	tag := fmt.Sprintf("tracelet-ssl-%d", os.Getpid())
	d.drive = func() error {
		deadline := time.Now().Add(20 * time.Second)
		var c net.Conn
		var err error
		for {
			c, err = net.Dial("unix", sock)
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("s_server: %w", err)
			}
			time.Sleep(10 * time.Millisecond)
		}
		c.SetDeadline(deadline)
		out.SetDeadline(deadline)
		conn = tls.Client(c, &tls.Config{InsecureSkipVerify: true})
		if err := conn.Handshake(); err != nil {
			return fmt.Errorf("handshake with s_server: %w", err)
		}
		r := bufio.NewReader(conn)
		if err := sendLine(conn, stdout, tag+"-1", "its stdout"); err != nil {
			return err
		}
		if err := sendLine(in, r, tag+"-2", "the TLS connection"); err != nil {
			return err
		}
		return sendLine(conn, stdout, tag+"-3", "its stdout")
	}
	d.end = func() {
		if conn != nil {
			conn.Close() // s_server -naccept 1 exits when its client leaves
		} else if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
		}
	}
	return d
}

// sendLine writes line to w and reads r until it comes out there.
func sendLine(w io.Writer, r *bufio.Reader, line, where string) error {
	if _, err := io.WriteString(w, line+"\n"); err != nil {
		return err
	}
	for {
		l, err := r.ReadString('\n')
		if err != nil {
			return fmt.Errorf("waiting for %q on %s: %w", line, where, err)
		}
		if strings.TrimRight(l, "\r\n") == line {
			return nil
		}
	}
}

// writeSelfSigned writes a self-signed P-256 certificate and its key.
func writeSelfSigned(t *testing.T, certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "tracelet"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// bashTerminal is bash -i on a pseudo-terminal (bash calls readline only
// on one), typed into by the test: a first line, then the line compared,
// then exit. The first line may go to a readline() entered before
// tracelet attached its uretprobe, whose return it then does not see (a
// uretprobe takes its return at the function's entry); the second is read
// by a readline() entered after the first returned, so after the probes.
func bashTerminal(t *testing.T, bash, line string) *btDriven {
	t.Helper()
	master, slave, err := openPTY()
	if err != nil {
		t.Fatal(err)
	}
	d := &btDriven{
		argv: []string{bash, "--norc", "--noprofile", "-i"},
		// No history file, no inputrc, a prompt of plain text.
		env:   []string{"HISTFILE=", "INPUTRC=/dev/null", "TERM=dumb", "PS1=$ "},
		stdin: slave, stdout: slave, stderr: slave, tty: true,
		closers: []io.Closer{slave},
	}
	drained := make(chan struct{})
	d.drive = func() error {
		// The master reads EIO once the last slave fd (the workload's,
		// bpftrace's) is closed.
		go func() { io.Copy(io.Discard, master); close(drained) }()
		_, err := io.WriteString(master, ":\n"+line+"\nexit\n")
		return err
	}
	d.end = func() {
		select {
		case <-drained:
		case <-time.After(20 * time.Second):
			t.Errorf("bash did not exit")
		}
		master.Close()
	}
	return d
}

// openPTY opens a pseudo-terminal pair: /dev/ptmx, unlocked
// (TIOCSPTLCK), and its slave, /dev/pts/N (TIOCGPTN).
func openPTY() (master, slave *os.File, err error) {
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("/dev/ptmx: %w", err)
	}
	master = os.NewFile(uintptr(fd), "/dev/ptmx")
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("/dev/ptmx: TIOCSPTLCK: %w", err)
	}
	n, err := unix.IoctlGetUint32(fd, unix.TIOCGPTN)
	if err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("/dev/ptmx: TIOCGPTN: %w", err)
	}
	name := fmt.Sprintf("/dev/pts/%d", n)
	sfd, err := unix.Open(name, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	return master, os.NewFile(uintptr(sfd), name), nil
}

// requireReadline skips unless bash exports readline(), the function
// bashreadline.bt's uretprobe is on (a bash linked to a shared
// libreadline has it there, not in /bin/bash).
func requireReadline(t *testing.T, bash string) {
	t.Helper()
	f, err := elf.Open(bash)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, err := f.DynamicSymbols()
	if err != nil && !errors.Is(err, elf.ErrNoSymbols) {
		t.Fatalf("%s: %v", bash, err)
	}
	for _, s := range syms {
		if s.Name == "readline" && elf.ST_TYPE(s.Info) == elf.STT_FUNC && s.Value != 0 {
			return
		}
	}
	t.Skipf("%s exports no readline() (bash linked to a shared libreadline?): uretprobe:/bin/bash:readline has nothing to attach to", bash)
}
