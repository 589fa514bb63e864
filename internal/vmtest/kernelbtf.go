package vmtest

import (
	"bytes"
	"compress/gzip"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
)

// ImageBTF returns the BTF that a kernel image carries (CONFIG_DEBUG_INFO_BTF),
// for compiling boot-time probes against a guest's own types on the host:
// the .BTF section of the vmlinux ELF inside an x86 bzImage, or the raw
// blob found by its header inside an uncompressed arm64 Image (vmtest
// stores arm64's Image unpacked). A bzImage payload is decompressed here
// when it is gzip or LZ4 (Debian's 6.1 cloud kernel is LZ4), and through
// the host's xz or zstd command when it is one of those and the command
// is installed; otherwise the error names what is missing.
func ImageBTF(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) > 0x250 && string(b[0x202:0x206]) == "HdrS" {
		if b, err = bzPayload(b); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	if bytes.HasPrefix(b, []byte(elf.ELFMAG)) {
		f, err := elf.NewFile(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		s := f.Section(".BTF")
		if s == nil {
			return nil, fmt.Errorf("%s: its vmlinux has no .BTF section (CONFIG_DEBUG_INFO_BTF is off)", path)
		}
		return s.Data()
	}
	if blob := findBTF(b); blob != nil {
		return blob, nil
	}
	return nil, fmt.Errorf("%s: no BTF found in the kernel image", path)
}

// bzPayload decompresses the protected-mode kernel of a bzImage (boot
// protocol 2.08+: payload_offset and payload_length in the setup header).
func bzPayload(b []byte) ([]byte, error) {
	setup := int(b[0x1f1])
	if setup == 0 {
		setup = 4
	}
	off := (setup+1)*512 + int(binary.LittleEndian.Uint32(b[0x248:]))
	n := int(binary.LittleEndian.Uint32(b[0x24c:]))
	if off < 0 || n <= 0 || off+n > len(b) {
		return nil, fmt.Errorf("bzImage payload at %d+%d is outside the %d-byte file", off, n, len(b))
	}
	p := b[off : off+n]
	switch {
	case bytes.HasPrefix(p, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(bytes.NewReader(p))
		if err != nil {
			return nil, err
		}
		return io.ReadAll(zr)
	case bytes.HasPrefix(p, []byte{0x02, 0x21, 0x4c, 0x18}):
		return lz4Legacy(p[4:])
	case bytes.HasPrefix(p, []byte{0xfd, '7', 'z', 'X', 'Z', 0}):
		return decompressWith("xz", p)
	case bytes.HasPrefix(p, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return decompressWith("zstd", p)
	}
	return nil, fmt.Errorf("the payload's compression (magic % x) is unknown", p[:min(len(p), 6)])
}

// lz4Legacy decodes LZ4's legacy frame (what the kernel's lz4 -l makes):
// after the magic, blocks of a little-endian compressed size and an LZ4
// block of at most 8 MiB; the frame ends at the data's end or at a size
// that cannot be a block (the kernel appends its decompressed size).
func lz4Legacy(b []byte) ([]byte, error) {
	const maxBlock = 8 << 20
	var out []byte
	for len(b) >= 4 {
		n := int(binary.LittleEndian.Uint32(b))
		if n == 0x184c2102 { // a concatenated frame
			b = b[4:]
			continue
		}
		if n <= 0 || n > len(b)-4 || n > lz4Bound(maxBlock) {
			break
		}
		var err error
		if out, err = lz4Block(out, b[4:4+n], maxBlock); err != nil {
			return nil, err
		}
		b = b[4+n:]
	}
	if len(out) == 0 {
		return nil, errors.New("lz4: no block")
	}
	return out, nil
}

// decompressWith runs the host's decompressor on p. The kernel appends its
// decompressed size to the payload, which both tools take for trailing
// garbage: xz is told to read one stream, and zstd's output is kept even
// when it complains after the frame.
func decompressWith(tool string, p []byte) ([]byte, error) {
	if _, err := exec.LookPath(tool); err != nil {
		return nil, fmt.Errorf("the payload is %s-compressed and this host has no %s command to decompress it", tool, tool)
	}
	args := []string{"-dc"}
	if tool == "xz" {
		args = append(args, "--single-stream")
	}
	cmd := exec.Command(tool, args...)
	cmd.Stdin = bytes.NewReader(p)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil && !bytes.HasPrefix(out.Bytes(), []byte(elf.ELFMAG)) {
		return nil, fmt.Errorf("%s -dc: %v: %s", tool, err, bytes.TrimSpace(errb.Bytes()))
	}
	return out.Bytes(), nil
}

func lz4Bound(n int) int { return n + n/255 + 16 }

// lz4Block appends one decoded LZ4 block (at most limit bytes) to dst.
func lz4Block(dst, src []byte, limit int) ([]byte, error) {
	start := len(dst)
	corrupt := errors.New("lz4: corrupt block")
	length := func(i *int, n int) (int, bool) {
		if n != 15 {
			return n, true
		}
		for *i < len(src) {
			c := src[*i]
			*i++
			n += int(c)
			if c != 255 {
				return n, true
			}
		}
		return 0, false
	}
	for i := 0; i < len(src); {
		tok := src[i]
		i++
		lit, ok := length(&i, int(tok>>4))
		if !ok || lit > len(src)-i || len(dst)-start+lit > limit {
			return nil, corrupt
		}
		dst = append(dst, src[i:i+lit]...)
		i += lit
		if i == len(src) { // the last sequence has literals only
			break
		}
		if i+2 > len(src) {
			return nil, corrupt
		}
		off := int(binary.LittleEndian.Uint16(src[i:]))
		i += 2
		m, ok := length(&i, int(tok&15))
		m += 4
		if !ok || off == 0 || off > len(dst)-start || len(dst)-start+m > limit {
			return nil, corrupt
		}
		from := len(dst) - off
		for k := 0; k < m; k++ { // overlapping copies repeat a pattern
			dst = append(dst, dst[from+k])
		}
	}
	return dst, nil
}

// findBTF finds the BTF blob in an uncompressed kernel image: the header
// (magic 0xeb9f, version 1, a 24-byte header) whose type and string
// sections fit the image.
func findBTF(b []byte) []byte {
	magic := []byte{0x9f, 0xeb, 1, 0}
	for i := 0; ; {
		j := bytes.Index(b[i:], magic)
		if j < 0 {
			return nil
		}
		i += j
		if i+24 <= len(b) && binary.LittleEndian.Uint32(b[i+4:]) == 24 {
			le := binary.LittleEndian
			typeOff, typeLen := le.Uint32(b[i+8:]), le.Uint32(b[i+12:])
			strOff, strLen := le.Uint32(b[i+16:]), le.Uint32(b[i+20:])
			end := uint64(24) + uint64(strOff) + uint64(strLen)
			if typeOff == 0 && typeLen > 0 && strOff >= typeLen && strLen > 0 && uint64(i)+end <= uint64(len(b)) {
				return b[i : i+int(end)]
			}
		}
		i++
	}
}
