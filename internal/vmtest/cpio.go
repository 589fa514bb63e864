package vmtest

import (
	"fmt"
	"io"
	"strings"
)

// cpioWriter writes the "newc" cpio format, the only one the kernel's
// initramfs unpacker accepts (init/initramfs.c; the format is described in
// Documentation/driver-api/early-userspace/buffer-format.rst). Every member
// is a 110-byte ASCII header of 13 eight-digit hex fields, its NUL-terminated
// name, padding to 4 bytes, the data, and padding to 4 bytes again. Writing
// it here saves depending on the cpio tool and on the host's file modes.
type cpioWriter struct {
	w   io.Writer
	ino uint32
	err error
}

const (
	cpioMagic   = "070701"
	cpioTrailer = "TRAILER!!!"
	sIFDIR      = 0o040000
	sIFREG      = 0o100000
	sIFLNK      = 0o120000
	sIFCHR      = 0o020000
)

func newCpioWriter(w io.Writer) *cpioWriter { return &cpioWriter{w: w} }

// Dir adds a directory. The kernel does not create parents, so a directory
// must come before anything inside it.
func (c *cpioWriter) Dir(name string, perm uint32) error {
	return c.entry(name, sIFDIR|perm, 2, 0, nil)
}

// File adds a regular file of size bytes read from r.
func (c *cpioWriter) File(name string, perm uint32, size int64, r io.Reader) error {
	return c.entry(name, sIFREG|perm, 1, size, r)
}

// Symlink adds a symbolic link; its data is the target.
func (c *cpioWriter) Symlink(name, target string) error {
	return c.entry(name, sIFLNK|0o777, 1, int64(len(target)), strings.NewReader(target))
}

// CharDev adds a character device node. The kernel opens /dev/console for
// init's stdin, stdout and stderr before /init runs, so the image carries it.
func (c *cpioWriter) CharDev(name string, perm, major, minor uint32) error {
	return c.entryDev(name, sIFCHR|perm, major, minor)
}

// Close writes the trailer; it does not close the underlying writer.
func (c *cpioWriter) Close() error {
	return c.entry(cpioTrailer, 0, 1, 0, nil)
}

func (c *cpioWriter) entryDev(name string, mode, major, minor uint32) error {
	return c.write(name, mode, 1, 0, nil, major, minor)
}

func (c *cpioWriter) entry(name string, mode, nlink uint32, size int64, r io.Reader) error {
	return c.write(name, mode, nlink, size, r, 0, 0)
}

func (c *cpioWriter) write(name string, mode, nlink uint32, size int64, r io.Reader, rmajor, rminor uint32) error {
	if c.err != nil {
		return c.err
	}
	name = strings.TrimPrefix(name, "/")
	if name == "" || strings.ContainsRune(name, 0) {
		return fmt.Errorf("cpio: bad member name %q", name)
	}
	if size > 0xffffffff {
		return fmt.Errorf("cpio: %s is %d bytes, newc holds at most 4 GiB", name, size)
	}
	c.ino++
	ino := c.ino
	if name == cpioTrailer {
		ino = 0
	}
	// ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor,
	// rdevmajor, rdevminor, namesize (with the NUL), check. Owner root and
	// mtime 0 keep images reproducible.
	hdr := fmt.Sprintf("%s%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x",
		cpioMagic, ino, mode, 0, 0, nlink, 0, size, 0, 0, rmajor, rminor, len(name)+1, 0)
	buf := make([]byte, 0, len(hdr)+len(name)+4)
	buf = append(buf, hdr...)
	buf = append(buf, name...)
	buf = append(buf, 0)
	buf = append(buf, make([]byte, pad4(len(buf)))...)
	if _, c.err = c.w.Write(buf); c.err != nil {
		return c.err
	}
	if size > 0 {
		var n int64
		n, c.err = io.CopyN(c.w, r, size)
		if c.err != nil {
			c.err = fmt.Errorf("cpio: %s: wrote %d of %d bytes: %w", name, n, size, c.err)
			return c.err
		}
		_, c.err = c.w.Write(make([]byte, pad4(int(size%4))))
	}
	return c.err
}

func pad4(n int) int { return (4 - n%4) % 4 }
