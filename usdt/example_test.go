package usdt_test

import (
	"fmt"
	"log"

	"github.com/tracelet/tracelet/kprobeevents"
	"github.com/tracelet/tracelet/usdt"
)

// A uprobe_events line for a USDT probe: the probe's file offset, its
// semaphore as ref_ctr_offset and each argument as a fetcharg.
func ExampleProbe_UprobeEvent() {
	f, err := usdt.Open("testdata/probes-arm64.so")
	if err != nil {
		log.Fatal(err)
	}
	p, err := f.Lookup("tracelet", "fire")
	if err != nil {
		log.Fatal(err)
	}
	line, err := p.UprobeEvent("mygroup", "fire", "/lib/probes.so", f.Arch)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(line)
	// Output: p:mygroup/fire /lib/probes.so:0x344(0x1008) arg1=%x0:s32 arg2=%x1:u64
}

// What a BPF compiler needs of each argument.
func ExampleParseArgs() {
	args, err := usdt.ParseArgs(kprobeevents.ArchX86_64, "-4@%edi 8@-16(%rbp) -8@$42")
	if err != nil {
		log.Fatal(err)
	}
	for _, a := range args {
		fmt.Println(a.Kind, a.Reg, a.Offset, a.Value, a.Size, a.Signed)
	}
	// Output:
	// register di 0 0 4 true
	// memory bp -16 0 8 false
	// constant  0 42 8 true
}
