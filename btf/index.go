package btf

import (
	"encoding/binary"
	"fmt"
	"iter"
	"math/bits"
)

// The name index is an open-addressed hash table of type IDs (0 = empty
// slot), hashed by name and probed linearly. It is built when lookups have
// walked enough (see useIndex) or when all types of a name are asked for,
// from the names in place: no Go string per type. A quarter of its
// slots stay empty, so probes are short and always end. Names with a NUL
// inside cannot be asked for and names are hashed up to the first NUL, so
// the hash needs no seed: a spec can at worst make its own lookups slow.

func (s *Spec) buildIndex() {
	s.count()
	size := s.named + s.named/3 + 1
	tab := make([]uint32, size)
	id := uint32(s.firstID)
	for _, chunk := range s.offs {
		for _, off := range chunk {
			rec := s.types[off:]
			nameOff := s.u32(rec)
			if kindOf(s.u32(rec[4:])) == BTF_KIND_DECL_TAG {
				// Hundreds of tags share a name ("bpf_kfunc"), which would
				// make one long probe run; tags are found by what they tag.
				nameOff = 0
			}
			if nameOff != 0 && nameOff >= s.strBase && nameOff-s.strBase < uint32(len(s.strs)) {
				h, n := hashName(s.strs[nameOff-s.strBase:])
				if n > 0 {
					j := slot(h, size)
					for tab[j] != 0 {
						if j++; j == size {
							j = 0
						}
					}
					tab[j] = id
				}
			} else if nameOff != 0 {
				// A split spec's type named by a string of its base.
				if name := s.name(s.types[off:]); len(name) > 0 {
					j := slot(hashString(string(name)), size)
					for tab[j] != 0 {
						if j++; j == size {
							j = 0
						}
					}
					tab[j] = id
				}
			}
			id++
		}
	}
	s.index = tab
}

// slot maps a hash onto [0, size) without a division.
func slot(h uint64, size int) int {
	return int((h >> 32) * uint64(size) >> 32)
}

// The name hash reads names eight bytes at a time, finding the NUL that
// ends a name in the same loads that hash it: hashing is most of what
// building the index costs, and hash/maphash would first need the name's
// length.
const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
	mul = 0x9e3779b97f4a7c15
)

// mix takes one word per multiplication, leaving it to finish to bring the
// high bits down: a name is two or three words, so this loop is most of
// the index's cost.
func mix(h, w uint64) uint64 {
	return (h ^ w) * mul
}

func finish(h uint64, n int) uint64 {
	h ^= uint64(n)
	h ^= h >> 32
	h *= 0xbf58476d1ce4e5b9
	return h ^ h>>29
}

// hashName hashes the NUL-terminated name at the start of b and returns its
// length. A name not terminated before the end of b ends there.
func hashName(b []byte) (uint64, int) {
	var h uint64
	i := 0
	for ; len(b)-i >= 8; i += 8 {
		w := binary.LittleEndian.Uint64(b[i:])
		if z := (w - lsb) &^ w & msb; z != 0 {
			nul := bits.TrailingZeros64(z) / 8
			if nul > 0 {
				h = mix(h, w&(1<<(8*nul)-1))
			}
			return finish(h, i+nul), i + nul
		}
		h = mix(h, w)
	}
	var w uint64
	n := 0
	for ; i+n < len(b) && b[i+n] != 0; n++ {
		w |= uint64(b[i+n]) << (8 * n)
	}
	if n > 0 {
		h = mix(h, w)
	}
	return finish(h, i+n), i + n
}

// hashString hashes a name as hashName does.
func hashString(s string) uint64 {
	var h uint64
	i := 0
	for ; len(s)-i >= 8; i += 8 {
		h = mix(h, uint64(s[i])|uint64(s[i+1])<<8|uint64(s[i+2])<<16|uint64(s[i+3])<<24|
			uint64(s[i+4])<<32|uint64(s[i+5])<<40|uint64(s[i+6])<<48|uint64(s[i+7])<<56)
	}
	var w uint64
	for n := 0; i+n < len(s); n++ {
		w |= uint64(s[i+n]) << (8 * n)
	}
	if i < len(s) {
		h = mix(h, w)
	}
	return finish(h, len(s))
}

// Before the index exists, lookups walk the types in ID order. A one-liner
// asks for a handful of names, most of them declared early (task_struct is
// type 114 of vmlinux's 125,000), so a walk that stops at the first match
// costs less than hashing 70,000 names would. Each walk adds the types it
// read to scanned; once lookups have read indexAfter times as many types as
// the spec has, the index is built and used from then on, so that many
// lookups never cost more than a few times what the index would have.
const indexAfter = 2

// useIndex reports whether lookups should go to the index, building it if
// the walks so far have cost enough.
func (s *Spec) useIndex() bool {
	if s.indexed.Load() {
		return true
	}
	// Before the pass has reached the end, the types are counted from the
	// section's length: vmlinux's records average 28 bytes.
	total := s.known.Load()
	if !s.done.Load() {
		total = max(total, int64(len(s.types)/24))
	}
	if s.scanned.Load() < int64(indexAfter)*total {
		return false
	}
	s.buildIndexOnce()
	return true
}

func (s *Spec) buildIndexOnce() {
	s.indexOnce.Do(func() {
		s.buildIndex()
		s.indexed.Store(true)
	})
}

// nameIs reports whether rec is named name, without allocating.
func (s *Spec) nameIs(rec []byte, name string) bool {
	off := s.u32(rec)
	if off >= s.strBase && off-s.strBase < uint32(len(s.strs)) {
		b := s.strs[off-s.strBase:]
		return len(b) > len(name) && b[len(name)] == 0 && string(b[:len(name)]) == name
	}
	return string(s.name(rec)) == name
}

// probe yields the IDs in the index named name.
func (s *Spec) probe(name string, yield func(TypeID) bool) bool {
	tab := s.index
	if len(tab) == 0 {
		return true
	}
	j := slot(hashString(name), len(tab))
	for {
		id := tab[j]
		if id == 0 {
			return true
		}
		if s.hasName(TypeID(id), name) && !yield(TypeID(id)) {
			return false
		}
		if j++; j == len(tab) {
			j = 0
		}
	}
}

// walkNames yields, in ID order, the own types named name of kind k, or of
// any kind if k is anyKind, and counts the types it reads.
func (s *Spec) walkNames(name string, k Kind, yield func(TypeID) bool) bool {
	id := s.firstID
	read := 0
	defer func() { s.scanned.Add(int64(read)) }()
	for c := 0; s.have(uint64(c) << chunkShift); c++ {
		for _, off := range s.offs[c] {
			read++
			rec := s.types[off:]
			if k == anyKind || kindOf(s.u32(rec[4:])) == k {
				if s.nameIs(rec, name) && !yield(id) {
					return false
				}
			}
			id++
		}
	}
	return true
}

// anyKind asks walkNames for types of every kind.
const anyKind Kind = 0xff

// lookup yields the IDs of the types named name, those of the base first,
// and returns false if yield asked to stop.
func (s *Spec) lookup(name string, yield func(TypeID) bool) bool {
	if name == "" {
		return true
	}
	if s.base != nil && !s.base.lookup(name, yield) {
		return false
	}
	// A walk for every kind reads all types, which is what building the
	// index costs.
	s.buildIndexOnce()
	return s.probe(name, yield)
}

// TypesByName yields the IDs of all types named name, of any kind but
// DECL_TAG, in no particular order except that a base's types come before
// a split spec's.
func (s *Spec) TypesByName(name string) iter.Seq[TypeID] {
	return func(yield func(TypeID) bool) { s.lookup(name, yield) }
}

// TypeByName returns the ID of a type of kind k named name: for example
// ("task_struct", BTF_KIND_STRUCT), ("u64", BTF_KIND_TYPEDEF) or
// ("do_unlinkat", BTF_KIND_FUNC). If several match, the one with the lowest
// ID is returned. The error wraps ErrNotFound when there is none. Kinds
// are not merged: an enum with 64-bit values is a BTF_KIND_ENUM64, and a
// struct only declared is a BTF_KIND_FWD.
func (s *Spec) TypeByName(name string, k Kind) (TypeID, error) {
	if id := s.firstByName(name, k); id != 0 {
		return id, nil
	}
	return 0, &LookupError{Kind: k, Name: name, Err: s.passErr()}
}

func (s *Spec) firstByName(name string, k Kind) TypeID {
	if name == "" {
		return 0
	}
	if s.base != nil {
		if id := s.base.firstByName(name, k); id != 0 {
			return id
		}
	}
	var found TypeID
	if k != BTF_KIND_DECL_TAG && s.useIndex() {
		s.probe(name, func(id TypeID) bool {
			if s.Kind(id) == k && (found == 0 || id < found) {
				found = id
			}
			return true
		})
		return found
	}
	s.walkNames(name, k, func(id TypeID) bool {
		found = id
		return false
	})
	return found
}

// LookupError reports a type, member or constant that a spec does not have.
// It wraps ErrNotFound, or the error that stopped a path.
type LookupError struct {
	Kind Kind   // the kind looked for, BTF_KIND_UNKN for constants and members
	Name string // what was looked for
	Err  error  // nil: ErrNotFound
}

func (e *LookupError) Error() string {
	what := ""
	switch e.Kind {
	case BTF_KIND_STRUCT:
		what = "struct "
	case BTF_KIND_UNION:
		what = "union "
	case BTF_KIND_ENUM, BTF_KIND_ENUM64:
		what = "enum "
	case BTF_KIND_TYPEDEF:
		what = "typedef "
	case BTF_KIND_FUNC:
		what = "func "
	case BTF_KIND_VAR:
		what = "var "
	case BTF_KIND_UNKN:
	default:
		what = e.Kind.String() + " "
	}
	if e.Err != nil {
		return fmt.Sprintf("btf: %s%s: %v", what, e.Name, e.Err)
	}
	return fmt.Sprintf("btf: %s%s not found", what, e.Name)
}

func (e *LookupError) Unwrap() error {
	if e.Err != nil {
		return e.Err
	}
	return ErrNotFound
}
