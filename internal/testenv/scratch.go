package testenv

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/tracelet/tracelet/internal/vmtest"
)

// ScratchDisk is the VM guest's scratch disk (vmtest.ScratchSerial), a block
// device whose I/O is the tests' only, as its /dev path and its name in
// /sys/block; or "" where there is none (the host, or a guest whose kernel
// has NVMe as a module). The guests' kernels build the loop driver as a
// module, which the guests do not have.
func ScratchDisk() (path, name string) {
	serials, _ := filepath.Glob("/sys/block/nvme*/device/serial")
	for _, p := range serials {
		b, err := os.ReadFile(p)
		if err != nil || strings.TrimSpace(string(b)) != vmtest.ScratchSerial {
			continue
		}
		name := filepath.Base(filepath.Dir(filepath.Dir(p)))
		return "/dev/" + name, name
	}
	return "", ""
}
