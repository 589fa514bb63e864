#!/usr/bin/env bash
# make demo: tracelet's main job, for real, on this host. It asks the kernel
# what it offers, defines and lists a uprobe on a freshly built workload,
# traces it live with decoded arguments, traces a syscall tracepoint with a
# kernel-side filter, and leaves nothing behind.
set -euo pipefail
T=$(realpath "${1:-./tracelet}")
[ "$(id -u)" = 0 ] || { echo "demo: run as root (tracefs and perf_event_open need it)"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
CGO_ENABLED=0 go build -o "$work/testprog" ./internal/testprog
prog=$work/testprog

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

step "$T" doctor
step "$T" list --uprobes "$prog" 'main.cabi*'
step "$T" probe add --dry-run 'p:myopen do_sys_openat2 dfd=$arg1 path=+0($arg2):ustring'
step "$T" probe add --dry-run 'p:x do_sys_open $retval' || true
step "$T" probe add "p:$prog:main.cabiTarget.abi0 a=%di:s64 b=%si:u64"
step "$T" probe list
step "$T" probe del p_testprog_main_cabiTarget_abi0
# Live: a uprobe with fetchargs on a command started behind a gate, so no
# call is missed; cabiTarget(a, b, a+1, b+1, a+2, b+2) returns their sum.
step "$T" trace -c "$prog calls 3 42 7" "p:$prog:main.cabiTarget.abi0 a=%di:s64 b=%si:u64 f=%r9:u32" "r:$prog:main.cabiTarget.abi0 sum=\$retval:u64"
step "$T" trace -o json -c "$prog open /nonexistent/tracelet-demo" --filter 'filename.ustring ~ "*tracelet-demo*"' syscalls:sys_enter_openat
step "$T" probe list
