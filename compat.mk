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
# after the native suite: it takes about 2 min (script's side-by-side
# tests with bpftrace are most of it).

COMPAT_PKGS ?= asm kprobeevents bpf perf tracefs record script
COMPAT_DIR  ?= $(or $(TMPDIR),/tmp)/tracelet-compat386

.PHONY: compat386
compat386:
	@case "$$(uname -m)" in x86_64|i?86) ;; *) echo "compat386: skipped, a $$(uname -m) kernel runs no i386 binaries"; exit 0;; esac; \
	mkdir -p $(COMPAT_DIR); \
	set -e; for p in $(COMPAT_PKGS); do \
	  env GOARCH=386 $(GO) test -c -o $(COMPAT_DIR)/$$p.test ./$$p; \
	done; \
	for p in $(COMPAT_PKGS); do \
	  start=$$(date +%s); \
	  (cd $$p && $(COMPAT_DIR)/$$p.test -test.count=1 -test.timeout 5m -test.v) >$(COMPAT_DIR)/$$p.out 2>&1 || \
	    { cat $(COMPAT_DIR)/$$p.out; echo "compat386: $$p FAILED (386 on $$(uname -m))" >&2; exit 1; }; \
	  echo "compat386: ok $$p ($$(( $$(date +%s) - start ))s, $$(grep -c -- "--- SKIP" $(COMPAT_DIR)/$$p.out || true) skipped: $(COMPAT_DIR)/$$p.out)"; \
	done
