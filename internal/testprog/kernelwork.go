package main

import (
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
