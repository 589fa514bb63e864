package metrics

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// listener is a TCP listening socket made with the system calls
// themselves: package net, with its resolver, would add 300 KB to the mips
// binary, and a scrape target needs none of it. os.File puts the
// non-blocking sockets on the runtime's poller, so deadlines work.
type listener struct {
	f    *os.File
	addr netip.AddrPort
}

// parseListenAddr reads HOST:PORT, where HOST is an IP address,
// "localhost" or empty (every interface). Names are not resolved.
func parseListenAddr(addr string) (netip.AddrPort, error) {
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		return netip.AddrPort{}, fmt.Errorf("metrics: address %q: want HOST:PORT, such as 127.0.0.1:9100", addr)
	}
	host, port := strings.TrimSuffix(strings.TrimPrefix(addr[:i], "["), "]"), addr[i+1:]
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("metrics: address %q: port %q: want a number up to 65535", addr, port)
	}
	var ip netip.Addr
	switch host {
	case "":
		ip = netip.IPv4Unspecified()
	case "localhost":
		ip = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	default:
		if ip, err = netip.ParseAddr(host); err != nil {
			return netip.AddrPort{}, fmt.Errorf("metrics: address %q: host %q: want an IP address, localhost or nothing (every interface)", addr, host)
		}
	}
	return netip.AddrPortFrom(ip.Unmap(), uint16(p)), nil
}

func listenTCP(addr string) (*listener, error) {
	ap, err := parseListenAddr(addr)
	if err != nil {
		return nil, err
	}
	family := unix.AF_INET
	var sa unix.Sockaddr = &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
	if ap.Addr().Is6() {
		family = unix.AF_INET6
		sa = &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("metrics: socket: %w", err)
	}
	unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("metrics: listen on %s: %w", addr, err)
	}
	if err := unix.Listen(fd, 64); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("metrics: listen on %s: %w", addr, err)
	}
	if got, err := unix.Getsockname(fd); err == nil {
		switch s := got.(type) {
		case *unix.SockaddrInet4:
			ap = netip.AddrPortFrom(netip.AddrFrom4(s.Addr), uint16(s.Port))
		case *unix.SockaddrInet6:
			ap = netip.AddrPortFrom(netip.AddrFrom16(s.Addr), uint16(s.Port))
		}
	}
	return &listener{f: os.NewFile(uintptr(fd), "metrics-listener"), addr: ap}, nil
}

// accept waits for a connection; it fails with os.ErrClosed after close.
func (l *listener) accept() (*os.File, error) {
	rc, err := l.f.SyscallConn()
	if err != nil {
		return nil, err
	}
	var nfd int
	var aerr error
	err = rc.Read(func(fd uintptr) bool {
		nfd, _, aerr = unix.Accept4(int(fd), unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
		return !errors.Is(aerr, unix.EAGAIN)
	})
	if err != nil {
		return nil, err
	}
	if aerr != nil {
		return nil, aerr
	}
	return os.NewFile(uintptr(nfd), "metrics-conn"), nil
}

func (l *listener) close() error { return l.f.Close() }
