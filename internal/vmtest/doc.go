// Package vmtest boots Debian's own kernels in QEMU and runs tracelet's
// kprobe, uprobe and tracing tests inside them, because the development host
// has no kprobes and users run many kernels and architectures.
//
// The harness fetches everything with Debian's tools: the newest
// linux-image-<series>*-cloud-<arch> and busybox-static packages are resolved
// at run time through a private apt state directory per architecture (the
// machine's own apt lists are never touched), and qemu-system-x86 /
// qemu-system-arm are installed with apt-get when missing. It cross-builds the
// test binaries listed in packages.txt (one line per package), packs them with
// busybox, internal/testprog and the repository's testdata into a gzip'd newc
// initramfs, boots it, and reads the verdict back from the serial console.
//
// The guest's /init prints one block per package and a final line:
//
//	=== TRACELET-VM-BEGIN pkg=kprobeevents
//	... go test -test.v output ...
//	=== TRACELET-VM-RESULT pkg=kprobeevents status=0
//	=== TRACELET-VM-DONE rc=0
//
// The host fails a kernel on a panic or oops, a package without a result, a
// non-zero status, a missing DONE line, or a time-out. A kernel that does not
// boot is a failure, never a skip.
//
// Most callers use the command (make vmtest wraps it):
//
//	go run ./internal/vmtest/cmd/vmrun -kernel 6.1-amd64
//
// or the library:
//
//	reports, err := vmtest.Run(ctx, vmtest.Options{Repo: ".", Kernels: []string{"6.1-amd64"}, Out: os.Stdout})
//	vmtest.WriteSummary(os.Stdout, reports)
package vmtest
