# tracelet: one static binary, no toolchain on the target.
#   make demo    the main job, for real, on this host (root)
#   make test    every test this machine can run: host suite + VM suite
#   make compat386  the 386 test binaries on this 64-bit kernel (part of unit)
SHELL       := /bin/bash
GO          ?= go
export CGO_ENABLED := 0
export GOFLAGS     := -buildvcs=false

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)

PKGS := ./...

.PHONY: all build test unit lint demo bench clean deps

all: build

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o tracelet ./cmd/tracelet

# Test oracles from Debian's packages (never dependencies of the binary),
# and Chromium, the browser the flame graph SVG is tested in.
deps:
	@need=; for t in bpftool:bpftool execsnoop:libbpf-tools bpftrace:bpftrace promtool:prometheus jq:jq chromium:chromium openssl:openssl; do command -v $${t%%:*} >/dev/null || need="$$need $${t#*:}"; done; [ -z "$$need" ] || apt-get install -y $$need >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y $$need >/dev/null; } || echo "deps: could not install$$need"

# The host suite runs as root against the real kernel. Tests that need
# kprobes skip here with a message (the host has none) and run in vmtest.
# One package at a time (-p 1): the packages share one kernel, and some of
# its state is global. A BPF program attached to a tracepoint that returns 0
# drops the event for every perf reader of that tracepoint on that CPU
# (perf_trace_run_bpf_submit), so the tools' opensnoop, or libbpf-tools' in
# the side-by-side tests, would hide openat events from a tracefs-backend
# test running beside them.
unit: build deps
	$(GO) test -p 1 -count=1 -timeout 20m $(PKGS)
	@$(MAKE) --no-print-directory compat386

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

test: lint unit vmtest

# make bench: tracelet side by side with bpftrace, libbpf-tools and perf-tools.
include bench.mk

demo: build
	@./scripts/demo.sh ./tracelet

clean:
	rm -rf tracelet dist bench.txt
	$(GO) clean -testcache

# The VM suite (QEMU guests with Debian's kernels) lives in its own fragment.
-include vmtest.mk
ifeq ($(wildcard vmtest.mk),)
vmtest:
	@echo "vmtest: no VM harness yet"
endif
-include release.mk
-include compat.mk
