// Package perf opens perf events with perf_event_open(2) and reads their
// records from mmapped per-CPU rings.
//
// It is thin over golang.org/x/sys/unix: an Attr is the kernel's
// perf_event_attr, records and sample fields carry their uapi names
// (PERF_RECORD_SAMPLE, PERF_SAMPLE_RAW), and every ioctl is one method on
// Event (Enable, EnableGroup, SetFilter, SetBPF, SetOutput, PauseOutput).
//
// Events come from tracefs (Tracepoint, by the id in events/SYS/EVENT/id) or
// from the kprobe and uprobe PMUs (Kprobe, Uprobe). They are opened per
// CPU (OpenCPUs), per process including threads created later
// (OpenProcess), or per cgroup (OpenCgroup).
//
// A Reader owns one ring per CPU and waits on all of them with one epoll.
// Read hands out records without copying them, commits the ring's tail
// once per batch, counts PERF_RECORD_LOST per CPU, and never panics on a
// corrupt ring. With ReaderOptions.Ordered it merges the rings by time, as
// perf script does, so that a side-band record (PERF_RECORD_COMM, _FORK,
// _MMAP2) comes before the samples of its task on other CPUs. With
// ReaderOptions.Overwrite the rings become a flight recorder read newest
// first by Snapshot.
//
//	attr, _ := perf.Tracepoint(id, 0) // id from events/syscalls/sys_enter_openat/id
//	r, _ := perf.NewReader(perf.ReaderOptions{})
//	defer r.Close()
//	evs, _ := perf.OpenCPUs(attr, -1, r.CPUs(), 0)
//	defer perf.CloseAll(evs)
//	r.Add(evs...)
//	for _, e := range evs {
//		e.Enable()
//	}
//	var s perf.Sample
//	for {
//		rec, err := r.Read(ctx)
//		if err != nil {
//			break
//		}
//		if rec.Type == perf.PERF_RECORD_SAMPLE && perf.ParseSample(rec.Data, attr.SampleType(), &s) == nil {
//			fmt.Println(s.Tid, s.Time, len(s.Raw))
//		}
//	}
package perf
