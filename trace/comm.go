package trace

import (
	"bytes"
	"encoding/binary"
	"os"
	"strconv"
)

// maxComms bounds the comm cache: a fork-heavy system would grow it forever.
const maxComms = 4096

// comms caches thread names. They come from PERF_RECORD_COMM (written on
// exec and prctl(PR_SET_NAME) by events with attr.comm), which is the only
// way to name a thread that exits before its events are read, and from
// /proc/TID/comm for threads that were named before the trace started.
type comms struct {
	m map[int]string
}

// record takes the body of a PERF_RECORD_COMM: u32 pid, u32 tid, then the
// NUL-padded name.
func (c *comms) record(body []byte) {
	if len(body) < 9 {
		return
	}
	tid := int(binary.NativeEndian.Uint32(body[4:]))
	name := body[8:]
	if i := bytes.IndexByte(name, 0); i >= 0 {
		name = name[:i]
	}
	c.put(tid, string(name))
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

// lookup returns the name of tid, reading /proc on a miss. A thread that is
// gone gets "<...>", as in the kernel's trace file when its comm cache
// misses.
func (c *comms) lookup(tid int) string {
	if n, ok := c.m[tid]; ok {
		return n
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(tid) + "/comm")
	if err != nil || len(b) == 0 {
		// Not cached: a COMM record from another CPU's ring may still
		// name it.
		return "<...>"
	}
	n := string(bytes.TrimSuffix(b, []byte("\n")))
	c.put(tid, n)
	return n
}
