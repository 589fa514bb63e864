// Command benchload is the traced workload of `make bench`: the same calls
// for every tool, in a process of its own.
//
//	benchload [-cpu N] [-repeat R] calls N    call target(i, 1) N times (a C-ABI leaf, target_*.s; its symbol is main.target)
//	benchload [-cpu N] sys N      getppid(2) N times
//	benchload [-cpu N] lseek N    lseek(-1, i, SEEK_SET) N times (EBADF; an argument that varies, for hist())
//	benchload [-cpu N] tick KIND  every millisecond, until stdin closes: KIND is call, sys, signal, exec or tcp (a loopback TCP session)
//
// The counted modes print "ready TID" and then warm up: one call of the
// same kind every millisecond, until a line arrives on stdin. A tracer is
// ready once it reports one of those warm-up calls, so readiness is proved
// the same way for every tool, whatever it prints. benchload then prints
// "warm WARMUP_CALLS" and waits for a second line, so that the driver can
// count what the tool delivered of the warm-up once it has gone quiet. The
// loop then makes its N calls on the same thread, timing itself, and prints
// "done LOOP_NS". With -repeat R it runs the loop R times and prints the
// fastest: load from elsewhere only ever slows a loop down.
package main
