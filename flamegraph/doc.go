// Package flamegraph reads and writes folded stacks and draws them as an
// interactive SVG flame graph. It is pure: no files, no system calls.
//
// Folded stacks are the format that Brendan Gregg's flamegraph.pl, the
// speedscope and Perfetto UIs and inferno read: one line per distinct
// stack, frames from the root to the leaf joined by ';', then a space and
// the stack's count:
//
//	bash;main;execute_command;__libc_fork 12
//	swapper/0;secondary_startup_64_[k];do_idle_[k] 840
//
// A frame may hold spaces ("[unknown] 0x7f3a2c"), never ';' or a newline.
// Kernel frames carry the "_[k]" suffix that perf's stackcollapse-perf.pl
// --kernel writes, so that the graph can tell the two apart.
//
// Example:
//
//	p := flamegraph.NewProfile()
//	p.Add([]string{"prog", "main", "spin"}, 90)
//	p.Add([]string{"prog", "main", "wait"}, 10)
//	p.WriteFolded(os.Stdout)
//	p.WriteSVG(f, flamegraph.Options{Title: "CPU"})
//
// The SVG is one self-contained file (about 5 KB of script plus 200 bytes
// per drawn frame): a click on a frame zooms to it, "Reset Zoom" goes
// back, "Search" (or Ctrl-F) highlights the frames whose name matches a
// regular expression and shows their share of the total. The layout
// follows flamegraph.pl's defaults (1200 px wide, 16 px frames, roots at
// the bottom, siblings in alphabetical order, frames narrower than 0.1 px
// left out); the code is our own.
package flamegraph
