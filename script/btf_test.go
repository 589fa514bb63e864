package script

import (
	"testing"

	"github.com/tracelet/tracelet/btf"
	"github.com/tracelet/tracelet/internal/testenv"
)

// fixtureBTF is the kernel BTF recorded from Linux 6.18 (x86_64): struct
// offsets in these tests are that kernel's.
func fixtureBTF(t testing.TB) *btf.Spec { return testenv.BTFFixture(t) }

func enumConstants(spec *btf.Spec) func(string) (uint64, bool) {
	return func(name string) (uint64, bool) {
		c, err := spec.EnumConstant(name)
		return c.Value, err == nil
	}
}
