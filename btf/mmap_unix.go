//go:build linux || darwin || freebsd || netbsd || openbsd

package btf

import (
	"io"
	"os"
	"syscall"
)

// mapFile maps the file at path read-only and private. The BTF in
// /sys/kernel/btf and on disk does not change under a reader, and mapping
// it spares copying megabytes that a one-liner mostly does not read. Files
// that cannot be mapped (empty, or from a file system that refuses) are
// read instead.
func mapFile(path string) ([]byte, io.Closer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	size := fi.Size()
	if !fi.Mode().IsRegular() || size <= 0 || int64(int(size)) != size {
		return readFile(path)
	}
	b, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_PRIVATE)
	if err != nil {
		return readFile(path)
	}
	return b, mapping(b), nil
}

type mapping []byte

func (m mapping) Close() error { return syscall.Munmap(m) }
