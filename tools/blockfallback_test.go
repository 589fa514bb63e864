package tools

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/tracelet/tracelet/btf"
	"github.com/tracelet/tracelet/internal/testenv"
	"github.com/tracelet/tracelet/script"
)

// ownBlockDevice is a block device whose I/O is the test's only: the VM
// guest's scratch disk where there is one, else a loop device.
func ownBlockDevice(t *testing.T) *loopDevice {
	t.Helper()
	if path, name := testenv.ScratchDisk(); path != "" {
		var st unix.Stat_t
		if err := unix.Stat(path, &st); err != nil {
			t.Fatal(err)
		}
		return &loopDevice{path: path, name: name,
			dev: uint64(unix.Major(uint64(st.Rdev)))<<20 | uint64(unix.Minor(uint64(st.Rdev)))}
	}
	return newLoopDevice(t)
}

// readDirect makes count O_DIRECT reads of bs bytes from block skip (in
// units of bs), one request each, from this process (no dd: a guest's
// busybox may lack iflag=direct).
func (l *loopDevice) readDirect(t *testing.T, bs, count, skip int) {
	t.Helper()
	fd, err := unix.Open(l.path, unix.O_RDONLY|unix.O_DIRECT|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("open %s: %v", l.path, err)
	}
	defer unix.Close(fd)
	// O_DIRECT wants an aligned buffer: an mmap is page-aligned.
	buf, err := unix.Mmap(-1, 0, bs, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(buf)
	for i := 0; i < count; i++ {
		if n, err := unix.Pread(fd, buf, int64((skip+i)*bs)); err != nil || n != bs {
			t.Fatalf("pread %s at %d: %d, %v", l.path, (skip+i)*bs, n, err)
		}
	}
}

// hasRqDisk reports whether the kernel's struct request has rq_disk
// (before 5.16), which _biolatency-rq-disk reads.
func hasRqDisk(t *testing.T) bool {
	t.Helper()
	spec, err := btf.LoadFile(btf.KernelPath)
	if err != nil {
		t.Fatal(err)
	}
	id, err := spec.TypeByName("request", btf.BTF_KIND_STRUCT)
	if err != nil {
		t.Fatal(err)
	}
	_, err = spec.Member(id, "rq_disk")
	return err == nil
}

// biolatency -d DISK, -D and -Q -m -d DISK on the test's own disk (a loop
// device, or the VM guest's scratch disk) count exactly its 8 O_DIRECT
// reads, 5 of 4 KiB and 3 of 16 KiB. Where the kernel's struct request
// has rq_disk (before 5.16, the manual 5.10-amd64 guest), biolatency
// itself runs _biolatency-rq-disk for these flags and says so; elsewhere
// it runs its own script, says nothing, and the fallback, forced, refuses
// to start, naming rq_disk.
func TestBiolatencyFallback(t *testing.T) {
	requireBTF(t)
	rqDisk := hasRqDisk(t)
	if !rqDisk {
		fb, err := LookupScript("_biolatency-rq-disk")
		if err != nil {
			t.Fatal(err)
		}
		// Its -d is what reads rq->rq_disk. Should it start, Ready ends it.
		d, err := fb.Flags[2].DefineValue("sda")
		if err != nil || d.Name != "DISK" {
			t.Fatalf("_biolatency-rq-disk's third flag: %v %v, want -d DISK", d, err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		err = RunScript(ctx, fb, ScriptOptions{Out: &testenv.Buffer{}, Defines: []script.Define{d}, Ready: cancel})
		cancel()
		if err == nil || !strings.Contains(err.Error(), "rq_disk") {
			t.Errorf("_biolatency-rq-disk on a kernel without rq->rq_disk: %v, want an error naming rq_disk", err)
		}
	}
	l := ownBlockDevice(t)
	t.Logf("disk %s; struct request has rq_disk: %v", l.name, rqDisk)
	for _, c := range []struct {
		name string
		defs []string
	}{
		{"disk", []string{`DISK="` + l.name + `"`}},
		{"per-disk", []string{"PERDISK"}},
		{"queued-ms", []string{"QUEUED", "MSECS", `DISK="` + l.name + `"`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			notes := &testenv.Buffer{}
			stop := runScriptToolNotes(t, "biolatency", notes, c.defs...)
			l.readDirect(t, 4096, 5, 0)
			l.readDirect(t, 16384, 3, 4)
			const want = 8
			out := strings.Split(stop(), "\n")
			t.Logf("%s\nnotes: %q", strings.Join(out, "\n"), notes.String())
			if rqDisk != (notes.String() != "") {
				t.Errorf("struct request has rq_disk: %v; biolatency's note: %q", rqDisk, notes.String())
			} else if rqDisk && !strings.HasPrefix(notes.String(), "biolatency: running _biolatency-rq-disk (tracelet tools show _biolatency-rq-disk): ") {
				t.Errorf("biolatency's note %q does not name _biolatency-rq-disk", notes.String())
			}
			key := ""
			if c.name == "per-disk" {
				key = "disk = " + l.name + "\t"
			}
			h := log2Hists(t, out)[key]
			if h == nil {
				t.Fatalf("no histogram %q", key)
			}
			if h.total() != want {
				t.Errorf("I/Os on %s: %d, want %d", l.name, h.total(), want)
			}
			unit := "usecs"
			if c.name == "queued-ms" {
				unit = "msecs"
			}
			if f := strings.Fields(h.header); len(f) == 0 || f[0] != unit {
				t.Errorf("header %q, want %s", h.header, unit)
			}
		})
	}
}

// biosnoop -d DISK on the test's own disk (a loop device, or the VM
// guest's scratch disk) prints exactly the test's 8 O_DIRECT reads, each
// with this process, R, its sector and its bytes. Before 6.5 (no
// block:block_io_start: the 6.1 guests) biosnoop runs _biosnoop-issue
// itself, which takes the process from the insert or issue, and says so.
func TestBiosnoopOwnDisk(t *testing.T) {
	testenv.RequireRoot(t)
	requireBTF(t)
	_, err := os.Stat(filepath.Join(testenv.Tracefs(t), "events/block/block_io_start"))
	fallback := err != nil
	l := ownBlockDevice(t)
	notes := &testenv.Buffer{}
	stop := runScriptToolNotes(t, "biosnoop", notes, `DISK="`+l.name+`"`)
	l.readDirect(t, 4096, 5, 0)
	l.readDirect(t, 16384, 3, 4)
	out := strings.Split(strings.TrimRight(stop(), "\n"), "\n")
	t.Logf("%s\nnotes: %q", strings.Join(out, "\n"), notes.String())
	if fallback != strings.HasPrefix(notes.String(), "biosnoop: running _biosnoop-issue (tracelet tools show _biosnoop-issue): ") {
		t.Errorf("block_io_start missing: %v; biosnoop's note: %q", fallback, notes.String())
	}
	same(t, "header", "TIME(s)     COMM           PID     DISK    T    SECTOR     BYTES   LAT(ms)", out[0])
	comm := commOf(os.Args[0])
	var want, got []string
	for i := 0; i < 5; i++ {
		want = append(want, bioRow{comm: comm, pid: os.Getpid(), t: "R", sector: uint64(i * 8), bytes: 4096}.String())
	}
	for i := 0; i < 3; i++ {
		want = append(want, bioRow{comm: comm, pid: os.Getpid(), t: "R", sector: uint64(128 + i*32), bytes: 16384}.String())
	}
	for _, s := range out[1:] {
		f := strings.Fields(s)
		if len(f) != 8 || f[3] != l.name {
			t.Errorf("row %q: want 8 columns, DISK %s", s, l.name)
			continue
		}
		pid, _ := strconv.Atoi(f[2])
		sector, _ := strconv.ParseUint(f[5], 10, 64)
		bytes, _ := strconv.Atoi(f[6])
		// T is the kernel's rwbs: R, with flags (RS: sync) after it.
		got = append(got, bioRow{comm: f[1], pid: pid, t: f[4][:1], sector: sector, bytes: bytes}.String())
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("biosnoop -d %s:\n%s\nwant:\n%s", l.name, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
