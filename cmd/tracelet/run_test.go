package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tracelet/tracelet/internal/testenv"
	"github.com/tracelet/tracelet/script"
)

// dropLines removes the workload's own output lines from a run's stdout
// (a -c command shares it, as under bpftrace).
func dropLines(s string, drop ...string) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(s, "\n") {
		keep := true
		for _, d := range drop {
			if strings.TrimSuffix(l, "\n") == d {
				keep = false
			}
		}
		if keep {
			b.WriteString(l)
		}
	}
	return b.String()
}

// A tracepoint count of a -c command's own open(2), ended by exit() in the
// probe: the output is bpftrace's, exactly.
func TestRunTracepointCountExit(t *testing.T) {
	testenv.RequireRoot(t)
	prog := testenv.TestProg(t)
	r := runCLI(t, "run", "-c", prog+" open /nonexistent-tracelet", "-e",
		`tracepoint:syscalls:sys_enter_openat /pid == cpid && str(args->filename) == "/nonexistent-tracelet"/ { @[comm] = count(); exit(); }`)
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", r.code, r.out, r.err)
	}
	got := dropLines(r.out, "errno 2")
	want := fmt.Sprintf("Attaching 1 probe...\n\n\n@[%s]: 1\n", filepath.Base(prog))
	if got != want {
		t.Errorf("stdout %q, want %q (stderr %q)", got, want, r.err)
	}
}

// -f json prints bpftrace's JSON lines, two empty lines included.
func TestRunJSON(t *testing.T) {
	testenv.RequireRoot(t)
	out := mustCLI(t, "run", "-f", "json", "-e",
		`BEGIN { @x = count(); @y[1, "a"] = sum(5); printf("hi %d\n", 7); exit(); }`)
	want := `{"version": 1, "type": "attached_probes", "data": {"probes": 1}}
{"version": 1, "type": "printf", "data": "hi 7\n"}


{"version": 1, "type": "map", "data": {"@x": 1}}
{"version": 1, "type": "map", "data": {"@y": {"1,a": 5}}}
`
	if out != want {
		t.Errorf("got:\n%s\nwant:\n%s", out, want)
	}
}

// TestRunJSONSchema: run -f json keeps the shape of its version (README:
// JSON Lines) for every kind of line and map value.
func TestRunJSONSchema(t *testing.T) {
	testenv.RequireRoot(t)
	out := mustCLI(t, "run", "-f", "json", "-e", `BEGIN { printf("p\n"); time("%H\n"); @c = count(); @k["a", 1] = sum(2); @a = avg(3);
		@s = stats(4); @h = hist(5); @l = lhist(5, 0, 10, 5); @m = min(6); exit(); }`)
	var lines [][]byte
	for _, l := range strings.Split(out, "\n") {
		if l != "" {
			lines = append(lines, []byte(l))
		}
	}
	testenv.CheckJSONSchema(t, "run", script.JSONVersion, lines...)
}

// A script tool's -o json prints run -f json's lines, one object each
// (blank lines aside, as bpftrace's): runqlat's header and histogram.
func TestScriptToolJSON(t *testing.T) {
	testenv.RequireRoot(t)
	if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err != nil {
		t.Skip("runqlat reads the sched tracepoints' task structs through BTF, and this kernel has none:", err)
	}
	out := mustCLI(t, "runqlat", "-o", "json", "1", "1")
	var types []string
	for _, l := range strings.Split(out, "\n") {
		if strings.TrimSpace(l) == "" {
			continue
		}
		var v struct {
			Version int             `json:"version"`
			Type    string          `json:"type"`
			Data    json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal([]byte(l), &v); err != nil || v.Version != script.JSONVersion {
			t.Fatalf("line %q: %v, version %d", l, err, v.Version)
		}
		types = append(types, v.Type)
	}
	if len(types) == 0 || types[0] != "printf" || types[len(types)-1] != "hist" {
		t.Errorf("types %v, want the header's printf first and the histogram last\n%s", types, out)
	}
}

// -d prints the syntax tree and the disassembly, and runs nothing: it
// needs neither root nor BPF.
func TestRunDisassembly(t *testing.T) {
	out := mustCLI(t, "run", "-d", "--backend", "bpf", "-e", `BEGIN { @[comm] = count(); }`)
	for _, want := range []string{"Program\n", " BEGIN\n", "builtin: comm :: string[16]",
		"call bpf_get_current_comm#16", "call bpf_map_lookup_elem#1", "(95) exit"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
	if strings.Contains(out, "Attaching") {
		t.Errorf("-d ran the script:\n%s", out)
	}
}

// A mistake in a script file is reported as file:line:col, the line and
// a caret under the column, with exit status 2 and nothing on stdout.
func TestRunSyntaxError(t *testing.T) {
	file := filepath.Join(t.TempDir(), "bad.bt")
	if err := os.WriteFile(file, []byte("BEGIN {\n\t@x = cuont();\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, "run", file)
	want := file + ":2:7: unknown function \"cuont\"; did you mean \"count\"?\n\t@x = cuont();\n\t     ^\n"
	if r.code != 2 || r.err != want || r.out != "" {
		t.Errorf("exit %d, stdout %q, stderr:\n%s\nwant exit 2 and stderr:\n%s", r.code, r.out, r.err, want)
	}
	r = runCLI(t, "run", "-e", `BEGIN { printf("%d\n", cpid); }`)
	if r.code != 2 || !strings.HasPrefix(r.err, "-e:1:24: cpid is the pid of the command started with -c") {
		t.Errorf("cpid without -c: exit %d, stderr %q", r.code, r.err)
	}
}

// A script file with a "#!" line takes its positional parameters after the
// file, and a one-liner after -e PROGRAM, as bpftrace does.
func TestRunPositionalParams(t *testing.T) {
	testenv.RequireRoot(t)
	file := filepath.Join(t.TempDir(), "params.bt")
	src := "#!/usr/bin/env -S tracelet run\nBEGIN { printf(\"%d [%s] [%s] %d\\n\", $1 + 1, str($2), str($3), $#); exit(); }\n"
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, want := mustCLI(t, "run", file, "41", "abc"), "Attaching 1 probe...\n42 [abc] [] 2\n\n\n"; out != want {
		t.Errorf("file: got %q, want %q", out, want)
	}
	if out, want := mustCLI(t, "run", "-e", `BEGIN { printf("%s\n", str($1)); exit(); }`, "x y"), "Attaching 1 probe...\nx y\n\n\n"; out != want {
		t.Errorf("-e: got %q, want %q", out, want)
	}
	r := runCLI(t, "run", file, "abc")
	if r.code != 2 || !strings.Contains(r.err, `:2:37: positional parameter $1 is "abc", not a number: use str($1) for its text`) {
		t.Errorf("non-numeric $1: exit %d, stderr %q", r.code, r.err)
	}
}

// SIGINT stops a run the way Ctrl-C stops bpftrace: the maps are printed
// and the exit status is 0. Nothing is left in the kernel: no probe of
// the run's owner group in tracefs (the tracefs backend defines its
// uprobe there), and no event of that group.
func TestRunSIGINT(t *testing.T) {
	testenv.RequireRoot(t)
	prog := testenv.TestProg(t)
	work := exec.Command(prog, "calls", "2000000000", "1", "2")
	if err := work.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { work.Process.Kill(); work.Wait() })
	tfs := testenv.Tracefs(t)
	for _, backend := range []string{"bpf", "tracefs"} {
		t.Run(backend, func(t *testing.T) {
			src := fmt.Sprintf(`uprobe:%s:%s /pid == %d/ { @n = count(); }`, prog, testenv.CABITarget, work.Process.Pid)
			if backend == "bpf" {
				// interval fires once every probe before it is attached.
				src += ` interval:ms:50 { printf("attached\n"); }`
			}
			cmd := exec.Command(tracelet, "run", "--backend", backend, "-e", src)
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			rd := bufio.NewReader(stdout)
			var out strings.Builder
			line, err := rd.ReadString('\n')
			out.WriteString(line)
			if err != nil || !strings.HasPrefix(line, "Attaching ") {
				t.Fatalf("first line %q, %v; stderr %s", line, err, stderr.String())
			}
			if backend == "bpf" {
				line, err = rd.ReadString('\n')
				if err != nil || line != "attached\n" {
					t.Fatalf("second line %q, %v; stderr %s", line, err, stderr.String())
				}
			}
			group := fmt.Sprintf("tracelet_%d", cmd.Process.Pid)
			if backend == "tracefs" {
				// The tracefs backend prints "Attaching" once its probe
				// counts: wait for hits after that.
				from := groupHits(tfs, group)
				if !waitHits(tfs, group, from, 10*time.Second) {
					t.Fatalf("no hit of a uprobe of %s within 10s of Attaching; uprobe_events:\n%s", group, groupProbes(t, tfs, group))
				}
			}
			if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
				t.Fatal(err)
			}
			rest, _ := readAll(rd)
			out.WriteString(rest)
			if err := cmd.Wait(); err != nil {
				t.Fatalf("%v\nstdout: %s\nstderr: %s", err, out.String(), stderr.String())
			}
			got := out.String()
			i := strings.Index(got, "\n\n\n@n: ")
			if i < 0 || !strings.HasSuffix(got, "\n") {
				t.Fatalf("no maps after SIGINT:\n%s\nstderr: %s", got, stderr.String())
			}
			var n uint64
			if _, err := fmt.Sscanf(got[i+3:], "@n: %d\n", &n); err != nil || n == 0 {
				t.Errorf("@n: %d, %v:\n%s", n, err, got)
			}
			if held := groupProbes(t, tfs, group); held != "" {
				t.Errorf("probes of %s left behind:\n%s", group, held)
			}
			if _, err := os.Stat(filepath.Join(tfs, "events", group)); err == nil {
				t.Errorf("events/%s is left behind", group)
			}
			// The tracefs backend counts in private instances, GROUP_runN.
			insts, _ := filepath.Glob(filepath.Join(tfs, "instances", group+"*"))
			if len(insts) > 0 {
				t.Errorf("instances left behind: %v", insts)
			}
		})
	}
}

func readAll(rd *bufio.Reader) (string, error) {
	var b strings.Builder
	_, err := rd.WriteTo(&b)
	return b.String(), err
}

// groupProbes returns the lines of the dynamic-event files that define
// probes of group.
func groupProbes(t *testing.T, tfs, group string) string {
	t.Helper()
	var held strings.Builder
	for _, f := range []string{"uprobe_events", "kprobe_events", "dynamic_events"} {
		data, err := os.ReadFile(filepath.Join(tfs, f))
		if os.IsNotExist(err) {
			continue // a kernel without kprobes has no kprobe_events
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(string(data), "\n") {
			if strings.Contains(l, group+"/") {
				held.WriteString(f + ": " + l + "\n")
			}
		}
	}
	return held.String()
}

// groupHits sums the hits that uprobe_profile counts for the probes of
// group. Its lines are "FILE EVENT HITS", without the group: the group's
// event names come from uprobe_events ("p:GROUP/EVENT FILE:OFFSET").
func groupHits(tfs, group string) uint64 {
	defs, _ := os.ReadFile(filepath.Join(tfs, "uprobe_events"))
	events := map[string]string{} // event -> file
	for _, l := range strings.Split(string(defs), "\n") {
		f := strings.Fields(l)
		if len(f) >= 2 && strings.HasPrefix(f[0], "p:"+group+"/") {
			file, _, _ := strings.Cut(f[1], ":")
			events[strings.TrimPrefix(f[0], "p:"+group+"/")] = file
		}
	}
	data, _ := os.ReadFile(filepath.Join(tfs, "uprobe_profile"))
	var n uint64
	for _, l := range strings.Split(string(data), "\n") {
		f := strings.Fields(l)
		if len(f) == 3 && events[f[1]] == f[0] {
			h, _ := strconv.ParseUint(f[2], 10, 64)
			n += h
		}
	}
	return n
}

// waitHits waits until the probes of group have more than from hits.
func waitHits(tfs, group string, from uint64, limit time.Duration) bool {
	for end := time.Now().Add(limit); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if groupHits(tfs, group) > from {
			return true
		}
	}
	return false
}
