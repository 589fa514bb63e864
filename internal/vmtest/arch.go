package vmtest

import (
	"debug/elf"
	"fmt"
	"sort"
	"strings"
)

// archSpec is how one Debian architecture is built for and booted. Debian's
// amd64 and i386 vmlinuz is a bzImage that -kernel takes as it is; arm64's
// and riscv64's may be a gzip'd Image, which QEMU's virt machine does not
// unpack, so the fetcher stores it uncompressed; armhf's is a zImage, which
// carries its own decompressor; mipsel's malta kernel is an ELF vmlinux.
type archSpec struct {
	// The Go side: a Debian architecture is not a GOARCH (i386 is 386,
	// armhf is arm with GOARM=7, mipsel is mipsle with GOMIPS=softfloat,
	// as the release builds them).
	goarch  string   // GOARCH of the guest's binaries
	goenv   []string // GOARM=, GOMIPS=: what make release sets for the target
	release string   // dist/tracelet-linux-<release> (release.mk's target name)
	elf     elf.Machine

	qemu    string   // emulator binary
	pkg     string   // Debian package that provides it
	machine []string // machine, CPU and firmware arguments
	console string   // serial console device as the kernel names it
	// bootArgs are more kernel parameters the guest needs.
	bootArgs []string
	kvmOK    bool   // KVM can run this guest on an amd64 host
	triplet  string // Debian multiarch directory of its libraries
	loader   string // the dynamic loader's file name in that directory
	// suite is the Debian release the architecture's packages come from
	// when it is not the host's: riscv64 is an official architecture only
	// from trixie on (bookworm's riscv64 lived in debian-ports).
	suite string
	// singleTCG runs all of a guest's vCPUs on one host thread under TCG.
	// x86 needs it: with multi-threaded TCG, the kernel's live code
	// patching (text_poke_bp: an int3, an IPI, then the new bytes, as when
	// a static key flips for a tracepoint) races with a vCPU still running
	// the old translation. Under host load 6.12 died at boot with "Oops:
	// int3" in sched_clock_idle_wakeup_event, and 6.1 soft-locked both
	// vCPUs while tests enabled tracepoints. arm64 needs it too: it
	// patches kprobes under stop_machine, but flips static keys with
	// aarch64_insn_patch_text_nosync and an IPI, and with a thread per
	// vCPU one tracepoint enable in about fifteen left the old branch
	// running: every sys_enter event of that round was lost, of every
	// thread, while sys_exit and kprobes saw each call (the guest test
	// TestSyscallTracepointEveryRound, tracefs alone). With one thread no
	// round missed.
	singleTCG bool
	// memory replaces Options.Memory where the machine caps RAM lower.
	memory string
	// cpus replaces Options.CPUs where the kernel is uniprocessor.
	cpus int
}

var archs = map[string]archSpec{
	"amd64": {
		goarch: "amd64", release: "amd64", elf: elf.EM_X86_64,
		qemu:      "qemu-system-x86_64",
		pkg:       "qemu-system-x86",
		machine:   []string{"-M", "pc"},
		console:   "ttyS0",
		kvmOK:     true,
		triplet:   "x86_64-linux-gnu",
		loader:    "ld-linux-x86-64.so.2",
		singleTCG: true,
	},
	"arm64": {
		goarch: "arm64", release: "arm64", elf: elf.EM_AARCH64,
		qemu:      "qemu-system-aarch64",
		singleTCG: true, // static keys flip without stop_machine, as on x86
		pkg:       "qemu-system-arm",
		// cortex-a57 would do for the 6.1 kernel, but max gives the kernel
		// every feature QEMU emulates (PAC, BTI, LSE), closer to real servers.
		machine: []string{"-M", "virt", "-cpu", "max"},
		console: "ttyAMA0",
		triplet: "aarch64-linux-gnu",
		loader:  "ld-linux-aarch64.so.1",
	},
	"i386": {
		goarch: "386", release: "386", elf: elf.EM_386,
		qemu: "qemu-system-i386",
		pkg:  "qemu-system-x86",
		// The 686-pae kernel needs PAE and NX, which the default qemu32
		// model lacks (NX); max has both.
		machine:   []string{"-M", "pc", "-cpu", "max"},
		console:   "ttyS0",
		triplet:   "i386-linux-gnu",
		loader:    "ld-linux.so.2",
		singleTCG: true, // the x86 live-patching race, as for amd64
	},
	"armhf": {
		goarch: "arm", goenv: []string{"GOARM=7"}, release: "armv7", elf: elf.EM_ARM,
		qemu: "qemu-system-arm",
		pkg:  "qemu-system-arm",
		// The armmp kernel has no LPAE: highmem=off keeps the virt
		// machine's devices below 4 GiB, where it can reach them.
		machine: []string{"-M", "virt,highmem=off", "-cpu", "cortex-a15"},
		console: "ttyAMA0",
		triplet: "arm-linux-gnueabihf",
		loader:  "ld-linux-armhf.so.3",
	},
	"riscv64": {
		goarch: "riscv64", release: "riscv64", elf: elf.EM_RISCV,
		qemu: "qemu-system-riscv64",
		pkg:  "qemu-system-misc",
		// -bios default is QEMU's OpenSBI (qemu-system-data ships
		// opensbi-riscv64-generic-fw_dynamic.bin), which jumps to -kernel.
		machine: []string{"-M", "virt", "-bios", "default"},
		console: "ttyS0",
		triplet: "riscv64-linux-gnu",
		loader:  "ld-linux-riscv64-lp64d.so.1",
		suite:   "trixie",
		// One vCPU. riscv64 flips static keys with patch_text_nosync and
		// a remote fence.i, no stop_machine: with a TCG thread per vCPU,
		// TestSyscallTracepointEveryRound lost every sys_enter event of
		// rounds 72, 75 and 76 of 100 (sys_exit saw each call), as arm64
		// did; and with both vCPUs on one TCG thread the guest stopped
		// making progress in trace's TestCLIOverflowSummary (a uprobe
		// flood into a one-page ring) until the idle limit.
		cpus: 1,
	},
	"mipsel": {
		goarch: "mipsle", goenv: []string{"GOMIPS=softfloat"}, release: "mipsle", elf: elf.EM_MIPS,
		qemu:    "qemu-system-mipsel",
		pkg:     "qemu-system-mips",
		machine: []string{"-M", "malta"},
		console: "ttyS0",
		triplet: "mipsel-linux-gnu",
		loader:  "ld.so.1",
		// The 4kc-malta kernel has no HIGHMEM: it uses the 256 MiB below
		// the malta's I/O hole and no more, initramfs included.
		memory: "256M",
		cpus:   1, // the 4kc flavour is built without SMP
		// Without root= the kernel unpacks the initramfs into a tmpfs
		// capped at half the RAM (init_rootfs), and mipsel's image
		// outgrew that ("Initramfs unpacking failed: write error"); with
		// it, rootfs is a ramfs, and /init still runs from it.
		bootArgs: []string{"root=/dev/ram0"},
	},
}

func archOf(arch string) (archSpec, error) {
	a, ok := archs[arch]
	if !ok {
		var have []string
		for n := range archs {
			have = append(have, n)
		}
		sort.Strings(have)
		return archSpec{}, fmt.Errorf("no QEMU setup for architecture %q (have %s)", arch, strings.Join(have, ", "))
	}
	return a, nil
}

// goEnv is the environment that builds a guest binary: static, linux, the
// architecture's GOARCH and its GOARM/GOMIPS.
func (a archSpec) goEnv() []string {
	return append([]string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=" + a.goarch}, a.goenv...)
}
