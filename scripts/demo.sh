#!/usr/bin/env bash
# make demo: tracelet's main job, for real, on this host. It asks the kernel
# what it offers, defines a uprobe on a freshly built workload, hits it,
# traces it live, and removes everything it made.
set -euo pipefail
T=${1:-./tracelet}
[ "$(id -u)" = 0 ] || { echo "demo: run as root (tracefs and perf_event_open need it)"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/testprog" ./internal/testprog

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

step "$T" doctor
step "$T" list --uprobes "$work/testprog" 'main.cabi*'
step "$T" probe add --dry-run "p:$work/testprog:main.cabiTarget.abi0 a=%di:s64 b=%si:u64 sum_in=%dx"
step "$T" probe add "p:tracelet/demo $work/testprog:main.cabiTarget.abi0 a=%di:s64 b=%si:u64"
"$work/testprog" calls 5 7 11
step "$T" probe list
step "$T" probe del demo
if "$T" help trace >/dev/null 2>&1; then
	"$work/testprog" wait calls 3 42 1 <<<"" >/dev/null &
	step "$T" trace -d 2s "p:$work/testprog:main.cabiTarget.abi0 a=%di:s64 b=%si:u64"
	wait
fi
step "$T" probe list
