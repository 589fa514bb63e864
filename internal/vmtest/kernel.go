package vmtest

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Kernel is one guest of the matrix: a Debian kernel series on one
// architecture. Its Name ("<series>-<debian arch>") is what `make vmtest
// KERNEL=…` and vmrun -kernel take.
type Kernel struct {
	Name   string // "6.1-amd64"
	Series string // upstream series as Debian names its packages: "6.1", "6.12"
	Arch   string // Debian architecture, which is also GOARCH: "amd64", "arm64"
}

// kernels is the matrix. Adding a kernel costs one line here, provided Debian
// ships a linux-image-<series>.*-cloud-<arch> package for it.
var kernels = []Kernel{
	{Name: "6.1-amd64", Series: "6.1", Arch: "amd64"},
	{Name: "6.12-amd64", Series: "6.12", Arch: "amd64"},
	{Name: "6.1-arm64", Series: "6.1", Arch: "arm64"},
}

// Kernels returns the matrix in its canonical order.
func Kernels() []Kernel { return append([]Kernel(nil), kernels...) }

// LookupKernels resolves a comma-separated list of kernel names; "" and "all"
// mean the whole matrix.
func LookupKernels(list string) ([]Kernel, error) {
	list = strings.TrimSpace(list)
	if list == "" || list == "all" {
		return Kernels(), nil
	}
	var out []Kernel
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		k, ok := lookupKernel(name)
		if !ok {
			return nil, fmt.Errorf("unknown kernel %q: want one of %s, or all", name, strings.Join(kernelNames(), ", "))
		}
		out = append(out, k)
	}
	return out, nil
}

func lookupKernel(name string) (Kernel, bool) {
	for _, k := range kernels {
		if k.Name == name {
			return k, true
		}
	}
	return Kernel{}, false
}

func kernelNames() []string {
	var n []string
	for _, k := range kernels {
		n = append(n, k.Name)
	}
	sort.Strings(n)
	return n
}

// PackagePattern matches the names of the signed cloud kernel images of the
// series, and nothing else: "linux-image-6.1.0-56-cloud-amd64" and
// "linux-image-6.12.117+deb12-cloud-amd64", but not the meta packages
// ("linux-image-6.12-cloud-amd64"), -dbg or -unsigned, and "6.1" never
// matches a 6.12 package.
func (k Kernel) PackagePattern() *regexp.Regexp {
	return regexp.MustCompile(`^linux-image-` + regexp.QuoteMeta(k.Series) + `\.[-+.0-9a-z]*-cloud-` + regexp.QuoteMeta(k.Arch) + `$`)
}

// packagePrefix is what apt-cache pkgnames gets, to keep the listing short.
func (k Kernel) packagePrefix() string { return "linux-image-" + k.Series + "." }
