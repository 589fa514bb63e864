package tracefs_test

import (
	"fmt"
	"os"

	"github.com/tracelet/tracelet/tracefs"
)

// Decoding a record of an event whose format was read from tracefs (here
// given inline): the decoder is compiled once and reused for every record.
func ExampleFormat_Decoder() {
	f, err := tracefs.ParseFormat([]byte(`name: sched_process_exec
ID: 365
format:
	field:unsigned short common_type;	offset:0;	size:2;	signed:0;
	field:unsigned char common_flags;	offset:2;	size:1;	signed:0;
	field:unsigned char common_preempt_count;	offset:3;	size:1;	signed:0;
	field:int common_pid;	offset:4;	size:4;	signed:1;

	field:__data_loc char[] filename;	offset:8;	size:4;	signed:0;
	field:pid_t pid;	offset:12;	size:4;	signed:1;
	field:pid_t old_pid;	offset:16;	size:4;	signed:1;

print fmt: "filename=%s pid=%d old_pid=%d", __get_str(filename), REC->pid, REC->old_pid
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	dec, err := f.Decoder()
	if err != nil {
		fmt.Println(err)
		return
	}
	// A little-endian record: common fields, filename at 20 (8 bytes), pids.
	raw := []byte{
		109, 1, 0, 0, 42, 0, 0, 0,
		20, 0, 8, 0, 42, 0, 0, 0, 42, 0, 0, 0,
		'/', 'b', 'i', 'n', '/', 's', 'h', 0,
	}
	var rec tracefs.Record
	if err := dec.Decode(raw, &rec); err != nil {
		fmt.Println(err)
		return
	}
	for i, fd := range f.Fields {
		fmt.Printf("%s=%v\n", fd.Name, rec.Values[i])
	}
	// Output:
	// filename=/bin/sh
	// pid=42
	// old_pid=42
}

// Adding a uprobe in our own group, and removing the group at the end.
func ExampleFS_AddDynamicEvent() {
	fs, err := tracefs.Find()
	if err != nil {
		fmt.Println(err)
		return
	}
	path, off, err := tracefs.ResolveSymbol("libc", "getpid")
	if err != nil {
		fmt.Println(err)
		return
	}
	group := tracefs.OwnerGroup(os.Getpid())
	defer fs.RemoveGroup(tracefs.UprobeEvents, group)
	def := fmt.Sprintf("p:%s/getpid %s:%#x", group, path, off)
	if err := fs.AddDynamicEvent(tracefs.UprobeEvents, def); err != nil {
		fmt.Println(err) // with the kernel's error_log message and column
		return
	}
}
