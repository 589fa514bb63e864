package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracelet/tracelet/tracefs"
)

// TestReadmeFindings: doctor's lines for the optional dynamic events, from
// the README of Debian's 6.12 (which has them all) and of the 6.18
// development host (event probes, no fprobes, no BTF arguments).
func TestReadmeFindings(t *testing.T) {
	for rel, want := range map[string]map[string]bool{
		"6.12.117+deb12-cloud-amd64": {"fprobe events": true, "tracepoint probes": true, "event probes": true, "BTF arguments": true},
		"6.18":                       {"fprobe events": false, "tracepoint probes": false, "event probes": true, "BTF arguments": false},
	} {
		b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "kernels", rel, "README"))
		if err != nil {
			t.Fatal(err)
		}
		f, err := tracefs.ParseFeatures(b)
		got := map[string]finding{}
		for _, fd := range readmeFindings(f, err) {
			got[fd.Name] = fd
		}
		for name, ok := range want {
			fd, found := got[name]
			if !found || fd.OK != ok || fd.Reason == "" {
				t.Errorf("%s: %s = %+v, want ok %v", rel, name, fd, ok)
			}
		}
		if fd := got["fprobe events"]; !fd.OK && !strings.Contains(fd.Reason, "CONFIG_FPROBE_EVENTS") {
			t.Errorf("%s: fprobe reason %q names no option", rel, fd.Reason)
		}
	}
	for _, fd := range readmeFindings(tracefs.Features{}, errors.New("no README")) {
		if fd.OK || fd.Reason != "no README" {
			t.Errorf("without a README: %+v", fd)
		}
	}
}
