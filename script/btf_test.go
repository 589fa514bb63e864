package script

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/tracelet/tracelet/btf"
)

// fixtureBTFFile is the kernel BTF recorded from Linux 6.18 (x86_64), which
// the btf package tests too: struct offsets in these tests are that
// kernel's.
var fixtureBTFFile = filepath.Join("..", "btf", "testdata", "vmlinux-6.18.44-fc-v1300.btf.gz")

var fixtureBTFOnce = sync.OnceValues(func() (*btf.Spec, error) {
	f, err := os.Open(fixtureBTFFile)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if _, err := io.Copy(&b, z); err != nil {
		return nil, err
	}
	return btf.LoadBytes(b.Bytes())
})

func fixtureBTF(t testing.TB) *btf.Spec {
	t.Helper()
	spec, err := fixtureBTFOnce()
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

func enumConstants(spec *btf.Spec) func(string) (uint64, bool) {
	return func(name string) (uint64, bool) {
		c, err := spec.EnumConstant(name)
		return c.Value, err == nil
	}
}
