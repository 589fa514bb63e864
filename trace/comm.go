package trace

import (
	"bytes"
	"encoding/binary"
	"os"
	"strconv"
)

// maxComms bounds the comm cache: a fork-heavy system would grow it forever.
const maxComms = 4096

// comms caches thread names. They come from the side-band records of the
// comm-tracking events, applied in time order with the samples (see
// Session.openCommTracking): PERF_RECORD_COMM, written on exec and
// prctl(PR_SET_NAME), and PERF_RECORD_FORK, which gives a new thread or
// process the name of the thread that created it. Those are the only way
// to name a task that exits before its events are read. Tasks that were
// named before the trace started are looked up in /proc.
type comms struct {
	m map[int]string
}

// record takes the body of a PERF_RECORD_COMM: u32 pid, u32 tid, then the
// NUL-padded name (and the sample_id trailer).
func (c *comms) record(body []byte) {
	if len(body) < 9 {
		return
	}
	tid := int(binary.NativeEndian.Uint32(body[4:]))
	name := body[8:]
	if i := bytes.IndexByte(name, 0); i >= 0 {
		name = name[:i]
	}
	if n, ok := c.m[tid]; ok && n == string(name) {
		return // a rename to the same name; no allocation
	}
	c.put(tid, string(name))
}

// fork takes the body of a PERF_RECORD_FORK: u32 pid, ppid, tid, ptid, u64
// time. The child has the name of the thread that forked it until it execs
// or renames itself; that thread is usually alive, so /proc names it if the
// cache does not.
func (c *comms) fork(body []byte) {
	if len(body) < 16 {
		return
	}
	tid := int(binary.NativeEndian.Uint32(body[8:]))
	ptid := int(binary.NativeEndian.Uint32(body[12:]))
	if n, ok := c.known(ptid); ok {
		c.put(tid, n)
	}
}

func (c *comms) put(tid int, name string) {
	if c.m == nil {
		c.m = map[int]string{}
	}
	if len(c.m) >= maxComms {
		clear(c.m)
	}
	c.m[tid] = name
}

// known returns the cached name of tid, reading /proc/TID/comm on a miss.
// /proc/TID exists for every thread, not only for thread group leaders.
func (c *comms) known(tid int) (string, bool) {
	if n, ok := c.m[tid]; ok {
		return n, true
	}
	if tid <= 0 {
		// The idle task (0) has no /proc entry; the kernel's trace
		// file calls it <idle>, but a sample never comes from it.
		return "", false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(tid) + "/comm")
	if err != nil || len(b) == 0 {
		return "", false
	}
	n := string(bytes.TrimSuffix(b, []byte("\n")))
	c.put(tid, n)
	return n, true
}

// lookup returns the name of thread tid of process pid. A thread that is
// neither cached nor alive gets its process's name: a thread created before
// the trace started, that exits before its first event is read, is named
// nowhere else, and it has its process's name unless it renamed itself.
// The answer is cached for tid, so that such a thread costs one /proc read.
// A task that is gone altogether gets "<...>", as in the kernel's trace file
// when its comm cache misses.
func (c *comms) lookup(pid, tid int) string {
	if n, ok := c.known(tid); ok {
		return n
	}
	if pid != tid {
		if n, ok := c.known(pid); ok {
			c.put(tid, n)
			return n
		}
	}
	return "<...>"
}
