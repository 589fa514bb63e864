package script

import (
	"errors"

	"github.com/tracelet/tracelet/bpf"
)

// ReadMap reads every element of a loaded script map, splitting per-CPU
// values (each CPU's value is padded to 8 bytes by the kernel).
func ReadMap(bm *bpf.Map, m *Map) ([]Entry, error) {
	key := make([]byte, m.Spec.KeySize)
	val := make([]byte, bm.ValueBufSize())
	per := (int(m.Spec.ValueSize) + 7) &^ 7
	var out []Entry
	it := bm.Iterate()
	for it.Next(key, val) {
		e := Entry{Key: append([]byte(nil), key...)}
		if m.Spec.Type.PerCPU() {
			for off := 0; off+per <= len(val); off += per {
				e.Values = append(e.Values, append([]byte(nil), val[off:off+int(m.Spec.ValueSize)]...))
			}
		} else {
			e.Values = [][]byte{append([]byte(nil), val[:m.Spec.ValueSize]...)}
		}
		// A script map without keys is a one-element array, which
		// cannot lose its element: all zeros is what bpftrace, whose
		// maps are hashes, shows as an empty map (never set, or
		// cleared).
		if m.Spec.Type == bpf.PerCPUArray && allZero(val) {
			continue
		}
		out = append(out, e)
		if len(out) > int(m.Spec.MaxEntries)*2 {
			break // the map changed under us; what we have is enough
		}
	}
	return out, it.Err()
}

// ClearMap empties a map, as clear(@m) does: its elements are deleted (an
// array's are zeroed: they cannot be deleted).
func ClearMap(bm *bpf.Map, m *Map) error {
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
func ZeroMap(bm *bpf.Map, m *Map) error {
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
