package trace

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
)

// GateEnv is the environment variable that turns a re-executed tracelet
// into a gate: it waits on fd 3 and then execs the command in its
// arguments. The variable is removed before the exec.
const GateEnv = "TRACELET_TRACE_GATE"

// Gated is a command started stopped at a gate, so that it can be traced
// from its first instruction: the child's pid exists (and perf events can
// be attached to it, with inherit, before it runs anything of its own), and
// Release lets it exec the command. A perf event on a task survives exec,
// and the exec happens on the thread we attached to.
type Gated struct {
	Cmd  *exec.Cmd
	gate *os.File
}

// StartGated starts argv behind a gate. self is the tracelet binary
// (os.Executable), whose init must call RunGate.
func StartGated(self string, argv []string) (*Gated, error) {
	if len(argv) == 0 {
		return nil, errors.New("no command given")
	}
	if _, err := exec.LookPath(argv[0]); err != nil {
		return nil, err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	cmd := exec.Command(self, argv...)
	cmd.Env = append(os.Environ(), GateEnv+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.ExtraFiles = []*os.File{r} // fd 3
	if err := cmd.Start(); err != nil {
		w.Close()
		return nil, err
	}
	return &Gated{Cmd: cmd, gate: w}, nil
}

// Pid is the command's pid, which exec keeps.
func (g *Gated) Pid() int { return g.Cmd.Process.Pid }

// Release lets the command run.
func (g *Gated) Release() error {
	if g.gate == nil {
		return nil
	}
	_, err := g.gate.Write([]byte{1})
	g.gate.Close()
	g.gate = nil
	return err
}

// Abort closes the gate without releasing it: the child exits without
// running the command.
func (g *Gated) Abort() {
	if g.gate != nil {
		g.gate.Close()
		g.gate = nil
	}
	g.Cmd.Wait()
}

// RunGate does nothing unless the process was started by StartGated.
// Then it waits for Release and execs the command, or exits with status 127
// if the gate closed without a release (the tracer failed or died). It must
// run before the program starts anything else, from an init function:
// init runs on the main thread, which is the thread the tracer attached to.
func RunGate() {
	if os.Getenv(GateEnv) != "1" {
		return
	}
	os.Unsetenv(GateEnv)
	gate := os.NewFile(3, "gate")
	var b [1]byte
	n, _ := gate.Read(b[:])
	gate.Close()
	if n != 1 {
		os.Exit(127)
	}
	argv := os.Args[1:]
	path, err := exec.LookPath(argv[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, "tracelet:", err)
		os.Exit(127)
	}
	err = syscall.Exec(path, argv, os.Environ())
	fmt.Fprintf(os.Stderr, "tracelet: exec %s: %v\n", path, err)
	os.Exit(126)
}
