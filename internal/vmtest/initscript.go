package vmtest

import (
	"fmt"
	"strings"
)

// Markers the guest prints on its console and the host parses. Each sits at
// the start of its own line; kernel messages may still land in between.
const (
	markBoot   = "=== TRACELET-VM-BOOT"
	markBegin  = "=== TRACELET-VM-BEGIN"
	markResult = "=== TRACELET-VM-RESULT"
	// markLeftover names a process a package left running; the guest
	// kills it before the next package.
	markLeftover = "=== TRACELET-VM-LEFTOVER"
	markDone     = "=== TRACELET-VM-DONE"
	markFile     = "=== TRACELET-VM-FILE"
	markEnd      = "=== TRACELET-VM-FILE-END"
)

// Guest paths.
const (
	guestSrc      = "/src"                   // the repository's layout: package dirs and testdata
	guestTests    = "/tests"                 // test binaries
	guestTestprog = "/bin/testprog"          // internal/testprog, TRACELET_TESTPROG
	guestStripped = "/bin/testprog-stripped" // the same without symbols, TRACELET_TESTPROG_STRIPPED
	// guestTestprogCompat is testprog for the 32-bit architecture of a
	// 64-bit guest (i386, armv7), TRACELET_TESTPROG_COMPAT.
	guestTestprogCompat = "/bin/testprog-compat"
	guestNm             = "/bin/go-nm"         // cmd/nm of the Go toolchain, TRACELET_GO_NM
	guestTracelet       = "/bin/tracelet"      // cmd/tracelet, when it exists
	guestFixtures       = "/bin/fixturerec"    // internal/vmtest/fixturerec
	guestBootDir        = "/var/tracelet/boot" // tracefs state copied when /init starts
)

// BootSnapshotDir is where /init copies kprobe_events, kprobe_profile and
// each kprobe event's enable flag before anything else runs, so that a guest
// test can check what the kernel set up from kprobe_event= at boot.
const BootSnapshotDir = guestBootDir

// guestTest is one test binary as /init runs it.
type guestTest struct {
	pkg GuestPackage
	bin string // guest path of the .test binary
}

// initScript renders the guest's /init (busybox sh). In test mode it runs
// every test binary from its package directory; with tracelet.mode=fixtures
// on the kernel command line it runs the fixture recorder instead.
func initScript(tests []guestTest) string {
	var b strings.Builder
	b.WriteString(`#!/bin/busybox sh
# /init of the tracelet VM suite, written by internal/vmtest (initscript.go).
/bin/busybox --install -s /bin
export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/root TMPDIR=/tmp
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tracefs tracefs /sys/kernel/tracing
mount -t debugfs debugfs /sys/kernel/debug
mount -t tmpfs tmpfs /tmp
# Loopback, for the tests that serve and scrape on 127.0.0.1.
ifconfig lo 127.0.0.1 up

# Snapshot what kprobe_event= created before anything else opens a file.
T=/sys/kernel/tracing
B=` + guestBootDir + `
mkdir -p $B
cat $T/kprobe_events >$B/kprobe_events
cat $T/kprobe_profile >$B/kprobe_profile
cat $T/buffer_size_kb >$B/buffer_size_kb
while read -r def rest; do
	ev=${def#*:}
	[ -f "$T/events/$ev/enable" ] && echo "$ev $(cat "$T/events/$ev/enable")"
done <$B/kprobe_events >$B/enabled

# The loader cache of the shipped libc, as a Debian system has it.
[ -x /sbin/ldconfig ] && /sbin/ldconfig

export TRACELET_VM=1 TRACELET_TESTPROG=` + guestTestprog + ` CI=true
export TRACELET_TESTPROG_STRIPPED=` + guestStripped + ` TRACELET_GO_NM=` + guestNm + `
[ -x ` + guestTracelet + ` ] && export TRACELET_BIN=` + guestTracelet + `
[ -x ` + guestTestprogCompat + ` ] && export TRACELET_TESTPROG_COMPAT=` + guestTestprogCompat + `
echo "` + markBoot + ` release=$(uname -r) machine=$(uname -m) cpus=$(grep -c ^processor /proc/cpuinfo)"
rc=0

run_pkg() {
	pkg=$1 dir=$2 bin=$3
	shift 3
	echo "` + markBegin + ` pkg=$pkg"
	( cd "$dir" && "$bin" "$@"; echo $? >/tmp/.tracelet-st ) </dev/null 2>&1
	st=$(cat /tmp/.tracelet-st)
	echo "` + markResult + ` pkg=$pkg status=$st"
	[ "$st" -eq 0 ] || rc=1
	# A process a package left running (a tool that never exited, a
	# helper child) could hold probes or programs that change what the
	# next package sees: name it on the console, then end it.
	for d in /proc/[0-9]*; do
		p=${d#/proc/}
		[ "$p" = "$$" ] && continue
		[ -s "$d/cmdline" ] || continue
		echo "` + markLeftover + ` pkg=$pkg pid=$p cmd=$(tr '\0' ' ' <"$d/cmdline" 2>/dev/null)"
		kill -9 "$p" 2>/dev/null
	done
}

case " $(cat /proc/cmdline) " in
*" tracelet.mode=fixtures "*)
	run_pkg fixtures / ` + guestFixtures + ` -out /var/tracelet/fixtures
	;;
*)
`)
	for _, t := range tests {
		args := []string{"-test.v", "-test.timeout=" + t.pkg.Timeout.String()}
		if t.pkg.Run != "" {
			args = append(args, "-test.run="+t.pkg.Run)
		}
		if t.pkg.Skip != "" {
			args = append(args, "-test.skip="+t.pkg.Skip)
		}
		fmt.Fprintf(&b, "\trun_pkg %s %s %s", shQuote(t.pkg.Name()), shQuote(guestSrc+"/"+t.pkg.Dir), shQuote(t.bin))
		for _, a := range args {
			b.WriteString(" " + shQuote(a))
		}
		b.WriteString("\n")
	}
	b.WriteString(`	;;
esac

echo "` + markDone + ` rc=$rc"
sync
poweroff -f
`)
	return b.String()
}

// shQuote quotes s for sh: single quotes protect everything but a single
// quote, which is closed, escaped and reopened.
func shQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
