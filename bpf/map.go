package bpf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/tracelet/tracelet/bpf/uapi"
)

// MapSpec describes a map to create.
type MapSpec = uapi.MapSpec

// Map is a BPF map.
type Map struct {
	name  string
	spec  MapSpec
	fd    int
	ncpu  int // possible CPUs, for per-CPU maps
	close sync.Once
}

// NewMap creates a map.
func NewMap(spec MapSpec) (*Map, error) {
	if spec.Type.MinKernel() == "" {
		return nil, fmt.Errorf("create map %s: unknown map type %d", spec.Name, spec.Type)
	}
	ncpu, err := PossibleCPUs()
	if err != nil {
		return nil, fmt.Errorf("create map %s: %w", spec.Name, err)
	}
	switch spec.Type {
	case PerfEventArray:
		// One slot per possible CPU: bpf_perf_event_output with
		// BPF_F_CURRENT_CPU indexes the array by CPU number.
		if spec.MaxEntries == 0 {
			spec.MaxEntries = uint32(ncpu)
		}
		if spec.KeySize == 0 {
			spec.KeySize, spec.ValueSize = 4, 4
		}
	case RingBuf:
		if spec.MaxEntries == 0 || spec.MaxEntries&(spec.MaxEntries-1) != 0 || int(spec.MaxEntries)%os.Getpagesize() != 0 {
			return nil, fmt.Errorf("create map %s: ring buffer size %d must be a power of two and a multiple of the page size %d",
				spec.Name, spec.MaxEntries, os.Getpagesize())
		}
	}
	ensureMemlock() // best effort; a real shortage shows as EPERM below
	attr := mapCreateAttr{
		mapType:    uint32(spec.Type),
		keySize:    spec.KeySize,
		valueSize:  spec.ValueSize,
		maxEntries: spec.MaxEntries,
		mapFlags:   spec.Flags,
		mapName:    objName(spec.Name),
	}
	fd, err := sys(cmdMapCreate, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	if errnoOf(err) == unix.EINVAL && attr.mapName[0] != 0 {
		// Map names arrived in 4.15; older kernels reject the field.
		attr.mapName = [16]byte{}
		fd, err = sys(cmdMapCreate, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	}
	if err != nil {
		if errnoOf(err) == unix.EINVAL {
			if perr := HaveMapType(spec.Type); errors.Is(perr, ErrNotSupported) {
				err = perr
			}
		}
		return nil, &Error{Op: "create map", Object: fmt.Sprintf("%s (%s)", spec.Name, spec.Type), Err: err}
	}
	return &Map{name: spec.Name, spec: spec, fd: fd, ncpu: ncpu}, nil
}

// FD is the map's file descriptor, owned by the Map.
func (m *Map) FD() int { return m.fd }

// Name is the spec's name.
func (m *Map) Name() string { return m.name }

// Spec is the spec the map was created with (after defaults).
func (m *Map) Spec() MapSpec { return m.spec }

// Close releases the map. The kernel frees it once no program uses it.
func (m *Map) Close() error {
	var err error
	m.close.Do(func() { err = unix.Close(m.fd) })
	return err
}

// ValueBufSize is the size of the buffer a lookup fills: the value size, or
// for per-CPU maps the value size rounded up to 8 bytes times the number of
// possible CPUs (the kernel copies each CPU's value at an 8-byte stride).
func (m *Map) ValueBufSize() int {
	if m.spec.Type.PerCPU() {
		return roundUp8(int(m.spec.ValueSize)) * m.ncpu
	}
	return int(m.spec.ValueSize)
}

func (m *Map) checkKey(op string, key []byte) error {
	if len(key) != int(m.spec.KeySize) {
		return &Error{Op: op, Object: "map " + m.name, Err: fmt.Errorf("key is %d bytes, the map's keys are %d", len(key), m.spec.KeySize)}
	}
	return nil
}

func (m *Map) checkValue(op string, value []byte) error {
	if len(value) != m.ValueBufSize() {
		return &Error{Op: op, Object: "map " + m.name, Err: fmt.Errorf("value buffer is %d bytes, want %d", len(value), m.ValueBufSize())}
	}
	return nil
}

// Lookup copies the value of key into value (ValueBufSize bytes).
func (m *Map) Lookup(key, value []byte) error {
	if err := m.checkKey("lookup", key); err != nil {
		return err
	}
	if err := m.checkValue("lookup", value); err != nil {
		return err
	}
	attr := mapElemAttr{mapFD: uint32(m.fd), key: bytesPtr(key), value: bytesPtr(value)}
	_, err := sys(cmdMapLookupElem, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	if err != nil {
		return wrap("lookup in", "map "+m.name, err)
	}
	return nil
}

// UpdateFlags choose between insert and replace.
type UpdateFlags uint64

// Update flags (BPF_ANY, BPF_NOEXIST, BPF_EXIST).
const (
	UpdateAny     UpdateFlags = 0
	UpdateNoExist UpdateFlags = 1
	UpdateExist   UpdateFlags = 2
)

// Update writes value (ValueBufSize bytes) under key.
func (m *Map) Update(key, value []byte, flags UpdateFlags) error {
	if err := m.checkKey("update", key); err != nil {
		return err
	}
	if err := m.checkValue("update", value); err != nil {
		return err
	}
	attr := mapElemAttr{mapFD: uint32(m.fd), key: bytesPtr(key), value: bytesPtr(value), flags: uint64(flags)}
	_, err := sys(cmdMapUpdateElem, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	if err != nil {
		return wrap("update", "map "+m.name, err)
	}
	return nil
}

// Delete removes key.
func (m *Map) Delete(key []byte) error {
	if err := m.checkKey("delete", key); err != nil {
		return err
	}
	attr := mapElemAttr{mapFD: uint32(m.fd), key: bytesPtr(key)}
	_, err := sys(cmdMapDeleteElem, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	if err != nil {
		return wrap("delete from", "map "+m.name, err)
	}
	return nil
}

// NextKey writes the key after key into next; a nil key asks for the first.
// At the end it returns ErrKeyNotExist.
func (m *Map) NextKey(key, next []byte) error {
	if key != nil {
		if err := m.checkKey("next key", key); err != nil {
			return err
		}
	}
	if err := m.checkKey("next key", next); err != nil {
		return err
	}
	attr := mapElemAttr{mapFD: uint32(m.fd), key: bytesPtr(key), value: bytesPtr(next)}
	_, err := sys(cmdMapGetNextKey, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	if err != nil {
		return wrap("next key in", "map "+m.name, err)
	}
	return nil
}

// LookupPerCPU returns key's value on each possible CPU, as views into one
// buffer.
func (m *Map) LookupPerCPU(key []byte) ([][]byte, error) {
	if !m.spec.Type.PerCPU() {
		return nil, &Error{Op: "per-CPU lookup in", Object: "map " + m.name, Err: fmt.Errorf("%s is not a per-CPU map", m.spec.Type)}
	}
	buf := make([]byte, m.ValueBufSize())
	if err := m.Lookup(key, buf); err != nil {
		return nil, err
	}
	return splitPerCPU(buf, int(m.spec.ValueSize), m.ncpu), nil
}

func splitPerCPU(buf []byte, size, ncpu int) [][]byte {
	stride := roundUp8(size)
	out := make([][]byte, ncpu)
	for i := range out {
		out[i] = buf[i*stride : i*stride+size : i*stride+size]
	}
	return out
}

// SumPerCPU adds up key's 8-, 4-, 2- or 1-byte counter over all possible
// CPUs of a per-CPU map, in host byte order.
func (m *Map) SumPerCPU(key []byte) (uint64, error) {
	vals, err := m.LookupPerCPU(key)
	if err != nil {
		return 0, err
	}
	return sumCounters(vals), nil
}

func sumCounters(vals [][]byte) uint64 {
	var sum uint64
	for _, v := range vals {
		switch len(v) {
		case 8:
			sum += binary.NativeEndian.Uint64(v)
		case 4:
			sum += uint64(binary.NativeEndian.Uint32(v))
		case 2:
			sum += uint64(binary.NativeEndian.Uint16(v))
		case 1:
			sum += uint64(v[0])
		}
	}
	return sum
}

// Uint32Key encodes an array index or a u32 key in host byte order.
func Uint32Key(k uint32) []byte { return binary.NativeEndian.AppendUint32(nil, k) }

// Uint64Value encodes a u64 value in host byte order.
func Uint64Value(v uint64) []byte { return binary.NativeEndian.AppendUint64(nil, v) }
