# VM suite: Debian's kernels in QEMU, running the packages listed in
# internal/vmtest/packages.txt. Included from the Makefile.
#
#   make vmtest                      make release, then all kernels (6.1-amd64, 6.12-amd64, 6.1-arm64,
#                                    6.1-i386),
#                                    2 guests at a time, each running its release binary as /bin/tracelet
#   make vmtest KERNEL=6.1-amd64     one kernel (or a comma-separated list)
#   make vmtest KERNEL=6.1-amd64 VMPKG=./perf VMRUN=TestKprobe
#                                    narrow: only these packages (comma-separated
#                                    ./dir or import paths, listed in packages.txt or
#                                    not) and only the tests matching VMRUN (a go test
#                                    -run regexp that replaces the package's -run/-skip)
#   make vmtest-fetch                install QEMU, download kernels and busybox into .cache/vmtest
#   make vmtest-fixtures             record testdata/kernels/<uname -r>/ from every kernel
#
# Each guest's console streams to the terminal prefixed with its kernel, and
# is kept in .cache/vmtest/logs/<kernel>-<pid>.log; the summary at the end has
# one row per test and one column per kernel.
#
# TRACELET_VM_ACCEL=auto|tcg|kvm picks the accelerator (default auto: KVM when
# /dev/kvm really runs a guest, else TCG).
#
# COMPAT386_IN_GUEST=1 also builds the GOARCH=386 tests of COMPAT_PKGS
# (compat.mk: the packages make compat386 runs on the host) and runs them in
# the amd64 guests after the native packages, as "<pkg>@386" rows of the
# summary: a 32-bit tracer on a 64-bit kernel. Set it where the host cannot
# exec i386 binaries (IA-32 emulation off: execve gives ENOEXEC), so that
# the 32-bit proof moves into the guests instead of disappearing; the host
# probe below sets it, and it can be forced for a try:
#   make vmtest KERNEL=6.1-amd64 COMPAT386_IN_GUEST=1

GO ?= go
KERNEL ?= all
VMPKG ?=
VMRUN ?=
# Set from the host probe (scripts/can-exec-386 exits 1 when the kernel
# refuses to exec an i386 binary), unless given on the command line.
COMPAT386_IN_GUEST ?= $(shell GO=$(GO) scripts/can-exec-386 >/dev/null 2>&1; [ $$? -eq 1 ] && echo 1)
VMTEST_COMPAT = $(if $(filter 1,$(COMPAT386_IN_GUEST)),$(foreach p,$(COMPAT_PKGS),./$(p)))
VMTEST_CMD = CGO_ENABLED=0 $(GO) run ./internal/vmtest/cmd/vmrun -kernel '$(KERNEL)' -pkg '$(VMPKG)' -run '$(VMRUN)' -compat386 '$(VMTEST_COMPAT)'

.PHONY: vmtest vmtest-fetch vmtest-fixtures

# The guests run the release binaries (make release: stripped, size budget
# checked), so the arm64 guest's apply, status, collect and revert are the
# arm64 release binary's, as a device would run them.
vmtest: release
	TRACELET_VM_DIST=$(CURDIR)/$(DIST) $(VMTEST_CMD)

vmtest-fetch:
	$(VMTEST_CMD) -fetch

vmtest-fixtures:
	$(VMTEST_CMD) -fixtures
