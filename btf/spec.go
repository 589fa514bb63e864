package btf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"
	"sync/atomic"
)

// TypeID numbers the types of a Spec. ID 0 is void; a base spec's types
// are 1, 2, …; a split spec's continue after its base's last ID.
type TypeID uint32

// ErrNotFound is wrapped by the errors of lookups that found nothing.
var ErrNotFound = errors.New("not found")

// FormatError reports BTF data that does not follow the format, with the
// byte offset of the problem in the type or string section it concerns.
type FormatError struct {
	Off int64  // offset of the offending data
	Msg string // what is wrong
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("btf: %s at offset %#x", e.Msg, e.Off)
}

// Sizes of the fixed parts of the format (include/uapi/linux/btf.h).
const (
	headerLen = 24 // struct btf_header
	typeLen   = 12 // struct btf_type
)

// FileHeader is struct btf_header, the start of raw BTF.
type FileHeader struct {
	Magic   uint16
	Version uint8
	Flags   uint8
	HdrLen  uint32
	TypeOff uint32 // from the end of the header
	TypeLen uint32
	StrOff  uint32 // from the end of the header
	StrLen  uint32
}

// Spec is one BTF blob: its types and strings, and for split BTF (a kernel
// module's) the base spec its IDs and string offsets continue.
//
// A Spec records where each type starts as lookups first reach it, in one
// pass over the type section that goes only as far as they ask: a
// one-liner's task_struct is among the first types of vmlinux, and the
// whole pass costs a millisecond. Then finding a type by ID costs an
// index. Lookups by name walk the types in ID order until they have read
// twice as many as the spec holds, then build a name index and use it.
// Data that does not follow the format past the first types is found where
// the pass reaches it: lookups then end there, and their errors wrap the
// FormatError (Err reports it). Types are decoded only when asked
// for. The Spec reads its input in place: a Spec from LoadBytes must not
// see its bytes changed, and one from LoadFile should be closed (Close does
// not close the base of a split spec).
//
// A Spec is safe for concurrent use, except Close.
type Spec struct {
	FileHeader
	ByteOrder binary.ByteOrder

	base    *Spec
	big     bool
	types   []byte     // the type section
	strs    []byte     // the string section
	firstID TypeID     // the ID of offs[0]
	strBase uint32     // the string offset of strs[0]
	offs    [][]uint32 // offset in types of each type, by ID-firstID, in chunks of chunkLen

	// The pass: known own types have their offsets in offs; scanMu
	// guards the rest, which done (set once the pass ended) publishes.
	known   atomic.Int64
	done    atomic.Bool
	scanMu  sync.Mutex
	scanOff int   // where the pass goes on
	scanErr error // what ended the pass before the end, if anything
	named   int   // how many types have a name, to size the index

	indexOnce sync.Once
	indexed   atomic.Bool  // index is built
	scanned   atomic.Int64 // types read by lookups that walked instead of using the index
	index     []uint32     // open-addressed hash table of type IDs, by name

	ptrOnce sync.Once
	ptrSize uint32

	closer io.Closer
}

// LoadBytes parses raw BTF (struct btf_header, types, strings) in b. The
// Spec refers to b, which must not change while the Spec is in use.
func LoadBytes(b []byte) (*Spec, error) {
	return load(b, nil)
}

// LoadSplitBytes parses split BTF in b, such as a kernel module's
// /sys/kernel/btf/MODULE, whose type IDs and string offsets continue those
// of base.
func LoadSplitBytes(b []byte, base *Spec) (*Spec, error) {
	if base == nil {
		return nil, errors.New("btf: split BTF without a base")
	}
	return load(b, base)
}

// LoadRaw reads raw BTF from r, which holds nothing else before it.
func LoadRaw(r io.ReaderAt) (*Spec, error) {
	b, err := readRaw(r)
	if err != nil {
		return nil, err
	}
	return load(b, nil)
}

// LoadSplit reads split BTF from r on top of base (see LoadSplitBytes).
func LoadSplit(r io.ReaderAt, base *Spec) (*Spec, error) {
	if base == nil {
		return nil, errors.New("btf: split BTF without a base")
	}
	b, err := readRaw(r)
	if err != nil {
		return nil, err
	}
	return load(b, base)
}

// readRaw reads the header, then exactly the bytes it claims, so that a
// corrupt length costs at most what r holds.
func readRaw(r io.ReaderAt) ([]byte, error) {
	var hb [headerLen]byte
	if _, err := r.ReadAt(hb[:], 0); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("btf: reading header: %w", err)
	}
	h, _, err := parseHeader(hb[:])
	if err != nil {
		return nil, err
	}
	end := uint64(h.HdrLen) + max(uint64(h.TypeOff)+uint64(h.TypeLen), uint64(h.StrOff)+uint64(h.StrLen))
	if end > math.MaxInt32 {
		return nil, &FormatError{0, "sections end beyond 2 GiB"}
	}
	// Grow by what arrives, not by what the header claims.
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(io.NewSectionReader(r, 0, int64(end))); err != nil {
		return nil, fmt.Errorf("btf: %w", err)
	}
	if uint64(buf.Len()) < end {
		return nil, &FormatError{int64(buf.Len()), fmt.Sprintf("data ends before the %d bytes the header claims", end)}
	}
	return buf.Bytes(), nil
}

func parseHeader(b []byte) (FileHeader, bool, error) {
	var h FileHeader
	if len(b) < headerLen {
		return h, false, &FormatError{0, "short header"}
	}
	var bo binary.ByteOrder = binary.LittleEndian
	big := false
	switch {
	case b[0] == 0x9f && b[1] == 0xeb:
	case b[0] == 0xeb && b[1] == 0x9f:
		bo, big = binary.BigEndian, true
	default:
		return h, false, &FormatError{0, fmt.Sprintf("bad magic %#02x%02x", b[0], b[1])}
	}
	h = FileHeader{
		Magic:   BTF_MAGIC,
		Version: b[2],
		Flags:   b[3],
		HdrLen:  bo.Uint32(b[4:]),
		TypeOff: bo.Uint32(b[8:]),
		TypeLen: bo.Uint32(b[12:]),
		StrOff:  bo.Uint32(b[16:]),
		StrLen:  bo.Uint32(b[20:]),
	}
	if h.Version != BTF_VERSION {
		return h, big, &FormatError{2, fmt.Sprintf("unsupported version %d", h.Version)}
	}
	if h.HdrLen < headerLen {
		return h, big, &FormatError{4, fmt.Sprintf("header length %d", h.HdrLen)}
	}
	return h, big, nil
}

func load(b []byte, base *Spec) (*Spec, error) {
	h, big, err := parseHeader(b)
	if err != nil {
		return nil, err
	}
	s := &Spec{FileHeader: h, ByteOrder: binary.LittleEndian, big: big, base: base}
	if big {
		s.ByteOrder = binary.BigEndian
	}
	if uint64(h.HdrLen) > uint64(len(b)) {
		return nil, &FormatError{4, "header longer than the data"}
	}
	body := b[h.HdrLen:]
	if uint64(h.TypeOff)+uint64(h.TypeLen) > uint64(len(body)) {
		return nil, &FormatError{int64(h.HdrLen), "type section beyond the data"}
	}
	if uint64(h.StrOff)+uint64(h.StrLen) > uint64(len(body)) {
		return nil, &FormatError{int64(h.HdrLen), "string section beyond the data"}
	}
	s.types = body[h.TypeOff : h.TypeOff+h.TypeLen]
	s.strs = body[h.StrOff : h.StrOff+h.StrLen]
	s.firstID = 1
	if base != nil {
		if base.big != big {
			return nil, errors.New("btf: split BTF and its base differ in byte order")
		}
		s.firstID = base.nextID()
		if uint64(base.strBase)+uint64(len(base.strs))+uint64(len(s.strs)) > math.MaxUint32 {
			return nil, &FormatError{int64(h.HdrLen), "string offsets beyond 4 GiB"}
		}
		s.strBase = base.strBase + uint32(len(base.strs))
	}
	// Room for the chunks of as many types as the section could hold,
	// and the first chunk scanned now, so that data that is not BTF at all
	// fails here.
	s.offs = make([][]uint32, len(s.types)/typeLen/chunkLen+1)
	if s.scanTo(0); s.scanErr != nil {
		return nil, s.scanErr
	}
	return s, nil
}

// Types are counted in chunks of offsets, so that the one pass over the
// type section allocates what the types need and not what the section's
// length could hold, without a pass to count them first.
const (
	chunkShift = 12
	chunkLen   = 1 << chunkShift
)

// have reports whether the spec has own type i, the pass reaching it.
func (s *Spec) have(i uint64) bool {
	if i < uint64(s.known.Load()) {
		return true
	}
	if s.done.Load() || i >= uint64(len(s.offs))*chunkLen {
		return false
	}
	s.scanTo(int(i))
	return i < uint64(s.known.Load())
}

// count is the number of own types, from a pass over them all.
func (s *Spec) count() int {
	s.scanTo(math.MaxInt)
	return int(s.known.Load())
}

// Err returns the FormatError that ended the pass over the types before
// the end of the section, after making the whole pass; nil if the types
// follow the format.
func (s *Spec) Err() error {
	s.scanTo(math.MaxInt)
	s.scanMu.Lock()
	defer s.scanMu.Unlock()
	return s.scanErr
}

// passErr is what ended the pass before the end of the section, once the
// pass has ended, for lookups that found nothing: the spec's or its
// base's.
func (s *Spec) passErr() error {
	for ; s != nil; s = s.base {
		if s.done.Load() && s.scanErr != nil {
			return s.scanErr
		}
	}
	return nil
}

// scanTo goes on with the pass over the type section, a chunk of types at
// a time, until type i has its offset or the section ends.
func (s *Spec) scanTo(i int) {
	s.scanMu.Lock()
	defer s.scanMu.Unlock()
	for !s.done.Load() && int64(i) >= s.known.Load() {
		if err := s.scanChunk(); err != nil {
			s.scanErr = err
			s.done.Store(true)
		}
	}
}

// scanChunk records where each type of the next chunk starts, up to a
// type that does not follow the format.
func (s *Spec) scanChunk() error {
	t := s.types
	off, n := s.scanOff, int(s.known.Load())
	if off >= len(t) {
		s.done.Store(true)
		return nil
	}
	if uint64(s.firstID)+uint64(n)+chunkLen > math.MaxUint32 {
		return &FormatError{int64(off), "too many types"}
	}
	c := n >> chunkShift
	chunk := make([]uint32, chunkLen)
	i, named := 0, 0
	var err error
	// The loop reads two words per type and writes one: it is the whole
	// cost of the pass, so it has one branch per type that is ever taken,
	// to the error.
	for ; i < len(chunk) && off < len(t); i++ {
		if len(t)-off < typeLen {
			err = &FormatError{int64(off), "truncated type"}
			break
		}
		rec := t[off : off+typeLen]
		var nameOff, info uint32
		if s.big {
			nameOff, info = binary.BigEndian.Uint32(rec), binary.BigEndian.Uint32(rec[4:])
		} else {
			nameOff, info = binary.LittleEndian.Uint32(rec), binary.LittleEndian.Uint32(rec[4:])
		}
		k := info >> 24 & 0x1f
		fixed := int(recordFixed[k])
		size := fixed + int(recordPerVlen[k])*int(info&0xffff)
		if fixed == 0 || size > len(t)-off {
			err = &FormatError{int64(off), "truncated type"}
			if fixed == 0 {
				err = &FormatError{int64(off), fmt.Sprintf("unknown kind %d", k)}
			}
			break
		}
		chunk[i] = uint32(off)
		if nameOff != 0 {
			named++
		}
		off += size
	}
	s.offs[c] = chunk[:i]
	s.scanOff, s.named = off, s.named+named
	s.known.Store(int64(n + i))
	if off >= len(t) {
		s.done.Store(true)
	}
	return err
}

// recordFixed and recordPerVlen give the length of a type's record: struct
// btf_type and what follows it for its kind, fixed and per vlen item.
// recordFixed is 0 for kinds that do not exist.
var (
	recordFixed = [32]uint8{
		BTF_KIND_INT: typeLen + 4, BTF_KIND_PTR: typeLen, BTF_KIND_ARRAY: typeLen + 12,
		BTF_KIND_STRUCT: typeLen, BTF_KIND_UNION: typeLen, BTF_KIND_ENUM: typeLen,
		BTF_KIND_FWD: typeLen, BTF_KIND_TYPEDEF: typeLen, BTF_KIND_VOLATILE: typeLen,
		BTF_KIND_CONST: typeLen, BTF_KIND_RESTRICT: typeLen, BTF_KIND_FUNC: typeLen,
		BTF_KIND_FUNC_PROTO: typeLen, BTF_KIND_VAR: typeLen + 4, BTF_KIND_DATASEC: typeLen,
		BTF_KIND_FLOAT: typeLen, BTF_KIND_DECL_TAG: typeLen + 4, BTF_KIND_TYPE_TAG: typeLen,
		BTF_KIND_ENUM64: typeLen,
	}
	recordPerVlen = [32]uint8{
		BTF_KIND_STRUCT: 12, BTF_KIND_UNION: 12, BTF_KIND_ENUM: 8, BTF_KIND_FUNC_PROTO: 8,
		BTF_KIND_DATASEC: 12, BTF_KIND_ENUM64: 12,
	}
)

// offset is where the record of the i-th own type starts.
func (s *Spec) offset(i int) uint32 {
	return s.offs[i>>chunkShift][i&(chunkLen-1)]
}

func (s *Spec) u32(b []byte) uint32 {
	if s.big {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

// nextID is the ID after this spec's last type.
func (s *Spec) nextID() TypeID { return s.firstID + TypeID(s.count()) }

// Base is the spec that a split spec continues, or nil.
func (s *Spec) Base() *Spec { return s.base }

// FirstID is the ID of the spec's first own type: 1, or for split BTF the
// ID after its base's last.
func (s *Spec) FirstID() TypeID { return s.firstID }

// NextStringOffset is where the string offsets of split BTF on top of s
// start: after the strings of s and of its bases.
func (s *Spec) NextStringOffset() uint32 { return s.strBase + uint32(len(s.strs)) }

// NumTypes is the number of IDs, from void through the last type,
// including those of a base.
func (s *Spec) NumTypes() int { return int(s.nextID()) }

// Close releases the file a Spec from LoadFile maps. Types decoded before
// stay valid; the Spec itself must not be used after.
func (s *Spec) Close() error {
	if s.closer == nil {
		return nil
	}
	c := s.closer
	s.closer = nil
	s.scanMu.Lock()
	s.types, s.strs, s.offs, s.index = nil, nil, nil, nil
	s.known.Store(0)
	s.done.Store(true)
	s.scanMu.Unlock()
	return c.Close()
}

// record returns the spec that holds id and the record's bytes, or nil for
// void and for IDs beyond the last.
func (s *Spec) record(id TypeID) (*Spec, []byte) {
	for id < s.firstID {
		if s.base == nil {
			return nil, nil
		}
		s = s.base
	}
	i := uint64(id - s.firstID)
	if !s.have(i) {
		return nil, nil
	}
	rec := s.types[s.offset(int(i)):]
	info := s.u32(rec[4:])
	k := info >> 24 & 0x1f
	return s, rec[:int(recordFixed[k])+int(recordPerVlen[k])*int(info&0xffff)]
}

// str returns the NUL-terminated string at off in the string offset space
// shared with the base, and false if off is out of bounds.
func (s *Spec) str(off uint32) ([]byte, bool) {
	for off < s.strBase {
		s = s.base
	}
	off -= s.strBase
	if off >= uint32(len(s.strs)) {
		return nil, off == 0
	}
	b := s.strs[off:]
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return b, true
}

// name is the name of the type at rec, empty if it has none or a bad one.
func (s *Spec) name(rec []byte) []byte {
	b, _ := s.str(s.u32(rec))
	return b
}

// header fields of a record
func (s *Spec) info(rec []byte) uint32 { return s.u32(rec[4:]) }
func kindOf(info uint32) Kind          { return Kind(info >> 24 & 0x1f) }
func vlenOf(info uint32) int           { return int(info & 0xffff) }
func kindFlag(info uint32) bool        { return info&(1<<31) != 0 }

// Kind returns the kind of type id: BTF_KIND_UNKN for void and for IDs that
// do not exist.
func (s *Spec) Kind(id TypeID) Kind {
	o, rec := s.record(id)
	if o == nil {
		return BTF_KIND_UNKN
	}
	return kindOf(o.info(rec))
}

// Name returns the name of type id, "" for anonymous types, void and IDs
// that do not exist.
func (s *Spec) Name(id TypeID) string {
	o, rec := s.record(id)
	if o == nil {
		return ""
	}
	return string(o.name(rec))
}

// hasName reports whether type id is named name, without allocating.
func (s *Spec) hasName(id TypeID, name string) bool {
	o, rec := s.record(id)
	if o == nil {
		return false
	}
	return string(o.name(rec)) == name
}
