package script

import "testing"

// BenchmarkCompile measures parse + check + code generation of a typical
// one-liner: the compile part of "compile + load + attach + first event".
func BenchmarkCompile(b *testing.B) {
	src := []byte(`tracepoint:syscalls:sys_exit_read /args->ret > 0 && comm == "sshd"/ { @[comm, pid] = hist(args->ret); printf("%s %d\n", comm, args->ret); }`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := CompileSource("-e", src, CheckOptions{Formats: fixtureFormats}, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	src := []byte(`kprobe:vfs_read { @start[tid] = nsecs; } kretprobe:vfs_read /@start[tid]/ { @ns[comm] = hist(nsecs - @start[tid]); delete(@start[tid]); }`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("-e", src); err != nil {
			b.Fatal(err)
		}
	}
}
