package tools

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// loopDevice is a loop device over an 8 MiB file of the test's own: its
// I/O is the test's workload only. The device is detached and the file
// removed when the test ends, however it ends.
type loopDevice struct {
	path string // /dev/loopN
	name string // loopN, the disk name the tools print
	dev  uint64 // the kernel's dev_t: major << 20 | minor
}

func newLoopDevice(t *testing.T) *loopDevice {
	t.Helper()
	if _, err := exec.LookPath("losetup"); err != nil {
		t.Skipf("no losetup (util-linux): %v", err)
	}
	if _, err := os.Stat("/dev/loop-control"); err != nil {
		t.Skipf("this kernel has no loop driver loaded (CONFIG_BLK_DEV_LOOP=m, as on Debian's riscv64, and nothing loaded the module): %v", err)
	}
	img := filepath.Join(t.TempDir(), "disk.img") // removed after the Cleanup below
	f, err := os.Create(img)
	if err != nil {
		t.Fatal(err)
	}
	err = f.Truncate(8 << 20)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	// The next free device, then the file on it: busybox's losetup (the
	// guests') has no --find --show, and util-linux's takes both forms.
	out, err := exec.Command("losetup", "-f").CombinedOutput()
	if err != nil {
		t.Fatalf("losetup -f: %v: %s", err, out)
	}
	path := strings.TrimSpace(string(out))
	if out, err := exec.Command("losetup", path, img).CombinedOutput(); err != nil {
		t.Fatalf("losetup %s %s: %v: %s", path, img, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("losetup", "-d", path).CombinedOutput(); err != nil {
			t.Errorf("losetup -d %s: %v: %s", path, err, out)
		}
	})
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return &loopDevice{path: path, name: filepath.Base(path),
		dev: uint64(unix.Major(uint64(st.Rdev)))<<20 | uint64(unix.Minor(uint64(st.Rdev)))}
}

// read makes count O_DIRECT reads of bs bytes from block skip (in units
// of bs) with dd, one request each, and returns dd's pid.
func (l *loopDevice) read(t *testing.T, bs, count, skip int) int {
	t.Helper()
	cmd := exec.Command("dd", "if="+l.path, "of=/dev/null", "bs="+strconv.Itoa(bs), "count="+strconv.Itoa(count),
		"skip="+strconv.Itoa(skip), "iflag=direct", "status=none")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v: %s", cmd, err, out)
	}
	return cmd.Process.Pid
}

// blockWorkload is 5 reads of 4 KiB at sectors 0, 8, ..., 32 and 3 of
// 16 KiB at sectors 128, 160, 192: the I/Os both tools must see.
func blockWorkload(t *testing.T, l *loopDevice) (rows []bioRow) {
	pid := l.read(t, 4096, 5, 0)
	for i := 0; i < 5; i++ {
		rows = append(rows, bioRow{comm: "dd", pid: pid, sector: uint64(i * 8), bytes: 4096})
	}
	pid = l.read(t, 16384, 3, 4)
	for i := 0; i < 3; i++ {
		rows = append(rows, bioRow{comm: "dd", pid: pid, sector: uint64(128 + i*32), bytes: 16384})
	}
	return rows
}

type bioRow struct {
	comm   string
	pid    int
	t      string
	sector uint64
	bytes  int
}

func (r bioRow) String() string {
	return fmt.Sprintf("%s %d %s %d %d", r.comm, r.pid, r.t, r.sector, r.bytes)
}

// biolatency -d loopN, -D and -Q -m -d loopN, against libbpf-tools'
// biolatency with the same flags: both count the 8 I/Os of the workload,
// under the same header (and, with -D, the same "disk = loopN" line). The
// slots are time and are not compared.
func TestSideBySideBiolatency(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
		defs []string
	}{
		{"disk", []string{"-d", "LOOP"}, []string{`DISK="LOOP"`}},
		{"per-disk", []string{"-D"}, []string{"PERDISK"}},
		{"queued-ms", []string{"-Q", "-m", "-d", "LOOP"}, []string{"QUEUED", "MSECS", `DISK="LOOP"`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			l := newLoopDevice(t)
			for i := range c.args {
				c.args[i] = strings.ReplaceAll(c.args[i], "LOOP", l.name)
			}
			for i := range c.defs {
				c.defs[i] = strings.ReplaceAll(c.defs[i], "LOOP", l.name)
			}
			lb := startLibbpf(t, "biolatency", c.args...)
			stop := runScriptTool(t, "biolatency", c.defs...)
			want := len(blockWorkload(t, l))
			ours := stop()
			theirs := lb.stop(t)
			t.Logf("libbpf-tools:\n%s\ntracelet:\n%s", strings.Join(theirs, "\n"), ours)
			ourLines := strings.Split(ours, "\n")
			same(t, "first line", theirs[0], ourLines[0])
			key := ""
			if c.name == "per-disk" {
				key = "disk = " + l.name + "\t"
			}
			th, oh := log2Hists(t, theirs)[key], log2Hists(t, ourLines)[key]
			if th == nil || oh == nil {
				t.Fatalf("no histogram %q: libbpf-tools %v, tracelet %v", key, th != nil, oh != nil)
			}
			same(t, "header", th.header, oh.header)
			if key == "" {
				// The same empty lines between the first line and the
				// histogram.
				if ti, oi := slices.Index(theirs, th.header), slices.Index(ourLines, oh.header); ti != oi || ti < 0 {
					t.Errorf("histogram header on line %d, libbpf-tools' on line %d", oi+1, ti+1)
				}
			}
			if th.total() != uint64(want) || oh.total() != uint64(want) {
				t.Errorf("I/Os on %s: libbpf-tools %d, tracelet %d, want %d", l.name, th.total(), oh.total(), want)
			}
		})
	}
}

// biosnoop -d loopN against a bpftrace program on the block tracepoints
// (libbpf-tools 0.26's biosnoop needs a kprobe or fentry on
// blk_account_io_start, which this host refuses): the same 8 I/Os, each
// with the process that started it (block_io_start), the kernel's own
// rwbs string, the sector and the bytes.
//
// _biosnoop-issue, its fallback for kernels before 6.5, takes the process
// from the insert or issue instead: for these O_DIRECT reads on a device
// without a scheduler, issued by dd itself, the same one.
func TestSideBySideBiosnoop(t *testing.T) {
	for _, c := range []struct {
		tool   string
		queued bool
	}{{"biosnoop", false}, {"biosnoop", true}, {"_biosnoop-issue", false}, {"_biosnoop-issue", true}} {
		queued := c.queued
		t.Run(c.tool+"/queued="+strconv.FormatBool(queued), func(t *testing.T) {
			l := newLoopDevice(t)
			prog := fmt.Sprintf(`BEGIN { printf("ready\n"); }
tracepoint:block:block_io_start /args->dev == %d/ { printf("start %%d %%s %%d\n", pid, comm, args->sector); }
tracepoint:block:block_rq_complete /args->dev == %d/ { printf("done %%s %%d %%d\n", args->rwbs, args->sector, args->nr_sector * 512); }`, l.dev, l.dev)
			bt := startOracle(t, "/usr/bin/bpftrace", "bpftrace", "-e", prog)
			bt.wait(t, "ready", func(s string) bool { return s == "ready" })
			defs := []string{`DISK="` + l.name + `"`}
			if queued {
				defs = append(defs, "QUEUED")
			}
			stop := runScriptTool(t, c.tool, defs...)
			want := blockWorkload(t, l)
			// bpftrace prints as it polls its per-CPU rings, in no
			// particular order: wait for every completion before stopping
			// it.
			for _, w := range want {
				sector := strconv.FormatUint(w.sector, 10)
				bt.wait(t, "completion at sector "+sector, func(s string) bool {
					f := strings.Fields(s)
					return len(f) == 4 && f[0] == "done" && f[2] == sector
				})
			}
			ours := strings.Split(strings.TrimRight(stop(), "\n"), "\n")
			theirs := bt.stop(t)
			t.Logf("bpftrace:\n%s\ntracelet:\n%s", strings.Join(theirs, "\n"), strings.Join(ours, "\n"))

			header := "TIME(s)     COMM           PID     DISK    T    SECTOR     BYTES   LAT(ms)"
			if queued {
				header = "TIME(s)     COMM           PID     DISK    T    SECTOR     BYTES   QUE(ms) LAT(ms)"
			}
			same(t, "header", header, ours[0])
			// bpftrace: who started the I/O at each sector, and how the
			// kernel describes each completion.
			starter := map[uint64]bioRow{}
			var oracle []bioRow
			for _, s := range theirs {
				if f := strings.Fields(s); len(f) == 4 && f[0] == "start" {
					pid, _ := strconv.Atoi(f[1])
					sector, _ := strconv.ParseUint(f[3], 10, 64)
					starter[sector] = bioRow{comm: f[2], pid: pid}
				}
			}
			for _, s := range theirs {
				f := strings.Fields(s)
				switch {
				case len(f) == 4 && f[0] == "done":
					sector, _ := strconv.ParseUint(f[2], 10, 64)
					bytes, _ := strconv.Atoi(f[3])
					r := starter[sector]
					r.t, r.sector, r.bytes = f[1], sector, bytes
					oracle = append(oracle, r)
				}
			}
			var got []bioRow
			for _, s := range ours[1:] {
				f := strings.Fields(s)
				if len(f) != 8+btoi(queued) {
					t.Errorf("row %q: %d columns", s, len(f))
					continue
				}
				pid, _ := strconv.Atoi(f[2])
				sector, _ := strconv.ParseUint(f[5], 10, 64)
				bytes, _ := strconv.Atoi(f[6])
				if f[3] != l.name {
					t.Errorf("row %q: DISK %s, want %s", s, f[3], l.name)
				}
				got = append(got, bioRow{comm: f[1], pid: pid, t: f[4], sector: sector, bytes: bytes})
			}
			sortRows := func(rs []bioRow) []string {
				var out []string
				for _, r := range rs {
					out = append(out, r.String())
				}
				slices.Sort(out)
				return out
			}
			if o, g := sortRows(oracle), sortRows(got); !slices.Equal(o, g) {
				t.Errorf("rows:\nbpftrace: %q\ntracelet: %q", o, g)
			}
			// And the oracle saw the workload as planned.
			for i := range want {
				want[i].t = "RS"
			}
			if o, w := sortRows(oracle), sortRows(want); !slices.Equal(o, w) {
				t.Errorf("bpftrace saw %q, the workload made %q", o, w)
			}
		})
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
