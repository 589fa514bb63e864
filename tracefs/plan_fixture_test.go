package tracefs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracelet/tracelet/kprobeevents"
)

// TestSameDefinitionFixtures compares what each recorded kernel printed in
// kprobe_events with the definition written (definitions.txt): apply is
// idempotent only if every printed-back form counts as the same probe.
// 6.1 prints a kretprobe's default MAXACTIVE ("r10:") and the r: form of
// SYM%return.
func TestSameDefinitionFixtures(t *testing.T) {
	dirs, _ := filepath.Glob("../testdata/kernels/*")
	n := 0
	for _, dir := range dirs {
		defs, err1 := os.ReadFile(filepath.Join(dir, "definitions.txt"))
		printed, err2 := os.ReadFile(filepath.Join(dir, "kprobe_events"))
		if err1 != nil || err2 != nil {
			continue
		}
		arch := kprobeevents.ArchX86_64
		if strings.Contains(dir, "arm64") {
			arch = kprobeevents.ArchARM64
		}
		byEvent := map[string]string{}
		for _, l := range strings.Split(string(printed), "\n") {
			if p, err := kprobeevents.ParseProbe(l, kprobeevents.Options{Arch: arch}); err == nil {
				byEvent[p.EventName()] = l
			}
		}
		for _, l := range strings.Split(string(defs), "\n") {
			// %pd/%pD are printed expanded into dereferences, and BTF
			// names unnamed $argN after the parameter: plans use neither.
			if l == "" || l[0] == '#' || strings.Contains(l, ":%p") {
				continue
			}
			want, err := kprobeevents.ParseProbe(l, kprobeevents.Options{Arch: arch})
			if err != nil || want.Type.IsUser() {
				continue
			}
			got, ok := byEvent[want.EventName()]
			if !ok {
				continue
			}
			n++
			if arch == KernelArch() && !sameDefinition(got, want) {
				t.Errorf("%s: kernel printed\n\t%s\nfor\n\t%s\nand apply would replace it", filepath.Base(dir), got, l)
			}
			// A real difference is still one.
			other := *want
			other.Symbol = "vfs_write"
			if arch == KernelArch() && sameDefinition(got, &other) {
				t.Errorf("%s: %s taken for a probe of vfs_write", filepath.Base(dir), got)
			}
		}
	}
	if n == 0 {
		t.Fatal("no fixture pairs found under testdata/kernels")
	}
}
