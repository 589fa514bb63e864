package vmtest

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"

	"github.com/tracelet/tracelet/internal/testenv"
)

// A guest whose kernel builds the NVMe driver in (Debian's cloud kernels;
// their loop and ramdisk drivers are modules, which the guest does not
// have) gets an empty scratch disk: an NVMe namespace whose controller's
// serial is testenv.ScratchSerial, for tests that need block I/O of their own
// (the block tools), or swap (swapin.bt's workload swaps out some 20 MiB).
// Its backing file, sparse, is made for the boot and removed after it.
const scratchSize = 64 << 20

// hasBuiltin reports whether the kernel config file sets option=y.
func hasBuiltin(config, option string) bool {
	f, err := os.Open(config)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == option+"=y" {
			return true
		}
	}
	return false
}

// newScratch makes the scratch disk's backing file in dir when the kernel
// can use it, and returns its path ("" when not) and its removal.
func newScratch(a *Assets, dir string) (string, func(), error) {
	if !hasBuiltin(a.Config, "CONFIG_BLK_DEV_NVME") {
		return "", func() {}, nil
	}
	f, err := os.CreateTemp(dir, "scratch-*.img")
	if err != nil {
		return "", nil, err
	}
	path := f.Name()
	err = f.Truncate(scratchSize)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return "", nil, err
	}
	return filepath.Clean(path), func() { os.Remove(path) }, nil
}

// scratchArgs attaches the scratch disk as an NVMe controller's namespace.
func scratchArgs(path string) []string {
	if path == "" {
		return nil
	}
	return []string{
		"-drive", "file=" + path + ",if=none,format=raw,id=scratch,cache=unsafe",
		"-device", "nvme,serial=" + testenv.ScratchSerial + ",drive=scratch",
	}
}
