package record

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracelet/tracelet/tracefs"
)

// TestCollectOrphan decodes a real probe event's records as if the kernel
// had made no events/ directory for it (the boot-time race of Debian's
// 6.1 and 6.12 kernels; see orphans): the format comes from the definition
// in uprobe_events and the id from the kernel's trace file. The result must
// be what the event's own format gives: the same lines as the kernel's text.
func TestCollectOrphan(t *testing.T) {
	fs := mustFS(t)
	prog, src := cabiScript(t)
	p := scriptPlan(t, fs, uniq("orph"), src)
	if _, err := fs.Apply(p); err != nil {
		t.Fatal(err)
	}
	runProg(t, prog, "calls", "3", "11", "22")
	up := p.Events[0]
	id, err := fs.EventID(up.System, up.Event)
	if err != nil {
		t.Fatal(err)
	}
	kernelText, err := os.ReadFile(filepath.Join(fs.Root(), "instances", p.Instance, "trace"))
	if err != nil {
		t.Fatal(err)
	}
	var kernelLines []string
	for _, l := range strings.Split(string(kernelText), "\n") {
		if strings.Contains(l, " "+up.Event+": ") {
			kernelLines = append(kernelLines, l)
		}
	}
	defs, err := fs.DynamicEvents(tracefs.UprobeEvents)
	if err != nil {
		t.Fatal(err)
	}
	var mine []tracefs.DynamicEvent
	for _, d := range defs {
		if d.Group == up.System && d.Event == up.Event {
			mine = append(mine, d)
		}
	}
	o := newOrphans(fs, mine)
	if o == nil {
		t.Fatalf("no orphan made of %v", mine)
	}
	in, err := fs.OpenInstance(p.Instance)
	if err != nil {
		t.Fatal(err)
	}
	o.readTrace(in)
	events := NewEvents(fs)
	events.unknown[uint16(id)] = true // as if events/GROUP/EVENT/id were missing
	r, err := OpenRings(in, events, NewComms(fs.Root()))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	r.orphans = o
	pr := NewPrinter(FormatText)
	var ours []string
	err = r.Drain(func(ev *Event) error {
		if ev.Info.Name != up.Event {
			return nil
		}
		if ev.Info.Format.ID != id {
			t.Errorf("learned id %d for %s, want %d", ev.Info.Format.ID, up.Event, id)
		}
		a, _ := ev.Field("arg0")
		b, _ := ev.Field("arg1")
		if a.Uint != 11 || b.Uint != 22 {
			t.Errorf("event %s: arg0 %v arg1 %v, want 11 22", ev, a, b)
		}
		ours = append(ours, strings.TrimSuffix(string(pr.Append(nil, ev)), "\n"))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if st := r.Stats(); st.Unknown != 0 {
		t.Errorf("%d records left unknown", st.Unknown)
	}
	if len(ours) != 3 || strings.Join(ours, "\n") != strings.Join(kernelLines, "\n") {
		t.Errorf("decoded from the definition:\n%s\nthe kernel's trace file:\n%s", strings.Join(ours, "\n"), strings.Join(kernelLines, "\n"))
	}
}
