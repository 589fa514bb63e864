// Package guest holds the VM suite's own smoke tests. They run inside every
// guest (internal/vmtest/packages.txt) and prove that the guest kernel's
// kprobes really work before any tracelet package is judged there: a probe
// on the syscall wrapper reads the user's path through the saved pt_regs,
// kprobe_profile counts hits, removing an enabled event fails with EBUSY,
// maxactive and SYM%return kretprobes are accepted, error_log points its
// caret at the offending token, and the kprobe_event= boot parameter
// created, enabled and hit its events before /init ran.
//
// On the development host, which has no kprobes, every test skips with
// testenv.RequireKprobes; inside the VM suite nothing skips.
//
//	go run ./internal/vmtest/cmd/vmrun -kernel 6.1-amd64
package guest
