package tracefs

import "testing"

func TestMIPSUretprobeRetval(t *testing.T) {
	for def, want := range map[string]string{
		"r:g/ret /bin/x:0x10 rv=$retval:u32 s=+0($retval):string": "r:g/ret /bin/x:0x10 rv=%r2:u32 s=+0(%r2):string",
		"p:g/ent /bin/x:0x10 a=%r4":                               "p:g/ent /bin/x:0x10 a=%r4",
	} {
		if got := mipsUretprobeRetval(def); got != want {
			t.Errorf("%q: %q, want %q", def, got, want)
		}
	}
}
