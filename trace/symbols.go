package trace

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/tracelet/tracelet/tracefs"
)

// Symbolizer turns call-chain addresses into "symbol+0xoff": kernel
// addresses through /proc/kallsyms, user addresses through the process's
// /proc/PID/maps and the ELF symbols of the mapped file. Everything is
// loaded on first use and bounded: kallsyms of a distribution kernel has
// some 200k text symbols, so only those are kept, in one string; at most
// maxBinaries ELF symbol tables and maxProcs address maps are cached.
type Symbolizer struct {
	mu sync.Mutex

	kOnce  bool
	kAddrs []uint64          // sorted
	kOffs  []uint32          // into kNames, the start of each name, in kAddrs' order
	kLens  []uint16          // and its length
	kNames []byte            // the names in /proc/kallsyms' order
	kCache map[uint64]string // PrefetchKernel's answers

	procs    map[int][]mapping
	binaries map[string][]tracefs.Symbol
}

const (
	maxKallsyms = 1 << 21 // entries; far above any real kernel, bounds a hostile file
	maxBinaries = 32
	maxProcs    = 64
)

// NewSymbolizer returns an empty Symbolizer; it reads nothing until asked.
func NewSymbolizer() *Symbolizer {
	return &Symbolizer{procs: map[int][]mapping{}, binaries: map[string][]tracefs.Symbol{}}
}

// Kernel returns the kernel symbol containing addr, or "": from the
// names PrefetchKernel looked up, or else from the whole table of text
// symbols, loaded on first use.
func (s *Symbolizer) Kernel(addr uint64) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if name, ok := s.kCache[addr]; ok {
		return name
	}
	if !s.kOnce {
		s.kOnce = true
		s.loadKallsyms()
	}
	i := sort.Search(len(s.kAddrs), func(i int) bool { return s.kAddrs[i] > addr }) - 1
	if i < 0 {
		return ""
	}
	off := s.kOffs[i]
	return string(s.kNames[off:off+uint32(s.kLens[i])]) + "+0x" + strconv.FormatUint(addr-s.kAddrs[i], 16)
}

// PrefetchKernel looks up the symbols of many kernel addresses (a map of
// stacks about to be printed) in one pass over /proc/kallsyms, keeping
// only the names they fall in: Kernel then answers them without loading
// the whole table, whose 120k names would otherwise be most of what a
// tool like offcputime holds in memory when it prints. The answers
// replace the previous batch's; where the table is loaded already, it is
// used instead.
func (s *Symbolizer) PrefetchKernel(addrs []uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.kOnce || len(addrs) == 0 {
		return
	}
	f, err := os.Open("/proc/kallsyms")
	if err != nil {
		s.kCache = nil
		return
	}
	defer f.Close()
	s.kCache = resolveKallsyms(f, addrs)
}

// eachTextSymbol calls fn with the address and name of each text symbol
// of a kallsyms file, in its order; name is valid only during the call.
// Symbols at address zero (kptr_restrict hides them) are left out.
func eachTextSymbol(r io.Reader, fn func(addr uint64, name []byte) bool) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		// "ffffffff81000000 T _stext\t[module]"
		line := sc.Bytes()
		a, rest, ok := bytes.Cut(line, []byte{' '})
		if !ok || len(rest) < 3 {
			continue
		}
		switch rest[0] {
		case 't', 'T', 'w', 'W':
		default:
			continue
		}
		addr, err := strconv.ParseUint(string(a), 16, 64)
		if err != nil || addr == 0 {
			continue
		}
		name := rest[2:]
		if i := bytes.IndexByte(name, '\t'); i >= 0 {
			name = name[:i]
		}
		if !fn(addr, name) {
			return
		}
	}
}

// resolveKallsyms names each of addrs as Kernel does from the whole
// table ("name+0xoff", or "" below every symbol): for each, the symbol
// with the greatest address not above it, the last in the file's order
// among equal addresses. It streams the file once and holds only the
// answers. The file is in address order in runs (vmlinux's symbols, then
// each module's, not sorted among themselves), so within a run a symbol
// is offered to the queries below the next one, and a run's last symbol
// to every query above it: each query gets the best symbol of every run.
func resolveKallsyms(r io.Reader, addrs []uint64) map[uint64]string {
	q := slices.Clone(addrs)
	slices.Sort(q)
	q = slices.Compact(q)
	best := make([]uint64, len(q))  // the address of each query's symbol so far
	names := make([]string, len(q)) // and its name; "" while it has none
	var prev uint64                 // the run's last symbol
	var prevName []byte             // its name (a copy: the scanner reuses its buffer)
	var prevStr string              // its name as a string, made once it is used
	have := false
	next := 0               // the first query at or above prev
	offer := func(to int) { // prev to the queries next..to-1
		for ; next < to; next++ {
			if names[next] == "" || prev >= best[next] {
				if prevStr == "" {
					prevStr = string(prevName)
				}
				best[next], names[next] = prev, prevStr
			}
		}
	}
	seen := 0
	eachTextSymbol(r, func(addr uint64, name []byte) bool {
		if seen++; seen > maxKallsyms {
			return false
		}
		switch {
		case have && addr >= prev:
			offer(sort.Search(len(q), func(i int) bool { return q[i] >= addr }))
		case have: // a new run: prev is the last of its own
			offer(len(q))
			next = sort.Search(len(q), func(i int) bool { return q[i] >= addr })
		default:
			next = sort.Search(len(q), func(i int) bool { return q[i] >= addr })
		}
		have = true
		prev, prevName, prevStr = addr, append(prevName[:0], name...), ""
		return true
	})
	if have {
		offer(len(q))
	}
	out := make(map[uint64]string, len(q))
	for i, a := range q {
		if names[i] != "" {
			out[a] = names[i] + "+0x" + strconv.FormatUint(a-best[i], 16)
		} else {
			out[a] = ""
		}
	}
	return out
}

// loadKallsyms keeps the text symbols' names in one buffer, in the file's
// order, and sorts only the addresses with their name's place: a
// distribution kernel's 200k names are never each a string of their own,
// which halves the heap that symbolizing a stack peaks at. Among equal
// addresses the sort keeps the file's order, so that Kernel names the
// last, as resolveKallsyms does.
func (s *Symbolizer) loadKallsyms() {
	f, err := os.Open("/proc/kallsyms")
	if err != nil {
		return
	}
	defer f.Close()
	s.loadKallsymsFrom(f)
}

func (s *Symbolizer) loadKallsymsFrom(r io.Reader) {
	s.kCache = nil
	eachTextSymbol(r, func(addr uint64, name []byte) bool {
		if len(s.kAddrs) >= maxKallsyms {
			return false
		}
		if len(name) > 0xffff || uint64(len(s.kNames))+uint64(len(name)) > 0xffffffff {
			return true
		}
		s.kAddrs = append(s.kAddrs, addr)
		s.kOffs = append(s.kOffs, uint32(len(s.kNames)))
		s.kLens = append(s.kLens, uint16(len(name)))
		s.kNames = append(s.kNames, name...)
		return true
	})
	sort.Stable(byAddr{s})
}

// byAddr sorts the kernel symbols by address, their names' places along.
type byAddr struct{ s *Symbolizer }

func (b byAddr) Len() int           { return len(b.s.kAddrs) }
func (b byAddr) Less(i, j int) bool { return b.s.kAddrs[i] < b.s.kAddrs[j] }
func (b byAddr) Swap(i, j int) {
	s := b.s
	s.kAddrs[i], s.kAddrs[j] = s.kAddrs[j], s.kAddrs[i]
	s.kOffs[i], s.kOffs[j] = s.kOffs[j], s.kOffs[i]
	s.kLens[i], s.kLens[j] = s.kLens[j], s.kLens[i]
}

type mapping struct {
	start, end, off uint64
	path            string
}

// maxMappings bounds the mappings kept for one process from
// PERF_RECORD_MMAP2: a process that maps and unmaps code forever (a JIT)
// must not grow the cache without end.
const maxMappings = 4096

// Mmap adds a file mapping that process pid made, as a PERF_RECORD_MMAP2
// reports it: the address range, its offset in the file in bytes and the
// file's path. It replaces what overlapped it, as mmap does. Those records
// are what keeps the map of a process that exits before its stacks are
// printed, and of a process that had no map to read when the trace began
// (a command started by the trace, which execs afterwards). Anonymous and
// special mappings ("//anon", "[vdso]") have no symbols to read and are
// skipped, as /proc/PID/maps reading skips them.
func (s *Symbolizer) Mmap(pid int, start, length, off uint64, path []byte) {
	if len(path) == 0 || path[0] != '/' || len(path) > 1 && path[1] == '/' || length == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	maps := s.procs[pid]
	end := start + length
	kept := maps[:0]
	for _, m := range maps {
		if m.end <= start || m.start >= end {
			kept = append(kept, m)
		}
	}
	if len(kept) >= maxMappings {
		kept = kept[:0]
	}
	kept = append(kept, mapping{start, end, off, string(path)})
	if _, ok := s.procs[pid]; !ok && len(s.procs) >= maxProcs {
		clear(s.procs)
	}
	s.procs[pid] = kept
}

// Exec forgets the mappings of pid: exec replaced its address space, and
// the PERF_RECORD_MMAP2 records of the new program follow.
func (s *Symbolizer) Exec(pid int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.procs[pid]; !ok && len(s.procs) >= maxProcs {
		clear(s.procs)
	}
	s.procs[pid] = []mapping{}
}

// Watch reads the address map of pid now, so that the addresses of a
// process that exits before its stacks are printed can still be resolved.
func (s *Symbolizer) Watch(pid int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loadMaps(pid)
}

func (s *Symbolizer) loadMaps(pid int) []mapping {
	maps := readMaps(pid)
	if maps == nil {
		// Gone: keep what we knew.
		return s.procs[pid]
	}
	if len(s.procs) >= maxProcs {
		clear(s.procs)
	}
	s.procs[pid] = maps
	return maps
}

// User returns the symbol of process pid containing addr, or "".
func (s *Symbolizer) User(pid int, addr uint64) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	maps, ok := s.procs[pid]
	if !ok || !covers(maps, addr) {
		// New process, or a mapping made since (dlopen, exec).
		maps = s.loadMaps(pid)
	}
	for _, m := range maps {
		if addr < m.start || addr >= m.end {
			continue
		}
		fileOff := addr - m.start + m.off
		syms, ok := s.binaries[m.path]
		if !ok {
			syms, _ = tracefs.ListSymbols(m.path, "")
			sort.Slice(syms, func(i, j int) bool { return syms[i].Offset < syms[j].Offset })
			if len(s.binaries) >= maxBinaries {
				clear(s.binaries)
			}
			s.binaries[m.path] = syms
		}
		i := sort.Search(len(syms), func(i int) bool { return syms[i].Offset > fileOff }) - 1
		if i < 0 || syms[i].Size != 0 && fileOff >= syms[i].Offset+syms[i].Size {
			return ""
		}
		return syms[i].Name + "+0x" + strconv.FormatUint(fileOff-syms[i].Offset, 16)
	}
	return ""
}

// readMaps reads the executable file mappings of pid.
func readMaps(pid int) []mapping {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/maps")
	if err != nil {
		return nil
	}
	var out []mapping
	for _, line := range strings.Split(string(b), "\n") {
		// "00400000-004a4000 r-xp 00000000 08:01 1234   /tmp/tp"
		f := strings.Fields(line)
		if len(f) < 6 || len(f[1]) < 3 || f[1][2] != 'x' || !strings.HasPrefix(f[5], "/") {
			continue
		}
		lo, hi, _ := strings.Cut(f[0], "-")
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		off, err3 := strconv.ParseUint(f[2], 16, 64)
		if err1 != nil || err2 != nil || err3 != nil {
			continue
		}
		out = append(out, mapping{start, end, off, strings.Join(f[5:], " ")})
	}
	return out
}

func covers(maps []mapping, addr uint64) bool {
	for _, m := range maps {
		if addr >= m.start && addr < m.end {
			return true
		}
	}
	return false
}
