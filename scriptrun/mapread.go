package scriptrun

import (
	"errors"

	"github.com/tracelet/tracelet/bpf"
	"github.com/tracelet/tracelet/script"
)

// ReadMap reads every element of a loaded script map, splitting per-CPU
// values (each CPU's value is padded to 8 bytes by the kernel). It reads
// up to readBatch elements per system call (BPF_MAP_LOOKUP_BATCH, 5.6;
// key by key before), which is what keeps a scrape of run --metrics fast.
func ReadMap(bm *bpf.Map, m *script.Map) ([]script.Entry, error) {
	ks, vs := int(m.Spec.KeySize), bm.ValueBufSize()
	n := readBatch
	if m.Spec.MaxEntries > 0 && int(m.Spec.MaxEntries) < n {
		n = int(m.Spec.MaxEntries)
	}
	keys, vals := make([]byte, n*ks), make([]byte, n*vs)
	per := (int(m.Spec.ValueSize) + 7) &^ 7
	var out []script.Entry
	var cur bpf.BatchCursor
	for {
		got, done, err := bm.BatchLookup(&cur, keys, vals)
		if err != nil {
			return out, err
		}
		// One copy of the batch, which the entries share.
		kcopy := append([]byte(nil), keys[:got*ks]...)
		vcopy := append([]byte(nil), vals[:got*vs]...)
		for i := 0; i < got; i++ {
			val := vcopy[i*vs : (i+1)*vs : (i+1)*vs]
			// A script map without keys is a one-element array, which
			// cannot lose its element: all zeros is what bpftrace, whose
			// maps are hashes, shows as an empty map (never set, or
			// cleared).
			if m.Spec.Type == bpf.PerCPUArray && allZero(val) {
				continue
			}
			e := script.Entry{Key: kcopy[i*ks : (i+1)*ks : (i+1)*ks]}
			if m.Spec.Type.PerCPU() {
				for off := 0; off+per <= len(val); off += per {
					e.Values = append(e.Values, val[off:off+int(m.Spec.ValueSize):off+int(m.Spec.ValueSize)])
				}
			} else {
				e.Values = [][]byte{val[:m.Spec.ValueSize:m.Spec.ValueSize]}
			}
			out = append(out, e)
		}
		if done || got == 0 || len(out) > int(m.Spec.MaxEntries)*2 {
			return out, nil // the last batch, or the map changed under us
		}
	}
}

// readBatch is how many elements ReadMap asks the kernel for at once.
const readBatch = 256

// ClearMap empties a map, as clear(@m) does: its elements are deleted (an
// array's are zeroed: they cannot be deleted).
func ClearMap(bm *bpf.Map, m *script.Map) error {
	if m.Spec.Type == bpf.Array || m.Spec.Type == bpf.PerCPUArray {
		return ZeroMap(bm, m)
	}
	entries, err := ReadMap(bm, m)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		if err := bm.Delete(e.Key); err != nil && !errors.Is(err, bpf.ErrKeyNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// ZeroMap sets every value of a map to zero, keeping its keys, as zero(@m)
// does.
func ZeroMap(bm *bpf.Map, m *script.Map) error {
	entries, err := ReadMap(bm, m)
	if err != nil {
		return err
	}
	zero := make([]byte, bm.ValueBufSize())
	var errs []error
	for _, e := range entries {
		if err := bm.Update(e.Key, zero, bpf.UpdateAny); err != nil && !errors.Is(err, bpf.ErrKeyNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
