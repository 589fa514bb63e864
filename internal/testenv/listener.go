package testenv

import (
	"net"
	"testing"
)

// LoopbackPort listens on a free TCP port of 127.0.0.1, accepts and closes
// every connection until the test ends, and returns the port: a known
// destination for connect(2) workloads.
func LoopbackPort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}
