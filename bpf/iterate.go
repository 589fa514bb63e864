package bpf

import (
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// MapIterator walks a map's keys with BPF_MAP_GET_NEXT_KEY.
//
// A hash map returns its first key again when the current key was deleted
// meanwhile (the kernel finds no successor), so an iterator over a map that
// changes concurrently may see keys twice; it never loops forever on a map
// of bounded size because the caller's MaxEntries bounds each pass.
type MapIterator struct {
	m       *Map
	cur     []byte
	next    []byte
	started bool
	done    bool
	err     error
}

// Iterate starts an iteration.
func (m *Map) Iterate() *MapIterator {
	return &MapIterator{m: m, cur: make([]byte, m.spec.KeySize), next: make([]byte, m.spec.KeySize)}
}

// Next copies the next key and its value into key and value (value may be
// nil to skip the lookup). It returns false at the end or on error.
func (it *MapIterator) Next(key, value []byte) bool {
	for !it.done {
		var prev []byte
		if it.started {
			prev = it.cur
		}
		err := it.m.NextKey(prev, it.next)
		if errors.Is(err, ErrKeyNotExist) {
			it.done = true
			return false
		}
		if err != nil {
			it.err, it.done = err, true
			return false
		}
		it.started = true
		it.cur, it.next = it.next, it.cur
		if value != nil {
			if err := it.m.Lookup(it.cur, value); errors.Is(err, ErrKeyNotExist) {
				continue // deleted between the two calls
			} else if err != nil {
				it.err, it.done = err, true
				return false
			}
		}
		copy(key, it.cur)
		return true
	}
	return false
}

// Err is the error that ended the iteration, if any.
func (it *MapIterator) Err() error { return it.err }

// BatchCursor carries a batch walk's position between BatchLookup calls.
// The zero value starts at the beginning.
type BatchCursor struct {
	in, out  []byte
	started  bool
	fallback *MapIterator
}

func batchUnsupported(err error) bool {
	switch errnoOf(err) {
	case unix.EINVAL, unix.EOPNOTSUPP, errENOTSUPP:
		return true
	}
	return false
}

// BatchLookup copies up to len(keys)/KeySize elements after the cursor into
// keys and values (ValueBufSize bytes per element) and returns how many it
// copied. done is true once the map is exhausted. It uses
// BPF_MAP_LOOKUP_BATCH (5.6) and falls back to key-by-key iteration where
// the kernel or map type lacks it.
func (m *Map) BatchLookup(c *BatchCursor, keys, values []byte) (n int, done bool, err error) {
	ks, vs := int(m.spec.KeySize), m.ValueBufSize()
	count := len(keys) / ks
	if count == 0 || len(values) < count*vs {
		return 0, false, &Error{Op: "batch lookup in", Object: "map " + m.name, Err: fmt.Errorf("buffers hold %d keys and %d values", count, len(values)/vs)}
	}
	if c.fallback == nil {
		if c.out == nil {
			// The batch token is a bucket index for hash maps and a key
			// for arrays: size it for either.
			c.in, c.out = make([]byte, max(ks, 8)), make([]byte, max(ks, 8))
		}
		attr := mapBatchAttr{outBatch: bytesPtr(c.out), keys: bytesPtr(keys), values: bytesPtr(values),
			count: uint32(count), mapFD: uint32(m.fd)}
		if c.started {
			attr.inBatch = bytesPtr(c.in)
		}
		_, err := sys(cmdMapLookupBatch, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
		switch {
		case err == nil:
			c.started = true
			c.in, c.out = c.out, c.in
			return int(attr.count), false, nil
		case errnoOf(err) == unix.ENOENT:
			return int(attr.count), true, nil
		case !c.started && batchUnsupported(err):
			c.fallback = m.Iterate()
		default:
			return 0, false, wrap("batch lookup in", "map "+m.name, err)
		}
	}
	for n < count {
		if !c.fallback.Next(keys[n*ks:(n+1)*ks], values[n*vs:(n+1)*vs]) {
			return n, c.fallback.Err() == nil, c.fallback.Err()
		}
		n++
	}
	return n, false, nil
}

// BatchUpdate writes len(keys)/KeySize elements, with BPF_MAP_UPDATE_BATCH
// where the kernel has it and one by one otherwise.
func (m *Map) BatchUpdate(keys, values []byte, flags UpdateFlags) (int, error) {
	ks, vs := int(m.spec.KeySize), m.ValueBufSize()
	count := len(keys) / ks
	if len(values) < count*vs {
		return 0, &Error{Op: "batch update", Object: "map " + m.name, Err: fmt.Errorf("%d keys but %d values", count, len(values)/vs)}
	}
	attr := mapBatchAttr{keys: bytesPtr(keys), values: bytesPtr(values), count: uint32(count), mapFD: uint32(m.fd), elemFlags: uint64(flags)}
	_, err := sys(cmdMapUpdateBatch, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	if err == nil {
		return int(attr.count), nil
	}
	if !batchUnsupported(err) || attr.count != 0 {
		return int(attr.count), wrap("batch update", "map "+m.name, err)
	}
	for i := 0; i < count; i++ {
		if err := m.Update(keys[i*ks:(i+1)*ks], values[i*vs:(i+1)*vs], flags); err != nil {
			return i, err
		}
	}
	return count, nil
}

// BatchDelete removes len(keys)/KeySize keys, with BPF_MAP_DELETE_BATCH
// where the kernel has it and one by one otherwise.
func (m *Map) BatchDelete(keys []byte) (int, error) {
	ks := int(m.spec.KeySize)
	count := len(keys) / ks
	attr := mapBatchAttr{keys: bytesPtr(keys), count: uint32(count), mapFD: uint32(m.fd)}
	_, err := sys(cmdMapDeleteBatch, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	if err == nil {
		return int(attr.count), nil
	}
	if !batchUnsupported(err) || attr.count != 0 {
		return int(attr.count), wrap("batch delete from", "map "+m.name, err)
	}
	for i := 0; i < count; i++ {
		if err := m.Delete(keys[i*ks : (i+1)*ks]); err != nil {
			return i, err
		}
	}
	return count, nil
}
