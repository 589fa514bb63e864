/* USDT test program for package usdt. The notes are written by hand in
 * the SystemTap SDT note format (no sys/sdt.h needed): type 3, owner
 * "stapsdt", descriptor pc, .stapsdt.base, semaphore, then provider,
 * name and argument string. Sizes are written literally; the operands
 * are printed by the compiler. The fixtures next to this file were built
 * on Debian 12 (gcc 12) with:
 *   gcc -O2 -g0 -o probes-x86_64 probes.c
 *   gcc -m32 -O2 -g0 -DTL_NOLIBC -nostdlib -shared -fPIC -Wl,-z,noseparate-code -o probes-i386.so probes.c
 *   aarch64-linux-gnu-gcc -O2 -g0 -DTL_NOLIBC -nostdlib -shared -fPIC -Wl,-z,max-page-size=4096 -o probes-arm64.so probes.c
 *   arm-linux-gnueabihf-gcc -O2 -g0 -DTL_NOLIBC -nostdlib -shared -fPIC -o probes-arm.so probes.c
 *   riscv64-linux-gnu-gcc -O2 -g0 -DTL_NOLIBC -nostdlib -shared -fPIC -o probes-riscv64.so probes.c
 * (TL_NOLIBC: no target libc needed, no main). */
#ifndef TL_NOLIBC
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#endif

#if defined(__LP64__)
#define TL_ADDR ".8byte"
#define TL_LONG "8"
#else
#define TL_ADDR ".4byte"
#define TL_LONG "4"
#endif

#define TL_NOTE(provider, name, sem, args)                                   \
	"990: nop\n"                                                         \
	".pushsection .note.stapsdt,\"\",\"note\"\n"                         \
	".balign 4\n"                                                        \
	".4byte 992f-991f, 994f-993f, 3\n"                                   \
	"991: .asciz \"stapsdt\"\n"                                          \
	"992: .balign 4\n"                                                   \
	"993: " TL_ADDR " 990b\n"                                            \
	TL_ADDR " _.stapsdt.base\n"                                          \
	TL_ADDR " " sem "\n"                                                 \
	".asciz \"" provider "\"\n"                                          \
	".asciz \"" name "\"\n"                                              \
	".asciz \"" args "\"\n"                                              \
	"994: .balign 4\n"                                                   \
	".popsection\n"                                                      \
	".ifndef _.stapsdt.base\n"                                           \
	".pushsection .stapsdt.base,\"aG\",\"progbits\",.stapsdt.base,comdat\n" \
	".weak _.stapsdt.base\n"                                             \
	".hidden _.stapsdt.base\n"                                           \
	"_.stapsdt.base: .space 1\n"                                         \
	".size _.stapsdt.base, 1\n"                                          \
	".popsection\n"                                                      \
	".endif\n"

unsigned short tracelet_fire_semaphore __attribute__((section(".probes"), used));
long long tracelet_global = 0x1122334455667788LL;

__attribute__((noinline)) long work(int a, long b, short c, unsigned char d)
{
	volatile long local = b + 1;
	__asm__ __volatile__(TL_NOTE("tracelet", "args", "0",
		"-4@%[a] " TL_LONG "@%[b] -2@%[c] 1@%[d] -4@%[k]")
		:: [a] "r"(a), [b] "r"(b), [c] "r"(c), [d] "r"(d), [k] "n"(-7));
	__asm__ __volatile__(TL_NOTE("tracelet", "mem", "0", TL_LONG "@%[m] 8@%[g]")
		:: [m] "m"(local), [g] "m"(tracelet_global));
	if (tracelet_fire_semaphore)
		__asm__ __volatile__(TL_NOTE("tracelet", "fire", "tracelet_fire_semaphore",
			"-4@%[a] " TL_LONG "@%[b]")
			:: [a] "r"(a), [b] "r"(b));
	__asm__ __volatile__(TL_NOTE("other", "args", "0", "") ::);
	return local + a + c + d;
}

#ifndef TL_NOLIBC
/* Calls work(N, 1000+N, -N, N) N = 1.. every 10 ms and prints the
 * semaphore, until killed or argv[1] iterations. */
int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1;
	long s = 0;
	for (long i = 1; i <= n; i++) {
		s += work((int)i, 1000 + i, (short)-i, (unsigned char)i);
		printf("%u\n", tracelet_fire_semaphore);
		fflush(stdout);
		if (i < n)
			usleep(10000);
	}
	return s == 42;
}
#endif
