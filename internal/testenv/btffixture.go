package testenv

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

// BTFFixture is the kernel BTF recorded from Linux 6.18 (x86_64),
// btf/testdata/vmlinux-6.18.44-fc-v1300.btf.gz, loaded once per test
// binary: struct offsets in the tests that use it are that kernel's.
func BTFFixture(t testing.TB) *btf.Spec {
	t.Helper()
	path := filepath.Join(repoRoot(t), "btf", "testdata", "vmlinux-6.18.44-fc-v1300.btf.gz")
	spec, err := btfFixture(path)
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

var btfFixtures sync.Map // path -> func() (*btf.Spec, error)

func btfFixture(path string) (*btf.Spec, error) {
	load, _ := btfFixtures.LoadOrStore(path, sync.OnceValues(func() (*btf.Spec, error) {
		f, err := os.Open(path)
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
	}))
	return load.(func() (*btf.Spec, error))()
}
