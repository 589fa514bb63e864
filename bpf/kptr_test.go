package bpf

import (
	"testing"
	"unsafe"
)

// Every attribute struct must keep the kernel's layout.
func TestAttrLayout(t *testing.T) {
	if unsafe.Sizeof(kptr{}) != 8 {
		t.Fatalf("kptr is %d bytes", unsafe.Sizeof(kptr{}))
	}
	for name, got := range map[string][2]uintptr{
		"map_elem":     {unsafe.Sizeof(mapElemAttr{}), 32},
		"batch":        {unsafe.Sizeof(mapBatchAttr{}), 56},
		"prog_load":    {unsafe.Sizeof(progLoadAttr{}), 144},
		"log_buf":      {unsafe.Offsetof(progLoadAttr{}.logBuf), 32},
		"prog_name":    {unsafe.Offsetof(progLoadAttr{}.progName), 48},
		"log_true":     {unsafe.Offsetof(progLoadAttr{}.logTrueSize), 140},
		"attach_type":  {unsafe.Offsetof(progLoadAttr{}.expectedAttachType), 68},
		"attach_btf":   {unsafe.Offsetof(progLoadAttr{}.attachBTFID), 108},
		"attach_obj":   {unsafe.Offsetof(progLoadAttr{}.attachBTFObjFD), 112},
		"link_type":    {unsafe.Offsetof(linkCreateAttr{}.attachType), 8},
		"info_xlated":  {unsafe.Offsetof(progInfo{}.xlatedProgInsns), 32},
		"info_map_ids": {unsafe.Offsetof(progInfo{}.mapIDs), 56},
		"info_name":    {unsafe.Offsetof(progInfo{}.name), 64},
		"link_cookie":  {unsafe.Offsetof(linkCreateAttr{}.bpfCookie), 16},
	} {
		if got[0] != got[1] {
			t.Errorf("%s: %d, want %d", name, got[0], got[1])
		}
	}
}
