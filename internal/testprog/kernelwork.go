package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"time"
)

// directRead makes n O_DIRECT reads of 4 KiB from the block device dev,
// one request each, issued by this process (biosnoop.bt, biolatency.bt).
func directRead(dev string, n int) error {
	fd, err := syscall.Open(dev, syscall.O_RDONLY|syscall.O_DIRECT, 0)
	if err != nil {
		return err
	}
	defer syscall.Close(fd)
	// O_DIRECT wants an aligned buffer: an mmap is page-aligned.
	buf, err := syscall.Mmap(-1, 0, 4096, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		return err
	}
	defer syscall.Munmap(buf)
	for i := 0; i < n; i++ {
		if _, err := syscall.Pread(fd, buf, int64(i)*4096); err != nil {
			return err
		}
	}
	return nil
}

// unixEcho writes msg into one end of a stream socketpair and reads it from
// the other (undump.bt).
func unixEcho(msg string) error {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		return err
	}
	defer syscall.Close(fds[0])
	defer syscall.Close(fds[1])
	if _, err := syscall.Write(fds[0], []byte(msg)); err != nil {
		return err
	}
	buf := make([]byte, len(msg))
	_, err = syscall.Read(fds[1], buf)
	return err
}

// synRetrans makes the kernel retransmit a SYN (tcpretrans.bt): a listener
// on 127.0.0.1:port with a backlog of 0 takes one connection, which it
// never accepts, and then drops the next connection's SYN, since its accept
// queue is full. The client retransmits that SYN after the initial RTO of
// one second; wait is how long to stay for it.
func synRetrans(port int, wait time.Duration) error {
	ln, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		return err
	}
	defer syscall.Close(ln)
	syscall.SetsockoptInt(ln, syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1)
	addr := &syscall.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}
	if err := syscall.Bind(ln, addr); err != nil {
		return err
	}
	if err := syscall.Listen(ln, 0); err != nil {
		return err
	}
	first, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		return err
	}
	defer syscall.Close(first)
	if err := syscall.Connect(first, addr); err != nil {
		return err
	}
	second, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK, 0)
	if err != nil {
		return err
	}
	defer syscall.Close(second)
	if err := syscall.Connect(second, addr); err != nil && err != syscall.EINPROGRESS {
		return err
	}
	time.Sleep(wait)
	return nil
}

// readFor reads one byte of path every 10 ms for ms milliseconds (vfsstat.bt,
// whose counts are printed once a second).
func readFor(path string, ms int) error {
	fd, err := syscall.Open(path, syscall.O_RDONLY, 0)
	if err != nil {
		return err
	}
	defer syscall.Close(fd)
	buf := make([]byte, 1)
	for end := time.Now().Add(time.Duration(ms) * time.Millisecond); time.Now().Before(end); {
		if _, err := syscall.Pread(fd, buf, 0); err != nil {
			return err
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}

// oomIn moves this process into the cgroup v2 directory dir and touches mb
// MiB, one page at a time, keeping all of it: past the cgroup's
// memory.max the OOM killer kills it (oomkill.bt). It returns only if
// nothing did.
func oomIn(dir string, mb int) error {
	keep, err := touchIn(dir, mb)
	if err != nil {
		return err
	}
	runtime.KeepAlive(keep)
	return fmt.Errorf("%d MiB touched in %s, and no OOM kill", mb, dir)
}

// swapIn moves this process into the cgroup v2 directory dir, whose
// memory.max is below mb MiB and whose swap is not limited, touches mb MiB
// and then reads every page again: the pages reclaim sent to swap are read
// back in (swapin.bt).
func swapIn(dir string, mb int) error {
	keep, err := touchIn(dir, mb)
	if err != nil {
		return err
	}
	sum := 0
	for _, b := range keep {
		for j := 0; j < len(b); j += 4096 {
			sum += int(b[j])
		}
	}
	if want := mb << 20 / 4096; sum != want {
		return fmt.Errorf("read back %d pages of 1, want %d", sum, want)
	}
	return nil
}

// touchIn moves this process into the cgroup v2 directory dir, and writes
// a byte of every page of mb MiB, which it returns.
func touchIn(dir string, mb int) ([][]byte, error) {
	if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte("0"), 0); err != nil {
		return nil, err
	}
	var keep [][]byte
	for i := 0; i < mb; i++ {
		b := make([]byte, 1<<20)
		for j := 0; j < len(b); j += 4096 {
			b[j] = 1
		}
		keep = append(keep, b)
	}
	return keep, nil
}
