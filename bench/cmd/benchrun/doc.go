// Command benchrun is `make bench`: tracelet side by side with bpftrace,
// libbpf-tools and perf-tools, and against the kernel's own floor, on this
// machine, in one run. Each scenario runs every tool in turn, rotating the
// order each round, for -rounds rounds; the table gives the median, min and
// max of each figure and, for tracelet, the median of its per-round ratios
// to each anchor, held against the goals of issue 9.
//
//	go run ./bench/cmd/benchrun -tracelet ./tracelet [-rounds 5] [-only REGEXP] [-json bench/results.json]
//
// Scenarios: start-up (exec to the first event of a trigger fired every
// millisecond) and peak RSS of the same runs; streaming 1M events;
// in-kernel aggregation, in ns per hit added to the traced loop; the reader
// micro-benchmark (bench/cilium, a module of its own); size on disk.
// A tool that is missing, or a tracelet command that does not exist yet,
// is reported as "not available" in its row.
package main
