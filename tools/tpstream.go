package tools

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/tracelet/tracelet/perf"
	"github.com/tracelet/tracelet/tracefs"
)

// tpEvent is one tracefs event that the tracefs backend reads through perf.
type tpEvent struct {
	system, event string
	filter        string // ftrace filter, "" for none
}

// tpStream reads tracefs events (tracepoints or our probes) from one perf
// ring per CPU and decodes them with their format files: the backend for
// kernels without BPF. Filters run in the kernel (PERF_EVENT_IOC_SET_FILTER).
type tpStream struct {
	r    *perf.Reader
	ids  map[uint64]int // perf event id -> index in the events given
	decs []*tracefs.Decoder
	s    perf.Sample
	rec  tracefs.Record
	self uint32 // our pid
}

func (s *session) openTracepoints(evs []tpEvent) (*tpStream, error) {
	r, err := perf.NewReader(perf.ReaderOptions{})
	if err != nil {
		return nil, err
	}
	s.onClose(r.Close)
	st := &tpStream{r: r, ids: map[uint64]int{}, self: uint32(os.Getpid())}
	for i, e := range evs {
		f, err := s.format(e.system, e.event)
		if err != nil {
			return nil, err
		}
		d, err := f.Decoder()
		if err != nil {
			return nil, err
		}
		st.decs = append(st.decs, d)
		attr, err := perf.Tracepoint(uint64(f.ID), 0)
		if err != nil {
			return nil, err
		}
		pes, err := perf.OpenCPUs(attr, -1, r.CPUs(), 0)
		if err != nil {
			return nil, err
		}
		s.onDetach(func() error { return perf.CloseAll(pes) })
		for _, pe := range pes {
			if e.filter != "" {
				if err := pe.SetFilter(e.filter); err != nil {
					return nil, err
				}
			}
			id, err := pe.ID()
			if err != nil {
				return nil, err
			}
			st.ids[id] = i
		}
		if err := r.Add(pes...); err != nil {
			return nil, err
		}
		for _, pe := range pes {
			if err := pe.Enable(); err != nil {
				return nil, err
			}
		}
	}
	return st, nil
}

// loop calls fn with the index of the event, the sample and the decoded
// record, until ctx ends.
func (st *tpStream) loop(ctx context.Context, fn func(int, *perf.Sample, *tracefs.Record) error) error {
	for {
		rec, err := st.r.Read(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, perf.ErrClosed) {
				return nil
			}
			return err
		}
		if rec.Type != perf.PERF_RECORD_SAMPLE {
			continue
		}
		if err := perf.ParseSample(rec.Data, perf.DefaultSampleType, &st.s); err != nil {
			return err
		}
		i, ok := st.ids[st.s.Identifier]
		if !ok {
			continue
		}
		// Our own events are dropped before anything is done with them:
		// handling one reads /proc, and those reads are opens and
		// syscalls that the same events see again, a loop that feeds
		// itself until the rings overflow (and starves a small guest).
		if st.s.Pid == st.self {
			continue
		}
		if err := st.decs[i].Decode(st.s.Raw, &st.rec); err != nil {
			return err
		}
		if err := fn(i, &st.s, &st.rec); err != nil {
			return err
		}
	}
}

// field returns a decoded field by name.
func (st *tpStream) field(i int, rec *tracefs.Record, name string) tracefs.Value {
	for j, f := range st.decs[i].Format().Fields {
		if f.Name == name {
			return rec.Values[j]
		}
	}
	return tracefs.Value{}
}

func intOf(v tracefs.Value) int64 {
	if v.Kind == tracefs.KindInt {
		return v.Int
	}
	return int64(v.Uint)
}

// procComm reads a task's comm, for the tracefs backend whose samples
// carry none.
func procComm(pid, tid uint32) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/comm", pid, tid))
	if err != nil {
		b, err = os.ReadFile("/proc/" + strconv.Itoa(int(pid)) + "/comm")
		if err != nil {
			return "?"
		}
	}
	return strings.TrimSpace(string(b))
}

// eventTime is the wall time of a tracefs record: when it was read, a few
// milliseconds at most after the kernel wrote it. The sample's own time is
// perf_clock (sched_clock), which is not CLOCK_MONOTONIC (a second apart
// on the arm64 guest), and the rings that the Reader shares through
// PERF_EVENT_IOC_SET_OUTPUT must all use the same clock, so use_clockid is
// not an option for our events alone.
func eventTime(*perf.Sample) time.Time { return time.Now() }
