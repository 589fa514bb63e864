package vmtest

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestLZ4Legacy decodes what the lz4 command's legacy format (-l, the
// kernel's) makes of a text with long repeats and of random bytes.
func TestLZ4Legacy(t *testing.T) {
	if _, err := exec.LookPath("lz4"); err != nil {
		t.Skip("no lz4 command to make the legacy frames this test decodes")
	}
	var in bytes.Buffer
	for i := 0; in.Len() < 9<<20; i++ { // more than one 8 MiB block
		in.WriteString("vfs_open path->dentry->d_name.name ")
		in.WriteByte(byte(i))
		if i%1000 == 0 {
			in.Write(bytes.Repeat([]byte{byte(i >> 3)}, 300))
		}
	}
	cmd := exec.Command("lz4", "-l", "-c")
	cmd.Stdin = bytes.NewReader(in.Bytes())
	z, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(z, []byte{0x02, 0x21, 0x4c, 0x18}) {
		t.Fatalf("lz4 -l wrote magic % x", z[:4])
	}
	// The kernel's payload ends with the decompressed size.
	z = binary.LittleEndian.AppendUint32(z, uint32(in.Len()))
	got, err := lz4Legacy(z[4:])
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, in.Bytes()) {
		t.Fatalf("decoded %d bytes, want the %d of the input", len(got), in.Len())
	}
	if _, err := lz4Legacy(append([]byte{8, 0, 0, 0, 0xf0}, make([]byte, 7)...)); err == nil {
		t.Fatal("a block whose literals run past its end decoded")
	}
}

// btfBlob is a minimal valid BTF: the header, one int type, and strings.
func btfBlob() []byte {
	le := binary.LittleEndian
	types := le.AppendUint32(nil, 1)           // name_off "int"
	types = le.AppendUint32(types, 1<<24)      // BTF_KIND_INT
	types = le.AppendUint32(types, 4)          // size
	types = le.AppendUint32(types, 0x01000020) // signed, 32 bits
	strs := []byte("\x00int\x00")
	b := []byte{0x9f, 0xeb, 1, 0}
	b = le.AppendUint32(b, 24)
	b = le.AppendUint32(b, 0)
	b = le.AppendUint32(b, uint32(len(types)))
	b = le.AppendUint32(b, uint32(len(types)))
	b = le.AppendUint32(b, uint32(len(strs)))
	return append(append(b, types...), strs...)
}

// TestImageBTF finds BTF in an uncompressed image (arm64's Image) and in a
// bzImage's gzip payload holding no ELF, and names what it cannot read.
func TestImageBTF(t *testing.T) {
	dir := t.TempDir()
	blob := btfBlob()
	// A false start: the magic without a header that fits.
	image := append(append(append(bytes.Repeat([]byte{0}, 4096), 0x9f, 0xeb, 1, 0, 99), blob...), bytes.Repeat([]byte{7}, 100)...)
	raw := filepath.Join(dir, "Image")
	os.WriteFile(raw, image, 0o644)
	got, err := ImageBTF(raw)
	if err != nil || !bytes.Equal(got, blob) {
		t.Fatalf("Image: %v, %d bytes, want the %d-byte blob", err, len(got), len(blob))
	}

	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(image)
	zw.Close()
	bz := make([]byte, 5*512)
	copy(bz[0x202:], "HdrS")
	bz[0x1f1] = 4 // setup sectors: the payload starts at 5*512
	binary.LittleEndian.PutUint32(bz[0x248:], 0)
	binary.LittleEndian.PutUint32(bz[0x24c:], uint32(gz.Len()))
	bz = append(bz, gz.Bytes()...)
	path := filepath.Join(dir, "bzImage")
	os.WriteFile(path, bz, 0o644)
	if got, err = ImageBTF(path); err != nil || !bytes.Equal(got, blob) {
		t.Fatalf("bzImage: %v, %d bytes", err, len(got))
	}

	copy(bz[5*512:], []byte{0x13, 0x37, 0, 0})
	os.WriteFile(path, bz, 0o644)
	if _, err := ImageBTF(path); err == nil || !bytes.Contains([]byte(err.Error()), []byte("compression (magic 13 37")) {
		t.Fatalf("unknown compression: %v", err)
	}
}

func FuzzLZ4Block(f *testing.F) {
	f.Add([]byte{0x40, 'a', 'b', 'c', 'd'})
	f.Add([]byte{0x1f, 'a', 1, 0, 255, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := lz4Block(nil, b, 1<<16)
		if err == nil && len(out) > 1<<16 {
			t.Fatalf("%d bytes past the limit", len(out))
		}
	})
}
