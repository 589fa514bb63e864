package perf

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"

	"golang.org/x/sys/unix"
)

// OpenCPUs opens attr once per CPU in cpus (OnlineCPUs when nil) for task
// pid (-1: every task). On error it closes what it opened.
func OpenCPUs(attr *Attr, pid int, cpus []int, flags int) ([]*Event, error) {
	cpus, err := cpusOrOnline(cpus)
	if err != nil {
		return nil, err
	}
	events := make([]*Event, 0, len(cpus))
	for _, cpu := range cpus {
		e, err := Open(attr, pid, cpu, nil, flags)
		if err != nil {
			CloseAll(events)
			return nil, err
		}
		events = append(events, e)
	}
	return events, nil
}

func cpusOrOnline(cpus []int) ([]int, error) {
	if cpus != nil {
		return cpus, nil
	}
	return OnlineCPUs()
}

// maxThreadScans bounds OpenProcess's rescans of /proc/PID/task, for a
// process that creates threads faster than we can open events on them.
const maxThreadScans = 16

// OpenProcess opens attr on every thread of process pid, on every CPU in
// cpus (OnlineCPUs when nil), with inherit set, and returns the events.
//
// perf_event_open's pid is really a thread id, and an inherited event
// follows only the threads and processes that its own thread creates
// afterwards. So an event on the main thread alone misses threads that
// other threads spawn later (Go's runtime, for one, starts threads from
// whichever thread needs them). Opening on each existing thread, with
// inherit, covers every thread the process will ever have. Threads that
// appear while we open are caught by rescanning until a scan finds none new.
//
// The kernel refuses to mmap an inherited event that is not bound to a CPU
// (perf_mmap: "inherited per-task counters" share one ring), which is why
// these events are per CPU; a Reader collects them per CPU with
// PERF_EVENT_IOC_SET_OUTPUT.
func OpenProcess(attr *Attr, pid int, cpus []int) ([]*Event, error) {
	if pid <= 0 {
		return nil, fmt.Errorf("perf: OpenProcess: pid %d: want a process id > 0", pid)
	}
	cpus, err := cpusOrOnline(cpus)
	if err != nil {
		return nil, err
	}
	a := *attr
	a.SetInherit(true)
	var events []*Event
	done := map[int]bool{}
	for scan := 0; ; scan++ {
		tids, err := Threads(pid)
		if err != nil {
			CloseAll(events)
			return nil, err
		}
		fresh := 0
		for _, tid := range tids {
			if done[tid] {
				continue
			}
			done[tid] = true
			fresh++
			evs, err := OpenCPUs(&a, tid, cpus, 0)
			if errors.Is(err, unix.ESRCH) {
				continue // the thread exited between the scan and the open
			}
			if err != nil {
				CloseAll(events)
				return nil, err
			}
			events = append(events, evs...)
		}
		if fresh == 0 {
			break
		}
		if scan == maxThreadScans {
			CloseAll(events)
			return nil, fmt.Errorf("perf: process %d kept creating threads through %d scans of /proc/%d/task", pid, maxThreadScans, pid)
		}
	}
	if len(events) == 0 {
		return nil, &EventError{Op: "perf_event_open", Event: fmt.Sprintf("%v (process %d)", attr, pid), Err: unix.ESRCH, Hint: "the process has exited"}
	}
	return events, nil
}

// Threads lists the thread ids of process pid from /proc/PID/task, sorted.
func Threads(pid int) ([]int, error) {
	dir := "/proc/" + strconv.Itoa(pid) + "/task"
	ents, err := os.ReadDir(dir)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, &EventError{Op: "list threads", Event: dir, Err: unix.ESRCH, Hint: fmt.Sprintf("no process %d", pid)}
		}
		return nil, err
	}
	tids := make([]int, 0, len(ents))
	for _, e := range ents {
		if tid, err := strconv.Atoi(e.Name()); err == nil {
			tids = append(tids, tid)
		}
	}
	sort.Ints(tids)
	return tids, nil
}

// OpenCgroup opens attr on every CPU in cpus (OnlineCPUs when nil) for the
// tasks of the cgroup whose directory (in the cgroup v2 or perf_event v1
// hierarchy) is dir, with PERF_FLAG_PID_CGROUP. The kernel only supports
// cgroup events bound to a CPU.
func OpenCgroup(attr *Attr, dir string, cpus []int) ([]*Event, error) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open cgroup", Path: dir, Err: err}
	}
	defer unix.Close(fd) // each event holds its own reference to the cgroup
	evs, err := OpenCPUs(attr, fd, cpus, unix.PERF_FLAG_PID_CGROUP)
	if err != nil {
		return nil, fmt.Errorf("cgroup %s: %w", dir, err)
	}
	return evs, nil
}
