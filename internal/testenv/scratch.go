package testenv

import (
	"os"
	"path/filepath"
	"strings"
)

// ScratchSerial is the VM guests' scratch disk's controller serial, as
// /sys/block/nvme*n1/device/serial shows it (padded with spaces). vmtest
// gives the disk this serial; it is here, not there, because vmtest imports
// kprobeevents, whose tests import testenv.
const ScratchSerial = "tracelet-scratch"

// ScratchDisk is the VM guest's scratch disk (ScratchSerial), a block
// device whose I/O is the tests' only, as its /dev path and its name in
// /sys/block; or "" where there is none (the host, or a guest whose kernel
// has NVMe as a module). The guests' kernels build the loop driver as a
// module, which the guests do not have.
func ScratchDisk() (path, name string) {
	serials, _ := filepath.Glob("/sys/block/nvme*/device/serial")
	for _, p := range serials {
		b, err := os.ReadFile(p)
		if err != nil || strings.TrimSpace(string(b)) != ScratchSerial {
			continue
		}
		name := filepath.Base(filepath.Dir(filepath.Dir(p)))
		return "/dev/" + name, name
	}
	return "", ""
}
