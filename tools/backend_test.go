package tools

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/tracelet/tracelet/bpf"
)

// The automatic choice of backend, on a kernel with BPF and on one
// without: tools with a tracefs form fall back to it, the others say why
// they cannot run.
func TestResolveBackend(t *testing.T) {
	noBPF := func() error { return fmt.Errorf("bpf(BPF_PROG_LOAD): %w", bpf.ErrNotSupported) }
	withBPF := func() error { return nil }
	for _, c := range []struct {
		asked      Backend
		hasTracefs bool
		probe      func() error
		want       Backend
		err        string
	}{
		{BackendAuto, true, withBPF, BackendBPF, ""},
		{BackendAuto, true, noBPF, BackendTracefs, ""},
		{BackendAuto, false, withBPF, BackendBPF, ""},
		{BackendAuto, false, noBPF, 0, "sigsnoop needs BPF"},
		{BackendTracefs, true, withBPF, BackendTracefs, ""},
		{BackendTracefs, false, withBPF, 0, "sigsnoop: no tracefs backend"},
		{BackendBPF, true, noBPF, BackendBPF, ""}, // asked for: the load will say why
	} {
		o := Common{Backend: c.asked}
		got, err := o.resolveWith("sigsnoop", c.hasTracefs, c.probe)
		name := fmt.Sprintf("%v/tracefs=%v/bpf=%v", c.asked, c.hasTracefs, c.probe() == nil)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: error %v, want %q", name, err, c.err)
			}
			if c.probe() != nil && !errors.Is(err, bpf.ErrNotSupported) {
				t.Errorf("%s: error %v does not wrap ErrNotSupported", name, err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%s: %v, %v; want %v", name, got, err, c.want)
		}
	}
}

func TestParseBackend(t *testing.T) {
	for in, want := range map[string]Backend{"": BackendAuto, "auto": BackendAuto, "bpf": BackendBPF, "tracefs": BackendTracefs} {
		if got, err := ParseBackend(in); err != nil || got != want {
			t.Errorf("ParseBackend(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseBackend("ebpf"); err == nil || !strings.Contains(err.Error(), `"ebpf"`) || !strings.Contains(err.Error(), "tracefs") {
		t.Errorf("ParseBackend(ebpf): %v, want an error naming the input and the choices", err)
	}
}
