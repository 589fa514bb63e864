package script

import (
	"strings"
	"testing"
)

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

// BenchmarkCompileStructDef compiles runqlen's probe reading nr_running
// through the script's struct cfs_rq_partial against the same probe
// reading it through the kernel's struct cfs_rq (BTF of Linux 6.18, where
// the member is nr_queued), the anchor: the difference is laying out and
// encoding the script's types. Compare the two in one run.
func BenchmarkCompileStructDef(b *testing.B) {
	probe := `profile:hz:99 { $task = (struct task_struct *)curtask; $my_q = (struct Q *)$task->se.cfs_rq; $len = $my_q->M; @runqlen = lhist($len, 0, 100, 1); }`
	for _, bc := range []struct{ name, src string }{
		{"kernel", strings.NewReplacer("Q", "cfs_rq", "M", "nr_queued").Replace(probe)},
		{"script", "struct cfs_rq_partial { struct load_weight load; unsigned long runnable_weight; unsigned int nr_running; unsigned int h_nr_running; };\n" +
			strings.NewReplacer("Q", "cfs_rq_partial", "M", "nr_running").Replace(probe)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			spec := fixtureBTF(b)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := CompileSource("-e", []byte(bc.src), CheckOptions{Formats: fixtureFormats, BTF: spec}, Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
