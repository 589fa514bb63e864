package bpf

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Ring buffer record header bits (include/uapi/linux/bpf.h).
const (
	ringbufBusyBit    = 1 << 31 // BPF_RINGBUF_BUSY_BIT: reserved, not yet submitted
	ringbufDiscardBit = 1 << 30 // BPF_RINGBUF_DISCARD_BIT: discarded, skip
	ringbufHdrSize    = 8       // BPF_RINGBUF_HDR_SZ
)

// ErrClosed is returned by a reader that was closed.
var ErrClosed = errors.New("reader closed")

// RingBufReader consumes a BPF_MAP_TYPE_RINGBUF map (5.8+).
//
// The kernel exposes the ring as two mappings: a consumer page that user
// space writes, and a read-only producer page followed by the data pages
// mapped twice in a row, so that a record that wraps around the end is
// still one contiguous slice. Records are returned as views into that
// mapping, without copying.
type RingBufReader struct {
	m    *Map
	cons []byte // consumer page (rw)
	prod []byte // producer page + 2 × data (ro)
	data []byte
	mask uint64
	// word32 is set where the kernel's unsigned long is 4 bytes: its
	// consumer_pos and producer_pos are that wide, and since the fix for
	// CVE-2024-41009 (backported to 6.1) pending_pos follows producer_pos
	// at once, so an 8-byte read there takes it as the high half.
	word32   bool
	epfd     int
	evfd     int // wakes a blocked Read when its context ends or on Close
	pending  uint64
	havePend bool
	// stored is the consumer position last stored; the space of records
	// read is given back once per every bytes (a sixteenth of the ring, at
	// most 64 KiB), and whenever the ring is found empty.
	stored uint64
	every  uint64
	// batch, when set, holds the last record read while it waits that
	// long for more (SetBatch).
	batch  time.Duration
	timer  *time.Timer
	mu     sync.Mutex
	closed atomic.Bool
	events [2]unix.EpollEvent
}

// NewRingBufReader maps m, a RingBuf map.
func NewRingBufReader(m *Map) (*RingBufReader, error) {
	if m.spec.Type != RingBuf {
		return nil, fmt.Errorf("ring buffer reader: map %s is a %s, not a ringbuf", m.name, m.spec.Type)
	}
	page := os.Getpagesize()
	size := int(m.spec.MaxEntries)
	r := &RingBufReader{m: m, mask: uint64(size - 1), every: uint64(min(size/16, 64<<10)), epfd: -1, evfd: -1, word32: kernelWord() == 4}
	var err error
	if r.cons, err = unix.Mmap(m.fd, 0, page, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED); err != nil {
		return nil, &Error{Op: "mmap consumer page of", Object: "ring buffer " + m.name, Err: err}
	}
	if r.prod, err = unix.Mmap(m.fd, int64(page), page+2*size, unix.PROT_READ, unix.MAP_SHARED); err != nil {
		r.Close()
		return nil, &Error{Op: "mmap producer pages of", Object: "ring buffer " + m.name, Err: err}
	}
	r.data = r.prod[page:]
	r.stored = r.loadCons()
	if r.epfd, err = unix.EpollCreate1(unix.EPOLL_CLOEXEC); err != nil {
		r.Close()
		return nil, &Error{Op: "epoll_create for", Object: "ring buffer " + m.name, Err: err}
	}
	if r.evfd, err = unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK); err != nil {
		r.Close()
		return nil, &Error{Op: "eventfd for", Object: "ring buffer " + m.name, Err: err}
	}
	for _, fd := range []int{m.fd, r.evfd} {
		ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)}
		if err := unix.EpollCtl(r.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
			r.Close()
			return nil, &Error{Op: "epoll_ctl for", Object: "ring buffer " + m.name, Err: err}
		}
	}
	return r, nil
}

// The positions are the kernel's unsigned long: 8 bytes on a 64-bit kernel
// (a 386 reader in compat mode too), 4 on a 32-bit one, where they wrap at
// 2^32; the reader keeps them as uint64 and compares them modulo that.
func (r *RingBufReader) loadCons() uint64 { return r.load(r.cons) }
func (r *RingBufReader) loadProd() uint64 { return r.load(r.prod) }

func (r *RingBufReader) load(page []byte) uint64 {
	if r.word32 {
		return uint64(atomic.LoadUint32((*uint32)(unsafe.Pointer(&page[0]))))
	}
	return atomic.LoadUint64((*uint64)(unsafe.Pointer(&page[0])))
}

func (r *RingBufReader) storeCons(v uint64) {
	if r.word32 {
		atomic.StoreUint32((*uint32)(unsafe.Pointer(&r.cons[0])), uint32(v))
		return
	}
	atomic.StoreUint64((*uint64)(unsafe.Pointer(&r.cons[0])), v)
}

// span is prod - cons modulo the width of the positions.
func (r *RingBufReader) span(prod, cons uint64) uint64 {
	if r.word32 {
		return uint64(uint32(prod - cons))
	}
	return prod - cons
}

// kernelWord is the running kernel's unsigned long in bytes.
func kernelWord() int {
	if a, err := KernelArch(); err == nil {
		return a.Word
	}
	return int(unsafe.Sizeof(uintptr(0)))
}

// next returns the next submitted record at or after the consumer position,
// skipping discarded ones, and where it starts and ends. ok is false when
// none is ready.
func (r *RingBufReader) next() (sample []byte, cons, end uint64, ok bool) {
	return r.nextBefore(r.loadProd())
}

// nextBefore is next, for records the producer had submitted when its
// position was prod: a batch reads the position once.
func (r *RingBufReader) nextBefore(prod uint64) (sample []byte, cons, end uint64, ok bool) {
	cons = r.loadCons()
	if r.havePend {
		// Read but not given back: the records after it are the next.
		cons = r.pending
	}
	for {
		if d := r.span(prod, cons); d == 0 || d > r.mask+1 {
			return nil, cons, cons, false
		}
		off := cons & r.mask
		hdr := atomic.LoadUint32((*uint32)(unsafe.Pointer(&r.data[off])))
		if hdr&ringbufBusyBit != 0 {
			// Reserved but not yet submitted: records are consumed in
			// order, so wait for this one.
			return nil, cons, cons, false
		}
		n := uint64(hdr &^ (ringbufBusyBit | ringbufDiscardBit))
		end = cons + (n+ringbufHdrSize+7)&^7
		if hdr&ringbufDiscardBit != 0 {
			r.storeCons(end)
			r.stored, r.havePend = end, false // released with it
			cons = end
			continue
		}
		start := off + ringbufHdrSize
		return r.data[start : start+n : start+n], cons, end, true
	}
}

// release gives the space of the previously returned record back to the
// producer.
func (r *RingBufReader) release() {
	if r.havePend {
		r.storeCons(r.pending)
		r.stored, r.havePend = r.pending, false
	}
}

// Read returns the next record, waiting until one is submitted, ctx ends
// (ctx.Err()), or the reader is closed (ErrClosed). The slice is a view
// into the ring, valid until the next Read, ReadBatch or Close.
func (r *RingBufReader) Read(ctx context.Context) ([]byte, error) {
	var one [1][]byte
	recs, err := r.ReadBatch(ctx, one[:0])
	if err != nil {
		return nil, err
	}
	return recs[0], nil
}

// ReadBatch appends to recs the records that are ready, up to cap(recs)
// (at least one), waiting as Read does until there is one, and returns
// them: views into the ring, valid until the next Read, ReadBatch or
// Close. It takes the reader's lock once for them all, where Read takes
// it per record.
func (r *RingBufReader) ReadBatch(ctx context.Context, recs [][]byte) ([][]byte, error) {
	max := max(cap(recs), 1)
	r.mu.Lock()
	defer r.mu.Unlock()
	polled := false
	for {
		if r.closed.Load() {
			return recs, ErrClosed
		}
		prod := r.loadProd()
		for len(recs) < max {
			sample, start, end, ok := r.nextBefore(prod)
			if !ok {
				break
			}
			// The records before this one are done with; their space
			// goes back once every bytes are read (one atomic store
			// per 1,024 records of 64 bytes, not per record).
			// Meanwhile the consumer position is behind, so the kernel
			// queues no wake-up per record either.
			if len(recs) == 0 && r.span(start, r.stored) >= r.every {
				r.storeCons(start)
				r.stored = start
			}
			r.pending, r.havePend = end, true
			recs = append(recs, sample)
		}
		if len(recs) > 0 {
			return recs, nil
		}
		if r.batch > 0 && r.havePend && !polled {
			// Still holding the last record: the kernel wakes no one
			// while the consumer is behind, so look again after batch.
			polled = true
			if err := r.sleep(ctx); err != nil {
				return recs, err
			}
			continue
		}
		r.release()
		if err := r.wait(ctx); err != nil {
			return recs, err
		}
	}
}

// SetBatch makes Read, once the ring is empty, wait up to d for more
// records before it blocks, holding the last record it returned meanwhile.
// bpf_ringbuf_output wakes the reader (an irq_work on the producing CPU,
// then a wake-up) whenever it commits a record at the consumer position,
// that is whenever the reader has caught up: a reader that keeps up with a
// busy probe is woken per record, at the probe's expense. A held record
// keeps the consumer position behind, so a busy ring is read every d with
// no wake-up at all, as a perf ring with a watermark is; a quiet one is
// released after d and wakes the reader at its next record. d bounds how
// long a record may wait; 0 (the default) wakes per record.
func (r *RingBufReader) SetBatch(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.batch = max(d, 0)
}

// sleep waits r.batch, or until ctx ends.
func (r *RingBufReader) sleep(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if r.timer == nil {
		r.timer = time.NewTimer(r.batch)
	} else {
		r.timer.Reset(r.batch)
	}
	select {
	case <-ctx.Done():
		r.timer.Stop()
		return ctx.Err()
	case <-r.timer.C:
		return nil
	}
}

// wait blocks in epoll until the kernel signals data, ctx ends or Close.
func (r *RingBufReader) wait(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, r.kick)
	defer stop()
	timeout := -1
	if dl, ok := ctx.Deadline(); ok {
		// The AfterFunc fires at the deadline too; the timeout only
		// bounds a lost wakeup.
		timeout = int(time.Until(dl)/time.Millisecond) + 1
	}
	n, err := unix.EpollWait(r.epfd, r.events[:], timeout)
	if err != nil && err != unix.EINTR {
		return &Error{Op: "epoll_wait on", Object: "ring buffer " + r.m.name, Err: err}
	}
	for i := 0; i < n; i++ {
		if int(r.events[i].Fd) == r.evfd {
			var buf [8]byte
			unix.Read(r.evfd, buf[:])
		}
	}
	if r.closed.Load() {
		return ErrClosed
	}
	return ctx.Err()
}

func (r *RingBufReader) kick() {
	one := [8]byte{1}
	unix.Write(r.evfd, one[:])
}

// Available is the number of bytes the producer has written and the
// consumer not yet released.
func (r *RingBufReader) Available() uint64 {
	return r.span(r.loadProd(), r.loadCons())
}

// Close unmaps the ring; it does not close the map. A Read blocked in
// another goroutine returns ErrClosed.
func (r *RingBufReader) Close() error {
	if r.closed.Swap(true) {
		return nil
	}
	if r.evfd >= 0 {
		r.kick()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cons != nil {
		r.release()
		unix.Munmap(r.cons)
		r.cons = nil
	}
	if r.prod != nil {
		unix.Munmap(r.prod)
		r.prod = nil
	}
	if r.epfd >= 0 {
		unix.Close(r.epfd)
	}
	if r.evfd >= 0 {
		unix.Close(r.evfd)
	}
	return nil
}
