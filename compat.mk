# The 32-bit build on this 64-bit kernel (compat mode). Included from the Makefile.
#
#   make compat386   builds the GOARCH=386 test binaries of the packages that
#                    talk to the kernel and runs them, as root, on the host
#
# A 386 binary on an x86_64 kernel is the i386 release on a PC: its perf
# mmaps, bpf(2) attributes and 64-bit record fields go through the 32-bit
# code paths, while kprobes and uprobes see the kernel's x86_64 pt_regs. The
# workloads the tests trace (internal/testprog) stay 64-bit: only the
# tracer is 32-bit. One package at a time, as in make unit, which runs this
# after the native suite: it takes about 2 min (scriptrun's side-by-side
# tests with bpftrace are most of it).
#
# Not every x86_64 kernel executes i386 binaries: CONFIG_IA32_EMULATION may
# be off, or disabled at boot (ia32_emulation=off, 6.7+), and then execve
# returns ENOEXEC. scripts/can-exec-386 finds out by running a tiny static
# 386 program; where the kernel refuses it, compat386 says so in one line and
# exits 0, and make vmtest runs the same test binaries in its x86_64 guests,
# whose Debian kernels have IA-32 emulation on (COMPAT386_IN_GUEST).

COMPAT_PKGS ?= asm btf kprobeevents bpf perf tracefs record script scriptrun
COMPAT_DIR  ?= $(or $(TMPDIR),/tmp)/tracelet-compat386

.PHONY: compat386
compat386:
	@case "$$(uname -m)" in x86_64|i?86) ;; *) echo "compat386: skipped on the host, a $$(uname -m) kernel runs no i386 binaries; make vmtest runs the same 386 test binaries in its x86_64 guests"; exit 0;; esac; \
	mkdir -p $(COMPAT_DIR); \
	why=$$(COMPAT_DIR=$(COMPAT_DIR) GO=$(GO) scripts/can-exec-386); rc=$$?; \
	case $$rc in \
	0) echo "compat386: this $$(uname -m) kernel executes i386 binaries: running the 386 test binaries here";; \
	1) echo "compat386: skipped on the host, $$why; make vmtest runs the same 386 test binaries in its x86_64 guests"; exit 0;; \
	*) exit 1;; \
	esac; \
	set -e; for p in $(COMPAT_PKGS); do \
	  env GOARCH=386 $(GO) test -c -o $(COMPAT_DIR)/$$p.test ./$$p; \
	done; \
	for p in $(COMPAT_PKGS); do \
	  start=$$(date +%s); \
	  (cd $$p && $(COMPAT_DIR)/$$p.test -test.count=1 -test.timeout 5m -test.v) >$(COMPAT_DIR)/$$p.out 2>&1 || \
	    { cat $(COMPAT_DIR)/$$p.out; echo "compat386: $$p FAILED (386 on $$(uname -m))" >&2; exit 1; }; \
	  echo "compat386: ok $$p ($$(( $$(date +%s) - start ))s, $$(grep -c -- "--- SKIP" $(COMPAT_DIR)/$$p.out || true) skipped: $(COMPAT_DIR)/$$p.out)"; \
	done
