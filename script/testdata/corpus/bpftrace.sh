#!/bin/sh
# Records which corpus scripts bpftrace compiles on this host: for each
# script, "PATH<TAB>ok" or "PATH<TAB>fail". PATH is relative to
# script/testdata. --emit-elf is bpftrace 0.17's compile-only run: it
# parses, checks and builds the programs, and loads and attaches nothing.
# --unsafe, as a user runs the scripts that call system() or signal(),
# for both tools (TestCorpus gives tracelet Unsafe). Run as root from
# script/testdata; the result is the bpftrace column of
# corpus/accepted.tsv (go test -run TestCorpus -update keeps it).
set -u
elf=$(mktemp)
trap 'rm -f "$elf"' EXIT
find corpus bpftrace-tools -name '*.bt' | LC_ALL=C sort | while read -r f; do
	if timeout 120 bpftrace --unsafe --emit-elf "$elf" "$f" >/dev/null 2>&1; then
		printf '%s\tok\n' "$f"
	else
		printf '%s\tfail\n' "$f"
	fi
done
