package script

import (
	"fmt"
	"io"
)

// WriteListing writes what `tracelet run -d` shows after the syntax tree:
// each map, then each program's assembled instructions in the text of
// `bpftool prog dump xlated`.
func (o *Object) WriteListing(w io.Writer) error {
	for _, m := range o.Maps {
		s := m.Spec
		what := "internal"
		if m.Info != nil {
			what = m.Info.String()
		}
		if _, err := fmt.Fprintf(w, "map %s: %s key %d value %d max %d (%s)\n",
			s.Name, s.Type, s.KeySize, s.ValueSize, s.MaxEntries, what); err != nil {
			return err
		}
	}
	for _, p := range o.Programs {
		insns, err := p.Insns.Assemble()
		if err != nil {
			return fmt.Errorf("program %s: %w", p.Name, err)
		}
		if _, err := fmt.Fprintf(w, "program %s: %s for %s, %d instructions\n%s",
			p.Name, p.Type, p.Attach.describe(), insns.Slots(), insns); err != nil {
			return err
		}
	}
	return nil
}
