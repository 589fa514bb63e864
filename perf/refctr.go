package perf

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// SetRefCtrOffset gives a uprobe made through the uprobe PMU a reference
// counter: the u16 at file offset off of its file (a USDT semaphore),
// which the kernel increments in every process that maps the file while
// the probe exists and decrements when it goes (Linux 4.20). The offset
// goes into the config bits that the PMU's format/ref_ctr_offset names
// ("config:32-63"); a kernel without that file has no reference counters
// and gets an error wrapping ErrNotSupported.
func (a *Attr) SetRefCtrOffset(off uint64) error {
	return a.setRefCtrOffset(sysPMUDir, off)
}

func (a *Attr) setRefCtrOffset(root string, off uint64) error {
	p, err := LookupPMU("uprobe")
	if err != nil {
		return err
	}
	if a.Type != p.Type {
		return fmt.Errorf("perf: ref_ctr_offset is for uprobe PMU events (type %d), not type %d", p.Type, a.Type)
	}
	file := filepath.Join(root, "uprobe", "format", "ref_ctr_offset")
	b, err := os.ReadFile(file)
	if os.IsNotExist(err) {
		return fmt.Errorf("perf: uprobe PMU has no %s: %w (uprobe reference counters need Linux 4.20)", file, ErrNotSupported)
	}
	if err != nil {
		return fmt.Errorf("perf: %w", err)
	}
	field, lo, hi, err := ParseFormatBits(string(b))
	if err != nil {
		return fmt.Errorf("perf: %s: %w", file, err)
	}
	if field != "config" {
		return fmt.Errorf("perf: %s: %q is not in config", file, strings.TrimSpace(string(b)))
	}
	if width := hi - lo + 1; width < 64 && off>>width != 0 {
		return fmt.Errorf("perf: ref_ctr_offset %#x does not fit the %d bits of %s", off, width, file)
	}
	mask := ^uint64(0) >> (63 - (hi - lo)) << lo
	a.Config = a.Config&^mask | off<<lo
	return nil
}
