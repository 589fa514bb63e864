# Benchmarks behind BENCHMARKS.md. Included from the Makefile.
#
#   make bench                     the side-by-side run (bench/cmd/benchrun): tracelet against
#                                  bpftrace, libbpf-tools and perf-tools, and the kernel's floor;
#                                  prints the table, writes bench/results.json. Root; < 15 min.
#   make bench BENCH_FLAGS='-rounds 7 -only stream'
#   make bench BENCH_FLAGS='-only scripted'   the eight hand-written tools
#                                  beside the same tools as scripts (bench/scripts)
#   make bench-go                  every `go test -bench` of the repo (-count 6) into bench.txt
#
# The anchors are Debian packages, installed here when missing and never
# dependencies of tracelet. The reader micro-benchmark's anchor, cilium/ebpf,
# lives in bench/cilium, a module of its own fetched through the Go module
# proxy: it never enters tracelet's go.mod or binary.

GO          ?= go
BENCH_FLAGS ?=
BENCH_JSON  ?= bench/results.json
BENCH       ?= .
BENCH_PKGS  ?= ./...
BENCH_COUNT ?= 6
BENCH_OUT   ?= bench.txt

.PHONY: bench bench-deps bench-go

# command:package pairs; apt-get only runs for what is missing.
BENCH_TOOLS := bpftrace:bpftrace sigsnoop:libbpf-tools execsnoop:libbpf-tools \
	tpoint-perf:perf-tools-unstable uprobe-perf:perf-tools-unstable bpftool:bpftool

bench-deps:
	@need=; for t in $(BENCH_TOOLS); do command -v $${t%%:*} >/dev/null || case " $$need " in *" $${t#*:} "*) ;; *) need="$$need $${t#*:}";; esac; done; \
	  [ -z "$$need" ] || { echo "bench-deps: installing$$need"; DEBIAN_FRONTEND=noninteractive apt-get install -y $$need >/dev/null 2>&1 || \
	  { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y $$need >/dev/null; }; } || \
	  echo "bench-deps: could not install$$need: those anchors will read 'not available'"

# release-build first: the size scenario measures every dist/ binary.
bench: build release-build bench-deps
	CGO_ENABLED=0 $(GO) run ./bench/cmd/benchrun -tracelet ./tracelet -json $(BENCH_JSON) $(BENCH_FLAGS)

# Packages one at a time (-p 1): the end-to-end benchmarks are CPU-bound on
# a 2-core host, and trace's side-by-side ones run perf-tools, which takes
# the global trace buffer.
bench-go:
	set -o pipefail; CGO_ENABLED=0 $(GO) test -run '^$$' -bench '$(BENCH)' -benchmem \
	  -count $(BENCH_COUNT) -p 1 -timeout 60m $(BENCH_PKGS) | tee $(BENCH_OUT)
