package perf

import (
	"context"
	"errors"
	"fmt"
	"math/bits"
	"os"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// DefaultRingSize is the data area per CPU when ReaderOptions.RingSize is 0.
const DefaultRingSize = 256 << 10

// MaxRingSize bounds one CPU's data area. Each ring is locked memory, per
// CPU, so a typo must not pin gigabytes; the kernel's own bound is lower for
// unprivileged users (perf_event_mlock_kb, 516 KiB per user by default).
const MaxRingSize = 1 << 30

// ReaderOptions configure a Reader.
type ReaderOptions struct {
	// CPUs are the CPUs to make rings for; nil means OnlineCPUs. They need
	// not be contiguous.
	CPUs []int
	// RingSize is each CPU's data area in bytes. The kernel wants a power of
	// two number of pages, so it is rounded up to that; 0 means
	// DefaultRingSize.
	RingSize int
	// Watermark wakes Read once this many bytes are in a ring (the ring's
	// wakeup_watermark). It matters for events opened with SetWatermark;
	// events opened with wakeup_events wake the reader every that many
	// records regardless. 0 means half the ring, the kernel's default.
	Watermark int
	// Ordered makes Read hand out the records of all the rings in time
	// order, as perf script does, rather than ring after ring: a record
	// that a task wrote on one CPU then comes before the records it wrote
	// later on another (a sample after the PERF_RECORD_COMM of its exec).
	// Every event added must then carry its time in every record:
	// PERF_SAMPLE_TIME and attr.sample_id_all, with the same fields before
	// the time in all of them (so that the reader can find it without
	// knowing which event wrote a record). Record.Time is set.
	Ordered bool
	// Overwrite makes flight-recorder rings: the kernel keeps writing over
	// the oldest records instead of dropping new ones, and Snapshot reads
	// what is there, newest first. The rings are mapped read-only, which is
	// what tells the kernel to overwrite, and events must be opened with
	// Attr.SetWriteBackward(true), the only direction in which the newest
	// record can be found. Read is not available in this mode.
	Overwrite bool
}

// Reader takes the records of many events from one ring per CPU.
//
// The ring of each CPU belongs to a software dummy event that the Reader
// opens itself on that CPU; Add redirects an event's output there
// (PERF_EVENT_IOC_SET_OUTPUT). That keeps one ring per CPU however many
// events and threads are traced, and the ring outlives any traced task: a
// ring owned by a task's event would report EPOLLHUP when that task exits,
// while the inherited events of its other threads still write into it.
//
// One epoll instance waits on all the rings. Read hands out records without
// copying them and commits data_tail once per batch of records.
//
// Read, ReadInto and Snapshot must be called from one goroutine at a time;
// Flush, SetDeadline, Lost and Close may be called from any goroutine.
type Reader struct {
	mu        sync.Mutex // held by Read, ReadInto, Snapshot and Close
	rings     []*ring
	byCPU     []*ring // indexed by CPU number
	owners    []*Event
	maps      [][]byte
	overwrite bool
	epfd      int
	wakeMu    sync.RWMutex // guards wakefd against Close while Flush writes it
	wakefd    int
	epEvents  []unix.EpollEvent
	cur       int

	ordered bool
	layout  timeLayout
	pend    []pending // indexed like rings
	inBatch bool

	lost     []atomic.Uint64 // indexed by CPU number
	deadline atomic.Int64    // UnixNano; 0 means none
	flush    atomic.Bool
	closed   atomic.Bool
}

// NewReader makes a ring on each CPU and the epoll instance over them. Add
// the events to read afterwards.
func NewReader(opts ReaderOptions) (_ *Reader, err error) {
	cpus, err := cpusOrOnline(opts.CPUs)
	if err != nil {
		return nil, err
	}
	if len(cpus) == 0 {
		return nil, errors.New("perf: NewReader: no CPUs")
	}
	pages, err := ringPages(opts.RingSize, os.Getpagesize())
	if err != nil {
		return nil, err
	}
	if opts.Ordered && opts.Overwrite {
		return nil, errors.New("perf: NewReader: Ordered is for Read, and an Overwrite reader has only Snapshot")
	}
	if opts.Watermark < 0 || opts.Watermark > pages*os.Getpagesize() {
		return nil, fmt.Errorf("perf: watermark %d: want 0 to the ring size, %d bytes", opts.Watermark, pages*os.Getpagesize())
	}
	maxCPU := 0
	for _, c := range cpus {
		if c < 0 || c >= maxCPUs {
			return nil, fmt.Errorf("perf: NewReader: CPU %d out of range", c)
		}
		maxCPU = max(maxCPU, c)
	}
	r := &Reader{
		byCPU:     make([]*ring, maxCPU+1),
		lost:      make([]atomic.Uint64, maxCPU+1),
		overwrite: opts.Overwrite,
		ordered:   opts.Ordered,
		epfd:      -1,
		wakefd:    -1,
	}
	defer func() {
		if err != nil {
			r.release()
		}
	}()
	if r.epfd, err = unix.EpollCreate1(unix.EPOLL_CLOEXEC); err != nil {
		return nil, fmt.Errorf("perf: epoll_create1: %w", err)
	}
	if r.wakefd, err = unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK); err != nil {
		return nil, fmt.Errorf("perf: eventfd: %w", err)
	}
	if err := unix.EpollCtl(r.epfd, unix.EPOLL_CTL_ADD, r.wakefd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(r.wakefd)}); err != nil {
		return nil, fmt.Errorf("perf: epoll_ctl: %w", err)
	}
	for _, cpu := range cpus {
		if r.byCPU[cpu] != nil {
			return nil, fmt.Errorf("perf: NewReader: CPU %d listed twice", cpu)
		}
		if err := r.addRing(cpu, pages, opts); err != nil {
			return nil, err
		}
	}
	r.epEvents = make([]unix.EpollEvent, len(r.rings)+1)
	r.pend = make([]pending, len(r.rings))
	return r, nil
}

// ringPages turns a size in bytes into the kernel's 2^n data pages.
func ringPages(size, pageSize int) (int, error) {
	if size == 0 {
		size = DefaultRingSize
	}
	if size < 0 || size > MaxRingSize {
		return 0, fmt.Errorf("perf: ring size %d bytes per CPU: want 1 to %d (MaxRingSize)", size, MaxRingSize)
	}
	pages := (size + pageSize - 1) / pageSize
	if pages&(pages-1) != 0 {
		pages = 1 << bits.Len(uint(pages))
	}
	return pages, nil
}

func (r *Reader) addRing(cpu, pages int, opts ReaderOptions) error {
	attr := &Attr{}
	attr.Type = unix.PERF_TYPE_SOFTWARE
	attr.Config = unix.PERF_COUNT_SW_DUMMY
	attr.Size = uint32(unsafe.Sizeof(attr.PerfEventAttr))
	if opts.Watermark > 0 {
		attr.SetWatermark(uint32(opts.Watermark))
	}
	attr.SetWriteBackward(opts.Overwrite)
	owner, err := Open(attr, -1, cpu, nil, 0)
	if err != nil {
		return fmt.Errorf("perf: ring for cpu %d: %w", cpu, err)
	}
	r.owners = append(r.owners, owner)
	pageSize := os.Getpagesize()
	prot := unix.PROT_READ | unix.PROT_WRITE
	if opts.Overwrite {
		// A read-only mapping is how perf_mmap learns to overwrite.
		prot = unix.PROT_READ
	}
	length := (1 + pages) * pageSize
	m, err := unix.Mmap(owner.fd, 0, length, prot, unix.MAP_SHARED)
	if err != nil {
		hint := ""
		switch err {
		case unix.EPERM:
			hint = fmt.Sprintf("over the locked-memory limit: perf_event_mlock_kb and RLIMIT_MEMLOCK bound rings without CAP_IPC_LOCK; try a smaller RingSize than %d bytes", pages*pageSize)
		case unix.ENOMEM:
			hint = fmt.Sprintf("the kernel could not allocate %d pages; try a smaller RingSize", pages)
		case unix.EINVAL:
			hint = "the ring must be 1+2^n pages"
		}
		return &EventError{Op: "mmap", Event: fmt.Sprintf("ring of 1+%d pages of %d bytes on cpu %d", pages, pageSize, cpu), Err: err, Hint: hint}
	}
	r.maps = append(r.maps, m)
	meta := (*unix.PerfEventMmapPage)(unsafe.Pointer(&m[0]))
	rg, err := newRing(cpu, meta, m[pageSize:])
	if err != nil {
		return err
	}
	if !opts.Overwrite {
		ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(owner.fd)}
		if err := unix.EpollCtl(r.epfd, unix.EPOLL_CTL_ADD, owner.fd, &ev); err != nil {
			return fmt.Errorf("perf: epoll_ctl ring of cpu %d: %w", cpu, err)
		}
	}
	r.rings = append(r.rings, rg)
	r.byCPU[cpu] = rg
	return nil
}

// CPUs returns the CPUs that have a ring.
func (r *Reader) CPUs() []int {
	cpus := make([]int, len(r.rings))
	for i, rg := range r.rings {
		cpus[i] = rg.cpu
	}
	return cpus
}

// RingSize returns the data area of each ring in bytes, after rounding.
func (r *Reader) RingSize() int {
	if len(r.rings) == 0 {
		return 0
	}
	return len(r.rings[0].data)
}

// Add sends the records of events to the ring of their CPU. Each must be
// bound to a CPU that has a ring, and must write in the direction of the
// rings (backward exactly when the Reader overwrites).
func (r *Reader) Add(events ...*Event) error {
	if r.closed.Load() {
		return ErrClosed
	}
	for _, ev := range events {
		if r.ordered {
			l, err := timeLayoutOf(&ev.attr)
			if err != nil {
				return err
			}
			if r.layout.set && l != r.layout {
				return fmt.Errorf("perf: add %v to an ordered reader: sample_type %v puts the time at byte %d of a sample and %d bytes from the end of other records, the events added before at %d and %d",
					&ev.attr, ev.attr.SampleType(), l.sample, l.fromEnd, r.layout.sample, r.layout.fromEnd)
			}
			r.layout = l
		}
		cpu := ev.CPU()
		if cpu < 0 || cpu >= len(r.byCPU) || r.byCPU[cpu] == nil {
			return fmt.Errorf("perf: add %v: cpu %d has no ring (the reader has CPUs %v; events must be opened per CPU)", &ev.attr, cpu, r.CPUs())
		}
		if ev.attr.WriteBackward() != r.overwrite {
			return fmt.Errorf("perf: add %v: write_backward is %v but the reader's overwrite mode is %v; the kernel only joins rings written in the same direction",
				&ev.attr, ev.attr.WriteBackward(), r.overwrite)
		}
		owner := r.owners[r.ringIndex(cpu)]
		if err := ev.SetOutput(owner); err != nil {
			return err
		}
	}
	return nil
}

func (r *Reader) ringIndex(cpu int) int {
	for i, rg := range r.rings {
		if rg.cpu == cpu {
			return i
		}
	}
	return -1
}

// Lost returns, indexed by CPU number, how many records the kernel reported
// lost in the PERF_RECORD_LOST and PERF_RECORD_LOST_SAMPLES records read so
// far. The kernel writes such a record at the next write after the ring had
// room again, so a loss is reported late but never missed while events fire.
func (r *Reader) Lost() []uint64 {
	out := make([]uint64, len(r.lost))
	for i := range r.lost {
		out[i] = r.lost[i].Load()
	}
	return out
}

// SetDeadline makes Read return os.ErrDeadlineExceeded once t has passed
// with nothing to read. The zero time means no deadline.
func (r *Reader) SetDeadline(t time.Time) {
	if t.IsZero() {
		r.deadline.Store(0)
	} else {
		r.deadline.Store(max(t.UnixNano(), 1))
	}
	r.wake()
}

// Flush makes Read return what is in the rings without waiting, and then
// ErrFlushed once, when they are empty.
func (r *Reader) Flush() {
	r.flush.Store(true)
	r.wake()
}

func (r *Reader) wake() {
	r.wakeMu.RLock()
	defer r.wakeMu.RUnlock()
	if r.wakefd < 0 {
		return
	}
	var one = [8]byte{1}
	unix.Write(r.wakefd, one[:]) // EAGAIN means a wakeup is pending anyway
}

// Read returns the next record from any CPU's ring, waiting for one until
// ctx is done or the deadline passes. The record's Data is valid until the
// next call on the Reader. PERF_RECORD_LOST records are returned too, with
// their count in Record.Lost, after being added to Lost().
func (r *Reader) Read(ctx context.Context) (Record, error) {
	var one [1]Record
	recs, err := r.ReadBatch(ctx, one[:0])
	if err != nil {
		return Record{}, err
	}
	return recs[0], nil
}

// ReadBatch appends to recs the records that are ready in one ring, up to
// cap(recs) (at least one), waiting as Read does until there is one, and
// returns them; their Data are views valid until the next Read,
// ReadBatch or Close. It takes the reader's lock once for them all, where
// Read takes it per record. An ordered Reader returns one record.
//
// On an error, recs holds what was read before it.
func (r *Reader) ReadBatch(ctx context.Context, recs []Record) ([]Record, error) {
	max := max(cap(recs), 1)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.overwrite {
		return recs, errors.New("perf: Read on an overwriting reader; use Snapshot")
	}
	for {
		if r.closed.Load() {
			return recs, ErrClosed
		}
		// The flag is read before the rings, so that ErrFlushed comes only
		// after a poll that began after Flush and found nothing.
		flushing := r.flush.Load()
		rec, ok, err := r.poll()
		if err != nil {
			return recs, err
		}
		if ok {
			recs = append(recs, rec)
			if r.ordered {
				return recs, nil
			}
			// The rest of this ring's batch: poll commits a ring only
			// when it moves on to the next, which would free these.
			rg := r.rings[r.cur]
			for len(recs) < max {
				h, body, ok, err := rg.next()
				if err != nil || !ok {
					return recs, err
				}
				rec := Record{CPU: rg.cpu, Type: h.Type, Misc: h.Misc, Data: body}
				if err := r.countLost(&rec); err != nil {
					return recs, err
				}
				recs = append(recs, rec)
			}
			return recs, nil
		}
		if flushing && r.flush.CompareAndSwap(true, false) {
			return recs, ErrFlushed
		}
		if err := r.wait(ctx); err != nil {
			return recs, err
		}
	}
}

// ReadInto is Read, copying the record's body into buf (growing it when it
// is too small) so that it outlives the next call. Record.Data is buf's
// reused storage.
func (r *Reader) ReadInto(ctx context.Context, buf []byte) (Record, error) {
	rec, err := r.Read(ctx)
	if err != nil {
		return rec, err
	}
	rec.Data = append(buf[:0], rec.Data...)
	return rec, nil
}

// poll returns the next record of the current ring's batch. When the batch
// is used up it commits it and moves to the next ring, so that a busy CPU
// cannot starve the others; it returns ok false only after every ring was
// found empty, with all of them committed. An ordered Reader takes the
// oldest record of all the rings instead (pollOrdered).
func (r *Reader) poll() (Record, bool, error) {
	if r.ordered {
		return r.pollOrdered()
	}
	n := len(r.rings)
	for i := 0; i <= n; i++ {
		rg := r.rings[r.cur]
		h, body, ok, err := rg.next()
		if err != nil {
			return Record{}, false, err
		}
		if ok {
			rec := Record{CPU: rg.cpu, Type: h.Type, Misc: h.Misc, Data: body}
			if err := r.countLost(&rec); err != nil {
				return Record{}, false, err
			}
			return rec, true, nil
		}
		rg.commit()
		r.cur++
		if r.cur == n {
			r.cur = 0
		}
		r.rings[r.cur].refill()
	}
	return Record{}, false, nil
}

// countLost sets rec.Lost of a PERF_RECORD_LOST or _LOST_SAMPLES and adds
// it to Lost().
func (r *Reader) countLost(rec *Record) error {
	if rec.Type != PERF_RECORD_LOST && rec.Type != PERF_RECORD_LOST_SAMPLES {
		return nil
	}
	lost, err := lostCount(rec.Type, rec.Data)
	if err != nil {
		return err
	}
	rec.Lost = lost
	r.lost[rec.CPU].Add(lost)
	return nil
}

// wait blocks in epoll_wait until a ring has data, a wakeup, the deadline
// or ctx.
func (r *Reader) wait(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	timeout := -1
	if dl := r.deadline.Load(); dl != 0 {
		d := time.Until(time.Unix(0, dl))
		if d <= 0 {
			return os.ErrDeadlineExceeded
		}
		timeout = ceilMillis(d)
	}
	if dl, ok := ctx.Deadline(); ok {
		d := time.Until(dl)
		if d <= 0 {
			return context.DeadlineExceeded
		}
		if ms := ceilMillis(d); timeout < 0 || ms < timeout {
			timeout = ms
		}
	}
	var stop func() bool
	if ctx.Done() != nil {
		stop = context.AfterFunc(ctx, r.wake)
	}
	n, err := unix.EpollWait(r.epfd, r.epEvents, timeout)
	if stop != nil {
		stop()
	}
	if err != nil && err != unix.EINTR {
		return fmt.Errorf("perf: epoll_wait: %w", err)
	}
	for i := 0; i < n; i++ {
		if int(r.epEvents[i].Fd) == r.wakefd {
			var b [8]byte
			unix.Read(r.wakefd, b[:])
		}
	}
	return ctx.Err()
}

func ceilMillis(d time.Duration) int {
	ms := (d + time.Millisecond - 1) / time.Millisecond
	if ms > 1<<30 {
		ms = 1 << 30
	}
	return int(ms)
}

// Snapshot reads an overwriting reader's rings: it pauses every ring
// (PERF_EVENT_IOC_PAUSE_OUTPUT, so nothing is overwritten while we read),
// calls fn for each record of each CPU from the newest to the oldest, and
// resumes them. Records are not consumed: the next Snapshot sees them again
// unless they were overwritten. Records that fire while paused are lost.
func (r *Reader) Snapshot(fn func(Record) error) (err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.overwrite {
		return errors.New("perf: Snapshot needs a reader made with Overwrite")
	}
	if r.closed.Load() {
		return ErrClosed
	}
	for i := range r.owners {
		if err := r.owners[i].PauseOutput(true); err != nil {
			for _, o := range r.owners[:i] {
				o.PauseOutput(false)
			}
			return err
		}
	}
	defer func() {
		for _, o := range r.owners {
			if e := o.PauseOutput(false); e != nil && err == nil {
				err = e
			}
		}
	}()
	for _, rg := range r.rings {
		err := rg.walkBackward(func(h EventHeader, body []byte) error {
			return fn(Record{CPU: rg.cpu, Type: h.Type, Misc: h.Misc, Data: body})
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// Close unmaps the rings and closes the Reader's own fds. It wakes a Read
// blocked in another goroutine, which returns ErrClosed. The events added to
// the Reader stay open; close them too.
func (r *Reader) Close() error {
	if r.closed.Swap(true) {
		return nil
	}
	r.wake()
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.release()
}

func (r *Reader) release() error {
	var first error
	keep := func(err error) {
		if err != nil && first == nil {
			first = err
		}
	}
	for _, m := range r.maps {
		keep(unix.Munmap(m))
	}
	r.maps = nil
	r.rings = nil
	keep(CloseAll(r.owners))
	r.owners = nil
	if r.epfd >= 0 {
		keep(unix.Close(r.epfd))
		r.epfd = -1
	}
	r.wakeMu.Lock()
	if r.wakefd >= 0 {
		keep(unix.Close(r.wakefd))
		r.wakefd = -1
	}
	r.wakeMu.Unlock()
	return first
}
