package record

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/tracelet/tracelet/tracefs"
)

// Sink takes whole records (lines); *Writer is one.
type Sink interface {
	Write(rec []byte) (int, error)
	Flush() error
}

// RecorderOptions configure a Recorder.
type RecorderOptions struct {
	Format Format
	// Poll is how often the rings are read (0: 200ms). The kernel's
	// per-CPU rings absorb bursts in between.
	Poll time.Duration
	// FlushEvery bounds how long a record may wait in the Sink's buffer
	// (0: 1s): with the chunk size, what a power cut can lose.
	FlushEvery time.Duration
}

// A Recorder records a plan's events into a Sink: the plan is applied
// under owner names (Plan.Owned: group tracelet_<pid>, instance
// tracelet_<pid>_rec) so that nothing survives the process, and the
// instance's binary rings are drained, decoded and printed.
type Recorder struct {
	fs      *tracefs.FS
	plan    *tracefs.Plan
	rings   *Rings
	sink    Sink
	opts    RecorderOptions
	printer *Printer
	line    []byte
}

// NewRecorder applies the plan under this process's owner names and opens
// the instance's rings. What dead tracelet processes left behind is the
// caller's to sweep first (tracefs.FS.Sweep; `tracelet record` does).
func NewRecorder(fs *tracefs.FS, plan *tracefs.Plan, sink Sink, opts RecorderOptions) (_ *Recorder, err error) {
	if opts.Poll <= 0 {
		opts.Poll = 200 * time.Millisecond
	}
	if opts.FlushEvery <= 0 {
		opts.FlushEvery = time.Second
	}
	owned := plan.Owned(os.Getpid(), "rec")
	r := &Recorder{fs: fs, plan: owned, sink: sink, opts: opts, printer: NewPrinter(opts.Format)}
	if _, err := fs.Apply(owned); err != nil {
		_, _ = fs.Revert(owned)
		return nil, err
	}
	defer func() {
		if err != nil {
			_, _ = fs.Revert(owned)
		}
	}()
	in, err := fs.OpenInstance(owned.Instance)
	if err != nil {
		return nil, err
	}
	events := NewEvents(fs)
	for _, e := range owned.Events {
		if _, err := events.Add(e.System, e.Event); err != nil {
			return nil, err
		}
	}
	if r.rings, err = OpenRings(in, events, NewComms(fs.Root())); err != nil {
		return nil, err
	}
	return r, nil
}

// Plan is the plan as applied, under owner names.
func (r *Recorder) Plan() *tracefs.Plan { return r.plan }

// Stats returns what the rings delivered so far.
func (r *Recorder) Stats() Stats { return r.rings.Stats() }

// Run records until ctx is done, then drains the rings once more and
// flushes. It returns nil on a clean stop, or the Sink's error (ErrFull
// when a file reached its size and no rotation is allowed).
func (r *Recorder) Run(ctx context.Context) error {
	tick := time.NewTicker(r.opts.Poll)
	defer tick.Stop()
	lastFlush := time.Now()
	for {
		stop := false
		select {
		case <-ctx.Done():
			stop = true
		case <-tick.C:
		}
		if err := r.drain(); err != nil {
			r.sink.Flush()
			return err
		}
		if stop || time.Since(lastFlush) >= r.opts.FlushEvery {
			if err := r.sink.Flush(); err != nil {
				return err
			}
			lastFlush = time.Now()
		}
		if stop {
			return nil
		}
	}
}

func (r *Recorder) drain() error {
	return r.rings.Drain(func(ev *Event) error {
		r.line = r.printer.Append(r.line[:0], ev)
		_, err := r.sink.Write(r.line)
		return err
	})
}

// Close closes the rings and removes the instance and the probes.
func (r *Recorder) Close() error {
	var errs []error
	if r.rings != nil {
		errs = append(errs, r.rings.Close())
		r.rings = nil
	}
	if r.plan != nil {
		if _, err := r.fs.Revert(r.plan); err != nil {
			errs = append(errs, fmt.Errorf("record: cleanup: %w", err))
		}
		r.plan = nil
	}
	return errors.Join(errs...)
}
