package tracefs

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParseOwnerGroup(t *testing.T) {
	for _, c := range []struct {
		name string
		pid  int
		ok   bool
	}{
		{"tracelet_42", 42, true},
		{"tracelet_42_x", 42, true},
		{"tracelet_42_trace_1", 42, true},
		{"tracelet_42_", 0, false},
		{"tracelet_", 0, false},
		{"tracelet_042", 0, false},
		{"tracelet_42x", 0, false},
		{"tracelet_-1", 0, false},
		{"tracelet_0", 0, false},
		{"tracelet_99999999999", 0, false},
		{"tracelet_42_a-b", 0, false},
		{"Tracelet_42", 0, false},
		{"othertool_42", 0, false},
		{"uprobes", 0, false},
	} {
		pid, ok := ParseOwnerGroup(c.name)
		if pid != c.pid || ok != c.ok {
			t.Errorf("ParseOwnerGroup(%q) = %d, %v", c.name, pid, ok)
		}
	}
	if g := OwnerGroup(1234); g != "tracelet_1234" {
		t.Errorf("OwnerGroup = %s", g)
	}
	if pid, ok := ParseOwnerGroup(OwnerGroup(os.Getpid())); !ok || pid != os.Getpid() {
		t.Error("OwnerGroup does not round-trip")
	}
}

func TestOwnerAlive(t *testing.T) {
	if !ownerAlive(os.Getpid()) || !ownerAlive(1) {
		t.Error("live process reported dead")
	}
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	if !ownerAlive(pid) {
		t.Error("running child reported dead")
	}
	cmd.Process.Kill()
	// Before Wait the child is a zombie: dead for our purpose. It becomes
	// one only once it has run to its exit, which on one busy CPU (the
	// mipsel guest) took longer than a thousand reads in a row.
	zombie := false
	for end := time.Now().Add(10 * time.Second); !zombie && time.Now().Before(end); time.Sleep(time.Millisecond) {
		b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		zombie = strings.Contains(string(b), ") Z")
	}
	if !zombie {
		t.Fatalf("killed child %d is no zombie after 10 s", pid)
	}
	if ownerAlive(pid) {
		t.Error("zombie reported alive")
	}
	cmd.Wait()
	if ownerAlive(pid) {
		t.Error("reaped child reported alive")
	}
}
