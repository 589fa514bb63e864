package bpf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io/fs"
	"sort"
	"testing"

	"golang.org/x/sys/unix"
)

func TestHashMapOps(t *testing.T) {
	m := mustMap(t, MapSpec{Name: "t_hash", Type: Hash, KeySize: 4, ValueSize: 8, MaxEntries: 64})
	val := make([]byte, 8)
	if err := m.Lookup(Uint32Key(1), val); !errors.Is(err, ErrKeyNotExist) || !errors.Is(err, fs.ErrNotExist) || !errors.Is(err, unix.ENOENT) {
		t.Fatalf("lookup of a missing key: %v", err)
	}
	for k := uint32(0); k < 40; k++ {
		if err := m.Update(Uint32Key(k), Uint64Value(uint64(k)*10), UpdateNoExist); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Update(Uint32Key(3), Uint64Value(0), UpdateNoExist); !errors.Is(err, ErrKeyExist) {
		t.Fatalf("NOEXIST on a present key: %v", err)
	}
	if err := m.Update(Uint32Key(99), Uint64Value(0), UpdateExist); !errors.Is(err, ErrKeyNotExist) {
		t.Fatalf("EXIST on a missing key: %v", err)
	}
	if err := m.Lookup(Uint32Key(7), val); err != nil || binary.NativeEndian.Uint64(val) != 70 {
		t.Fatalf("lookup 7 = %d, %v", binary.NativeEndian.Uint64(val), err)
	}
	if err := m.Delete(Uint32Key(7)); err != nil {
		t.Fatal(err)
	}
	if err := m.Delete(Uint32Key(7)); !errors.Is(err, ErrKeyNotExist) {
		t.Fatalf("second delete: %v", err)
	}
	if err := m.Lookup([]byte{1}, val); err == nil {
		t.Fatal("a 1-byte key was accepted for a 4-byte map")
	}

	// Iteration sees each of the 39 keys exactly once, with its value.
	var keys []uint32
	it := m.Iterate()
	k := make([]byte, 4)
	for it.Next(k, val) {
		key := binary.NativeEndian.Uint32(k)
		if binary.NativeEndian.Uint64(val) != uint64(key)*10 {
			t.Errorf("iterated key %d has value %d", key, binary.NativeEndian.Uint64(val))
		}
		keys = append(keys, key)
	}
	if it.Err() != nil {
		t.Fatal(it.Err())
	}
	checkKeys(t, "iterate", keys, 40, 7)

	// Batch lookup, in chunks smaller than the map.
	keys = keys[:0]
	var c BatchCursor
	kb, vb := make([]byte, 4*8), make([]byte, 8*8)
	for {
		n, done, err := m.BatchLookup(&c, kb, vb)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < n; i++ {
			key := binary.NativeEndian.Uint32(kb[i*4:])
			if binary.NativeEndian.Uint64(vb[i*8:]) != uint64(key)*10 {
				t.Errorf("batch key %d has value %d", key, binary.NativeEndian.Uint64(vb[i*8:]))
			}
			keys = append(keys, key)
		}
		if done {
			break
		}
	}
	checkKeys(t, "batch lookup", keys, 40, 7)

	// Batch update and delete.
	var bk, bv []byte
	for k := uint32(100); k < 110; k++ {
		bk = append(bk, Uint32Key(k)...)
		bv = append(bv, Uint64Value(uint64(k))...)
	}
	if n, err := m.BatchUpdate(bk, bv, UpdateAny); err != nil || n != 10 {
		t.Fatalf("batch update: %d, %v", n, err)
	}
	if err := m.Lookup(Uint32Key(105), val); err != nil || binary.NativeEndian.Uint64(val) != 105 {
		t.Fatalf("after batch update: %v", err)
	}
	if n, err := m.BatchDelete(bk); err != nil || n != 10 {
		t.Fatalf("batch delete: %d, %v", n, err)
	}
	if err := m.Lookup(Uint32Key(105), val); !errors.Is(err, ErrKeyNotExist) {
		t.Fatalf("after batch delete: %v", err)
	}
}

func checkKeys(t *testing.T, what string, keys []uint32, n, missing uint32) {
	t.Helper()
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	var want []uint32
	for k := uint32(0); k < n; k++ {
		if k != missing {
			want = append(want, k)
		}
	}
	if len(keys) != len(want) {
		t.Fatalf("%s: %d keys, want %d: %v", what, len(keys), len(want), keys)
	}
	for i := range want {
		if keys[i] != want[i] {
			t.Fatalf("%s: keys %v", what, keys)
		}
	}
}

// Per-CPU values come at an 8-byte stride per possible CPU, whatever the
// value size: a 4-byte value proves the rounding.
func TestPerCPUArray(t *testing.T) {
	ncpu := possibleCPUs(t)
	m := mustMap(t, MapSpec{Name: "t_pcpu", Type: PerCPUArray, KeySize: 4, ValueSize: 4, MaxEntries: 2})
	if m.ValueBufSize() != 8*ncpu {
		t.Fatalf("ValueBufSize = %d, want %d", m.ValueBufSize(), 8*ncpu)
	}
	buf := make([]byte, m.ValueBufSize())
	var want uint64
	for cpu := 0; cpu < ncpu; cpu++ {
		binary.NativeEndian.PutUint32(buf[cpu*8:], uint32(cpu+1)*100)
		want += uint64(cpu+1) * 100
	}
	if err := m.Update(Uint32Key(1), buf, UpdateAny); err != nil {
		t.Fatal(err)
	}
	vals, err := m.LookupPerCPU(Uint32Key(1))
	if err != nil {
		t.Fatal(err)
	}
	for cpu, v := range vals {
		if len(v) != 4 || binary.NativeEndian.Uint32(v) != uint32(cpu+1)*100 {
			t.Errorf("cpu %d: %x", cpu, v)
		}
	}
	if sum, err := m.SumPerCPU(Uint32Key(1)); err != nil || sum != want {
		t.Fatalf("sum = %d, %v; want %d", sum, err, want)
	}
	// Per-CPU hash, batch read of per-CPU values.
	h := mustMap(t, MapSpec{Name: "t_pcpuh", Type: PerCPUHash, KeySize: 4, ValueSize: 8, MaxEntries: 4})
	v8 := make([]byte, h.ValueBufSize())
	for cpu := 0; cpu < ncpu; cpu++ {
		binary.NativeEndian.PutUint64(v8[cpu*8:], 5)
	}
	h.Update(Uint32Key(9), v8, UpdateAny)
	var c BatchCursor
	kb, vb := make([]byte, 4*4), make([]byte, 4*h.ValueBufSize())
	n, _, err := h.BatchLookup(&c, kb, vb)
	if err != nil || n != 1 || !bytes.Equal(vb[:len(v8)], v8) {
		t.Fatalf("per-CPU batch: n=%d err=%v", n, err)
	}
	if _, err := h.SumPerCPU(Uint32Key(9)); err != nil {
		t.Fatal(err)
	}
	if _, err := mustMap(t, MapSpec{Name: "t_arr", Type: Array, KeySize: 4, ValueSize: 8, MaxEntries: 1}).SumPerCPU(Uint32Key(0)); err == nil {
		t.Fatal("SumPerCPU on a plain array succeeded")
	}
}

func TestLRUHashEvicts(t *testing.T) {
	m := mustMap(t, MapSpec{Name: "t_lru", Type: LRUHash, KeySize: 4, ValueSize: 8, MaxEntries: 64})
	for k := uint32(0); k < 1000; k++ {
		if err := m.Update(Uint32Key(k), Uint64Value(uint64(k)), UpdateAny); err != nil {
			t.Fatalf("update %d: %v (an LRU map evicts instead of failing)", k, err)
		}
	}
	n := 0
	it := m.Iterate()
	for it.Next(make([]byte, 4), nil) {
		n++
	}
	if n == 0 || n > 64+possibleCPUs(t)*64 || n >= 1000 {
		t.Fatalf("LRU map holds %d entries after 1000 inserts into 64 slots", n)
	}
	val := make([]byte, 8)
	if err := m.Lookup(Uint32Key(999), val); err != nil {
		t.Fatalf("the newest key was evicted: %v", err)
	}
}

func TestSpecialMaps(t *testing.T) {
	pea := mustMap(t, MapSpec{Name: "t_pea", Type: PerfEventArray})
	if pea.Spec().MaxEntries != uint32(possibleCPUs(t)) {
		t.Errorf("perf event array has %d slots, want one per possible CPU (%d)", pea.Spec().MaxEntries, possibleCPUs(t))
	}
	mustMap(t, MapSpec{Name: "t_stack", Type: StackTrace, KeySize: 4, ValueSize: 8 * 127, MaxEntries: 128})
	if _, err := NewMap(MapSpec{Name: "t_rb", Type: RingBuf, MaxEntries: 3000}); err == nil {
		t.Error("a ring buffer of 3000 bytes was created")
	}
	rb := mustMap(t, MapSpec{Name: "t_rb", Type: RingBuf, MaxEntries: 1 << 16})
	id, err := rb.ID()
	if err != nil || id == 0 {
		t.Errorf("map id %d, %v", id, err)
	}
}

func TestParseCPURange(t *testing.T) {
	for in, want := range map[string]int{"0": 1, "0-1": 2, "0-3,5,7-8": 9, "0,2": 3} {
		if got, err := parseCPURange(in); err != nil || got != want {
			t.Errorf("%q = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "x", "3-1", "1-"} {
		if _, err := parseCPURange(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func BenchmarkMapLookup(b *testing.B) {
	m := mustMap(b, MapSpec{Name: "b_hash", Type: Hash, KeySize: 4, ValueSize: 8, MaxEntries: 1024})
	key, val := Uint32Key(1), make([]byte, 8)
	m.Update(key, val, UpdateAny)
	b.ReportAllocs()
	for b.Loop() {
		if err := m.Lookup(key, val); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMapUpdate(b *testing.B) {
	m := mustMap(b, MapSpec{Name: "b_hash", Type: Hash, KeySize: 4, ValueSize: 8, MaxEntries: 1024})
	key, val := Uint32Key(1), make([]byte, 8)
	b.ReportAllocs()
	for b.Loop() {
		if err := m.Update(key, val, UpdateAny); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPerCPUSum(b *testing.B) {
	m := mustMap(b, MapSpec{Name: "b_pcpu", Type: PerCPUArray, KeySize: 4, ValueSize: 8, MaxEntries: 1})
	key := Uint32Key(0)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.SumPerCPU(key); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBatchLookup(b *testing.B) {
	m := mustMap(b, MapSpec{Name: "b_hash", Type: Hash, KeySize: 4, ValueSize: 8, MaxEntries: 1024})
	for k := uint32(0); k < 1024; k++ {
		m.Update(Uint32Key(k), Uint64Value(uint64(k)), UpdateAny)
	}
	kb, vb := make([]byte, 4*256), make([]byte, 8*256)
	b.ReportAllocs()
	for b.Loop() {
		var c BatchCursor
		for {
			_, done, err := m.BatchLookup(&c, kb, vb)
			if err != nil {
				b.Fatal(err)
			}
			if done {
				break
			}
		}
	}
}
