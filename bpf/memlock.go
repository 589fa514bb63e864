package bpf

import (
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

var memlock struct {
	once    sync.Once
	charged bool
	err     error
}

// ensureMemlock raises RLIMIT_MEMLOCK, once per process, but only where the
// kernel still charges BPF memory to it. Since 5.11 maps and programs are
// charged to the memory cgroup instead, and raising the limit for nothing
// would only widen what the process may lock.
//
// The probe is direct rather than by version (distributions backport): with
// the limit at zero, a kernel that charges memlock refuses even a tiny map
// with EPERM.
func ensureMemlock() error {
	memlock.once.Do(func() {
		var old unix.Rlimit
		if err := unix.Getrlimit(unix.RLIMIT_MEMLOCK, &old); err != nil {
			memlock.err = err
			return
		}
		if old.Cur == unix.RLIM_INFINITY {
			return
		}
		zero := unix.Rlimit{Cur: 0, Max: old.Max}
		if err := unix.Setrlimit(unix.RLIMIT_MEMLOCK, &zero); err != nil {
			memlock.err = err
			return
		}
		attr := mapCreateAttr{mapType: uint32(Array), keySize: 4, valueSize: 4, maxEntries: 1}
		fd, err := sys(cmdMapCreate, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
		if err == nil {
			unix.Close(fd)
		}
		memlock.charged = errnoOf(err) == unix.EPERM
		if !memlock.charged {
			memlock.err = unix.Setrlimit(unix.RLIMIT_MEMLOCK, &old)
			return
		}
		memlock.err = unix.Setrlimit(unix.RLIMIT_MEMLOCK, &unix.Rlimit{Cur: unix.RLIM_INFINITY, Max: unix.RLIM_INFINITY})
	})
	return memlock.err
}

// MemlockCharged reports whether this kernel charges BPF objects to
// RLIMIT_MEMLOCK (before 5.11), as probed.
func MemlockCharged() bool {
	ensureMemlock()
	return memlock.charged
}
