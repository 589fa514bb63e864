package kprobeevents

import "testing"

func BenchmarkParse(b *testing.B) {
	opts := Options{Arch: ArchX86_64}
	def := "p:tracelet_42/open do_sys_openat2 dfd=%di:s32 path=+0(%si):string flags=+8(%dx):u64 mode=%cx:x16"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(def, opts); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFormat(b *testing.B) {
	p, err := ParseProbe("p:tracelet_42/open do_sys_openat2 dfd=%di:s32 path=+0(%si):string flags=+8(%dx):u64 mode=%cx:x16", Options{Arch: ArchX86_64})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = p.String()
	}
}
