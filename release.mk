# Static release binaries, one per device family. Included from the Makefile.
#
#   make release     dist/tracelet-linux-ARCH for every target, SHA256SUMS,
#                    and a size budget that fails the build
#
# Every binary is CGO_ENABLED=0, -trimpath and stripped (-s -w), so it runs
# on a board with nothing but a kernel: no libc, no loader, no /etc.

DIST          ?= dist
# The size budget per binary, in bytes: 6 MiB. A binary past it fails the
# build; raise it only on purpose, with the reason in the commit.
SIZE_BUDGET   ?= 6291456
GOVERSION     := $(shell $(GO) env GOVERSION 2>/dev/null)
# Build tags of the release binaries: none by default.
RELEASE_TAGS  ?=
# Inlining makes code fast and big. The data path keeps it: the runtime, the
# byte-order reads of every record (encoding/binary), and perf rings, tracefs decoding and
# recording. Everything else (the script compiler, the grammar parser, the
# CLI, text/template, JSON, ELF) runs once per command and is built without
# inlining (-l): 0.7 MB less on mips, where the budget binds.
RELEASE_HOT   ?= runtime internal/runtime/... internal/bytealg sync/... encoding/binary \
	github.com/tracelet/tracelet/perf github.com/tracelet/tracelet/tracefs github.com/tracelet/tracelet/record
RELEASE_GCFLAGS = -gcflags=all=-l $(foreach p,$(RELEASE_HOT),-gcflags=$(p)=)
# The targets named here are built with no inlining at all: mips pads each
# segment to 64 KiB and sat 193 bytes past the budget with the data path
# inlined; without inlining it was 64 KiB under (with urfave/cli; 4.7 MiB
# since internal/cli). The routers that run mips gain more from fitting in
# flash than from an inlined ring reader.
RELEASE_SMALL  ?= mips mipsle

# NAME:GOARCH:extra environment (GOARM, GOMIPS), one per target.
RELEASE_TARGETS := \
	amd64:amd64: \
	386:386: \
	arm64:arm64: \
	armv7:arm:GOARM=7 \
	riscv64:riscv64: \
	mips:mips:GOMIPS=softfloat \
	mipsle:mipsle:GOMIPS=softfloat

.PHONY: release release-build release-sums release-budget

release: release-build release-sums release-budget

release-build:
	@rm -rf $(DIST) && mkdir -p $(DIST)
	@set -e; for t in $(RELEASE_TARGETS); do \
	  name=$${t%%:*}; rest=$${t#*:}; arch=$${rest%%:*}; extra=$${rest#*:}; \
	  gcflags='$(RELEASE_GCFLAGS)'; case " $(RELEASE_SMALL) " in *" $$name "*) gcflags=-gcflags=all=-l;; esac; \
	  echo "release: tracelet-linux-$$name ($(VERSION))"; \
	  env CGO_ENABLED=0 GOOS=linux GOARCH=$$arch $$extra \
	    $(GO) build -trimpath -tags '$(RELEASE_TAGS)' $$gcflags -ldflags '$(LDFLAGS)' -o $(DIST)/tracelet-linux-$$name ./cmd/tracelet; \
	done

release-sums:
	@cd $(DIST) && sha256sum tracelet-linux-* > SHA256SUMS && cat SHA256SUMS

# Fails when any binary is larger than SIZE_BUDGET, and lists every size
# (the table BENCHMARKS.md carries).
release-budget:
	@fail=0; printf '| binary | bytes | MiB | budget %s MiB |\n|---|---|---|---|\n' "$$(awk 'BEGIN{printf "%.1f", $(SIZE_BUDGET)/1048576}')"; \
	for f in $(DIST)/tracelet-linux-*; do \
	  n=$$(stat -c %s $$f); ok=ok; \
	  if [ $$n -gt $(SIZE_BUDGET) ]; then ok="OVER BUDGET"; fail=1; fi; \
	  printf '| %s | %d | %s | %s |\n' $${f##*/} $$n "$$(awk "BEGIN{printf \"%.2f\", $$n/1048576}")" "$$ok"; \
	done; \
	if [ $$fail -ne 0 ]; then echo "release: a binary is over the size budget of $(SIZE_BUDGET) bytes" >&2; exit 1; fi

# VM-suite runs for issue 8 (they call vmrun directly: one guest each).
#   make vmtest-boot      only the boot test of the x86_64 6.1 guest: like every
#                         guest it boots with `tracelet bootargs` of
#                         record/testdata/vmboot.bt, and TestBootArgsCollect
#                         checks the early-boot events
#   make vmtest-release   the arm64 guest runs the arm64 release binary's
#                         apply, status, collect and revert (TestCLIApplyCollect)
VMRUN_CMD = CGO_ENABLED=0 $(GO) run ./internal/vmtest/cmd/vmrun -j 1

.PHONY: vmtest-boot vmtest-release
vmtest-boot:
	$(VMRUN_CMD) -kernel 6.1-amd64 -pkg ./record -run 'TestBootArgsCollect'

vmtest-release: release
	TRACELET_VM_DIST=$(CURDIR)/$(DIST) $(VMRUN_CMD) -kernel 6.1-arm64 -pkg ./record -run 'TestCLIApplyCollect'
