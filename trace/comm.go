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
// named before the trace started are looked up in /proc, and a
// system-wide trace also reads every thread's name at its start (scan),
// for those that exit before their first event is read.
type comms struct {
	m map[int]string
	// scan, until it is merged, delivers the names of the threads that
	// were alive when the trace started (startScan).
	scan chan map[int]string
}

// maxScanned bounds the names a start-up scan keeps: half the cache, so
// that merging them leaves room for what the trace itself names.
const maxScanned = maxComms / 2

// startScan reads the name of every thread alive now, in the background,
// as perf record -a synthesizes COMM records for them: a thread that exits
// before its first event is read has no other record of its name. New
// starts it before the events are opened, and Start waits for it
// (mergeScan) once the comm events run, so that a thread is either in the
// scan or named by its own records.
func (c *comms) startScan(procDir string) {
	ch := make(chan map[int]string, 1)
	c.scan = ch
	go func() { ch <- scanComms(procDir, maxScanned) }()
}

// scanComms reads PROC/PID/task/TID/comm for every thread, up to limit.
func scanComms(procDir string, limit int) map[int]string {
	out := map[int]string{}
	procs, err := os.ReadDir(procDir)
	if err != nil {
		return out
	}
	for _, p := range procs {
		if _, err := strconv.Atoi(p.Name()); err != nil {
			continue
		}
		dir := procDir + "/" + p.Name() + "/task/"
		tasks, err := os.ReadDir(dir)
		if err != nil {
			continue // gone since
		}
		for _, t := range tasks {
			if len(out) >= limit {
				return out
			}
			tid, err := strconv.Atoi(t.Name())
			if err != nil {
				continue
			}
			if b, err := os.ReadFile(dir + t.Name() + "/comm"); err == nil && len(b) > 0 {
				out[tid] = string(bytes.TrimSuffix(b, []byte("\n")))
			}
		}
	}
	return out
}

// mergeScan waits for the start-up scan and adds what it found to the
// cache, under names the trace's own records have not given since.
func (c *comms) mergeScan() {
	if c.scan == nil {
		return
	}
	m := <-c.scan
	c.scan = nil
	for tid, n := range m {
		if _, ok := c.m[tid]; !ok {
			c.put(tid, n)
		}
	}
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
