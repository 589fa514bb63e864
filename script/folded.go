package script

import (
	"strconv"

	"github.com/tracelet/tracelet/flamegraph"
)

// Foldable reports whether m prints as folded stacks: a key holds a kstack
// or ustack, and the value is a count, a sum or an integer.
func Foldable(m *Map) bool {
	if m.Info == nil || m.Buckets {
		return false
	}
	switch m.Info.Value.Kind {
	case KindCount, KindSum, KindInt:
	default:
		return false
	}
	for _, k := range m.Info.Keys {
		if k.Kind == KindKstack || k.Kind == KindUstack {
			return true
		}
	}
	return false
}

// efault is -EFAULT, what bpf_get_stackid returns for the user stack of a
// kernel thread (it has none): such a stack adds no frame.
const efault = -14

// Fold adds m's elements to p as stacks, root first: the keys that are
// not stacks (comm, pid, …) in key order, then the user stack, then the
// kernel stack, whose frames end in "_[k]", as perf's stackcollapse marks
// them. Frames are bare symbol names, so that calls from different
// offsets of a function merge; an address no symbol covers is
// "[unknown] 0xADDR", and a stack the kernel could not record (its id is
// an error other than a kernel thread's missing user stack) is one frame,
// "[Missed User Stack]" or "[Missed Kernel Stack]", as bcc marks them.
func (o *Object) Fold(p *flamegraph.Profile, m *Map, entries []Entry, r *Resolver) {
	if !Foldable(m) {
		return
	}
	if r == nil {
		r = &Resolver{}
	}
	r = o.batchKernelFrames(m, entries, r)
	v := m.Info.Value
	for _, e := range entries {
		if len(e.Values) == 0 {
			continue
		}
		var n uint64
		if v.Kind == KindInt {
			n = u64(e.Values[0])
		} else {
			n = sumCPUs(e.Values, 0)
		}
		if v.Signed && int64(n) < 0 {
			continue
		}
		var roots, user, kernel []string
		for i, kt := range m.Info.Keys {
			off := m.KeyOffsets[i]
			end := off + slotSize(kt)
			if end > len(e.Key) {
				break
			}
			b := e.Key[off:end]
			switch kt.Kind {
			case KindKstack:
				kernel = append(kernel, r.foldStack(false, kt.Depth, b)...)
			case KindUstack:
				user = append(user, r.foldStack(true, kt.Depth, b)...)
			default:
				roots = append(roots, o.valueString(kt, b, r))
			}
		}
		p.Add(append(append(roots, user...), kernel...), n)
	}
}

// foldStack is a stack's frames root first.
func (r *Resolver) foldStack(user bool, depth int, b []byte) []string {
	id := int64(int32(u64(b)))
	if id < 0 {
		switch {
		case id == efault:
			return nil
		case user:
			return []string{"[Missed User Stack]"}
		}
		return []string{"[Missed Kernel Stack]"}
	}
	if r.Stack == nil {
		return nil
	}
	var pid uint32
	if user {
		pid = uint32(u64(b[8:]))
	}
	addrs := r.stackFrames(id, depth)
	frames := make([]string, 0, len(addrs))
	for i := len(addrs) - 1; i >= 0; i-- {
		addr := addrs[i]
		var s string
		if user && r.Usym != nil {
			s = r.Usym(pid, addr, false)
		} else if !user && r.Ksym != nil {
			s = r.Ksym(addr, false)
		}
		if s == "" {
			s = "[unknown] 0x" + strconv.FormatUint(addr, 16)
		}
		if !user {
			s += "_[k]"
		}
		frames = append(frames, s)
	}
	return frames
}
