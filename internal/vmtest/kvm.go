package vmtest

import (
	"encoding/binary"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// KVM ioctls (include/uapi/linux/kvm.h, x86).
const (
	kvmGetAPIVersion       = 0xAE00
	kvmCreateVM            = 0xAE01
	kvmGetVCPUMmapSize     = 0xAE04
	kvmCreateVCPU          = 0xAE41
	kvmRun                 = 0xAE80
	kvmSetUserMemoryRegion = 0x4020AE46 // _IOW(KVMIO, 0x46, struct kvm_userspace_memory_region)
	kvmGetRegs             = 0x8090AE81 // _IOR(KVMIO, 0x81, struct kvm_regs)
	kvmSetRegs             = 0x4090AE82
	kvmGetSregs            = 0x8138AE83 // _IOR(KVMIO, 0x83, struct kvm_sregs)
	kvmSetSregs            = 0x4138AE84
	kvmExitHLT             = 5
)

var (
	kvmOnce sync.Once
	kvmOK   bool
)

// kvmWorks reports whether /dev/kvm really runs a guest. Opening it and
// creating a VM is not enough, so the probe runs one instruction: a vCPU in
// real mode executes HLT at 0x1000, which must come back from KVM_RUN as
// KVM_EXIT_HLT within a second. x86_64 only.
//
// Nested KVM is refused outright: the cloud VMs this suite runs on offer a
// /dev/kvm (kvm_pvm, without VMX/SVM) that passes that probe and then
// crashes full Linux guests. A host that is itself a guest sets the CPUID
// hypervisor bit, which /proc/cpuinfo lists as "hypervisor".
// TRACELET_VM_ACCEL=kvm still forces KVM there.
func kvmWorks() bool {
	kvmOnce.Do(func() {
		if underHypervisor() {
			return
		}
		done := make(chan bool, 1)
		go func() { done <- kvmRunHLT() }()
		select {
		case kvmOK = <-done:
		case <-time.After(time.Second):
			// KVM_RUN hung: the thread stays blocked, and KVM is
			// certainly not usable.
		}
	})
	return kvmOK
}

func kvmRunHLT() bool {
	kvm, err := unix.Open("/dev/kvm", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer unix.Close(kvm)
	if v, err := unix.IoctlRetInt(kvm, kvmGetAPIVersion); err != nil || v != 12 {
		return false
	}
	vm, err := unix.IoctlRetInt(kvm, kvmCreateVM)
	if err != nil {
		return false
	}
	defer unix.Close(vm)

	const memSize, codeAt = 0x10000, 0x1000
	mem, err := unix.Mmap(-1, 0, memSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return false
	}
	defer unix.Munmap(mem)
	mem[codeAt] = 0xf4 // hlt
	// struct kvm_userspace_memory_region: slot, flags, guest_phys_addr,
	// memory_size, userspace_addr.
	var region [32]byte
	binary.LittleEndian.PutUint64(region[8:], 0)
	binary.LittleEndian.PutUint64(region[16:], memSize)
	binary.LittleEndian.PutUint64(region[24:], uint64(uintptr(unsafe.Pointer(&mem[0]))))
	if err := ioctlPtr(vm, kvmSetUserMemoryRegion, unsafe.Pointer(&region[0])); err != nil {
		return false
	}
	vcpu, err := unix.IoctlRetInt(vm, kvmCreateVCPU)
	if err != nil {
		return false
	}
	defer unix.Close(vcpu)
	size, err := unix.IoctlRetInt(kvm, kvmGetVCPUMmapSize)
	if err != nil || size < 16 {
		return false
	}
	run, err := unix.Mmap(vcpu, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return false
	}
	defer unix.Munmap(run)

	// struct kvm_sregs starts with cs (struct kvm_segment: base u64,
	// limit u32, selector u16, ...): real mode with CS base 0.
	var sregs [312]byte
	if err := ioctlPtr(vcpu, kvmGetSregs, unsafe.Pointer(&sregs[0])); err != nil {
		return false
	}
	binary.LittleEndian.PutUint64(sregs[0:], 0)
	binary.LittleEndian.PutUint16(sregs[12:], 0)
	if err := ioctlPtr(vcpu, kvmSetSregs, unsafe.Pointer(&sregs[0])); err != nil {
		return false
	}
	// struct kvm_regs: 16 general registers, then rip and rflags (bit 1
	// is always set).
	var regs [144]byte
	binary.LittleEndian.PutUint64(regs[128:], codeAt)
	binary.LittleEndian.PutUint64(regs[136:], 2)
	if err := ioctlPtr(vcpu, kvmSetRegs, unsafe.Pointer(&regs[0])); err != nil {
		return false
	}
	if _, err := unix.IoctlRetInt(vcpu, kvmRun); err != nil {
		return false
	}
	// struct kvm_run: request_interrupt_window u8, immediate_exit u8,
	// padding[6], exit_reason u32.
	if binary.LittleEndian.Uint32(run[8:]) != kvmExitHLT {
		return false
	}
	if err := ioctlPtr(vcpu, kvmGetRegs, unsafe.Pointer(&regs[0])); err != nil {
		return false
	}
	return binary.LittleEndian.Uint64(regs[128:]) == codeAt+1 // past the HLT
}

func ioctlPtr(fd int, req uint, p unsafe.Pointer) error {
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(req), uintptr(p))
	if errno != 0 {
		return errno
	}
	return nil
}

// underHypervisor reports the CPUID hypervisor bit of the host's CPUs.
func underHypervisor() bool {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return true // unknown: do not risk a nested KVM
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "flags" {
			return slices.Contains(strings.Fields(v), "hypervisor")
		}
	}
	return false
}
