package script

// constants are the C constants a script may name without a header. In
// bpftrace they come from the headers a script #includes, or from BTF
// enums; here they are a table, limited to what real scripts compare
// arguments and fields with. Each group says where its values are defined.
// The values are x86's, which most architectures share; archConstants
// holds those of the release architectures that differ, the kernel's
// (golang.org/x/sys/unix's zerrors_linux_*.go list the same values;
// TestConstantsMatchUnix checks the host's against them).
var constants = map[string]uint64{
	// Address families: include/linux/socket.h.
	"AF_UNSPEC": 0, "AF_UNIX": 1, "AF_LOCAL": 1, "AF_INET": 2, "AF_INET6": 10,
	"AF_NETLINK": 16, "AF_PACKET": 17, "AF_VSOCK": 40,

	// IP protocols (sock:inet_sock_set_state's protocol, sock.sk_protocol):
	// include/uapi/linux/in.h.
	"IPPROTO_IP": 0, "IPPROTO_ICMP": 1, "IPPROTO_TCP": 6, "IPPROTO_UDP": 17,
	"IPPROTO_IPV6": 41, "IPPROTO_SCTP": 132, "IPPROTO_MPTCP": 262,
	"IPPROTO_IGMP": 2, "IPPROTO_GRE": 47, "IPPROTO_ESP": 50, "IPPROTO_UDPLITE": 136,
	"IPPROTO_RAW": 255,
	// include/uapi/linux/in6.h.
	"IPPROTO_ICMPV6": 58,

	// Task states (task_struct.__state): include/linux/sched.h.
	"TASK_RUNNING": 0x0, "TASK_INTERRUPTIBLE": 0x1, "TASK_UNINTERRUPTIBLE": 0x2,
	"__TASK_STOPPED": 0x4, "__TASK_TRACED": 0x8, "EXIT_DEAD": 0x10, "EXIT_ZOMBIE": 0x20,
	"TASK_PARKED": 0x40, "TASK_DEAD": 0x80, "TASK_WAKEKILL": 0x100, "TASK_NOLOAD": 0x400,

	// TCP states (sock_common.skc_state, tcp:tcp_set_state's oldstate and
	// newstate): include/net/tcp_states.h.
	"TCP_ESTABLISHED": 1, "TCP_SYN_SENT": 2, "TCP_SYN_RECV": 3, "TCP_FIN_WAIT1": 4,
	"TCP_FIN_WAIT2": 5, "TCP_TIME_WAIT": 6, "TCP_CLOSE": 7, "TCP_CLOSE_WAIT": 8,
	"TCP_LAST_ACK": 9, "TCP_LISTEN": 10, "TCP_CLOSING": 11, "TCP_NEW_SYN_RECV": 12,

	// Error numbers, compared with a syscall's negative return value
	// (retval == -ENOENT): include/uapi/asm-generic/errno-base.h and the
	// common part of errno.h.
	"EPERM": 1, "ENOENT": 2, "ESRCH": 3, "EINTR": 4, "EIO": 5, "ENXIO": 6, "E2BIG": 7,
	"ENOEXEC": 8, "EBADF": 9, "ECHILD": 10, "EAGAIN": 11, "EWOULDBLOCK": 11, "ENOMEM": 12,
	"EACCES": 13, "EFAULT": 14, "ENOTBLK": 15, "EBUSY": 16, "EEXIST": 17, "EXDEV": 18,
	"ENODEV": 19, "ENOTDIR": 20, "EISDIR": 21, "EINVAL": 22, "ENFILE": 23, "EMFILE": 24,
	"ENOTTY": 25, "ETXTBSY": 26, "EFBIG": 27, "ENOSPC": 28, "ESPIPE": 29, "EROFS": 30,
	"EMLINK": 31, "EPIPE": 32, "EDOM": 33, "ERANGE": 34,
	"EDEADLK": 35, "ENAMETOOLONG": 36, "ENOLCK": 37, "ENOSYS": 38,
	"ENOTEMPTY": 39, "ELOOP": 40, "ENOMSG": 42, "EIDRM": 43, "ENODATA": 61,
	"ETIME": 62, "EPROTO": 71, "EBADMSG": 74, "EOVERFLOW": 75, "EILSEQ": 84,
	"ENOTSOCK": 88, "EDESTADDRREQ": 89, "EMSGSIZE": 90, "EPROTOTYPE": 91,
	"ENOPROTOOPT": 92, "EPROTONOSUPPORT": 93, "ESOCKTNOSUPPORT": 94,
	"EOPNOTSUPP": 95, "ENOTSUP": 95, "EPFNOSUPPORT": 96, "EAFNOSUPPORT": 97,
	"EADDRINUSE": 98, "EADDRNOTAVAIL": 99, "ENETDOWN": 100, "ENETUNREACH": 101,
	"ENETRESET": 102, "ECONNABORTED": 103, "ECONNRESET": 104, "ENOBUFS": 105,
	"EISCONN": 106, "ENOTCONN": 107, "ESHUTDOWN": 108, "ETOOMANYREFS": 109,
	"ETIMEDOUT": 110, "ECONNREFUSED": 111, "EHOSTDOWN": 112, "EHOSTUNREACH": 113,
	"EALREADY": 114, "EINPROGRESS": 115, "ESTALE": 116, "EDQUOT": 122,
	"ECANCELED": 125,

	// Signals: include/uapi/asm-generic/signal.h.
	"SIGHUP": 1, "SIGINT": 2, "SIGQUIT": 3, "SIGILL": 4, "SIGTRAP": 5, "SIGABRT": 6,
	"SIGBUS": 7, "SIGFPE": 8, "SIGKILL": 9, "SIGUSR1": 10, "SIGSEGV": 11, "SIGUSR2": 12,
	"SIGPIPE": 13, "SIGALRM": 14, "SIGTERM": 15, "SIGCHLD": 17, "SIGCONT": 18,
	"SIGSTOP": 19, "SIGTSTP": 20, "SIGTTIN": 21, "SIGTTOU": 22, "SIGURG": 23,
	"SIGXCPU": 24, "SIGXFSZ": 25, "SIGVTALRM": 26, "SIGPROF": 27, "SIGWINCH": 28,
	"SIGIO": 29, "SIGPWR": 30, "SIGSYS": 31,

	// open(2) flags (file.f_flags, sys_enter_openat's flags):
	// include/uapi/asm-generic/fcntl.h.
	"O_RDONLY": 0, "O_WRONLY": 1, "O_RDWR": 2, "O_ACCMODE": 3, "O_CREAT": 0o100,
	"O_EXCL": 0o200, "O_NOCTTY": 0o400, "O_TRUNC": 0o1000, "O_APPEND": 0o2000,
	"O_NONBLOCK": 0o4000, "O_DSYNC": 0o10000, "O_SYNC": 0o4010000,
	"O_DIRECT": 0o40000, "O_DIRECTORY": 0o200000, "O_NOFOLLOW": 0o400000,
	"O_NOATIME": 0o1000000, "O_CLOEXEC": 0o2000000, "O_PATH": 0o10000000,
	"O_TMPFILE": 0o20200000,

	// mmap(2)'s prot and flags (sys_enter_mmap's, vm_area_struct's
	// vm_flags start with the same PROT bits): include/uapi/asm-generic/
	// mman-common.h and mman.h.
	"PROT_NONE": 0, "PROT_READ": 1, "PROT_WRITE": 2, "PROT_EXEC": 4,
	"MAP_SHARED": 1, "MAP_PRIVATE": 2, "MAP_SHARED_VALIDATE": 3, "MAP_FIXED": 0x10,
	"MAP_ANONYMOUS": 0x20, "MAP_ANON": 0x20, "MAP_GROWSDOWN": 0x100, "MAP_LOCKED": 0x2000,
	"MAP_NORESERVE": 0x4000, "MAP_POPULATE": 0x8000, "MAP_STACK": 0x20000,
	"MAP_HUGETLB": 0x40000, "MAP_FIXED_NOREPLACE": 0x100000,

	// Directory entry types, the file type bits of i_mode shifted right
	// by 12 (vfssize.bt: ((i_mode >> 12) & 15) == DT_FIFO):
	// include/linux/fs_types.h.
	"DT_UNKNOWN": 0, "DT_FIFO": 1, "DT_CHR": 2, "DT_DIR": 4, "DT_BLK": 6, "DT_REG": 8,
	"DT_LNK": 10, "DT_SOCK": 12, "DT_WHT": 14,

	// ICMP message types (icmphdr.type, icmp6hdr.icmp6_type):
	// include/uapi/linux/icmp.h and icmpv6.h.
	"ICMP_ECHOREPLY": 0, "ICMP_DEST_UNREACH": 3, "ICMP_REDIRECT": 5, "ICMP_ECHO": 8,
	"ICMP_TIME_EXCEEDED": 11, "ICMPV6_ECHO_REQUEST": 128, "ICMPV6_ECHO_REPLY": 129,

	// Ethernet protocol ids (skb->protocol, in network byte order there;
	// ethhdr.h_proto): include/uapi/linux/if_ether.h.
	"ETH_P_LOOP": 0x0060, "ETH_P_IP": 0x0800, "ETH_P_ARP": 0x0806, "ETH_P_8021Q": 0x8100,
	"ETH_P_IPV6": 0x86DD, "ETH_P_8021AD": 0x88A8, "ETH_P_ALL": 0x0003,
}

// archConstants are the constants whose values differ from constants' on
// an architecture, by the kernel's GOARCH: arch/arm/include/uapi/asm/fcntl.h
// and arch/arm64's, and arch/mips/include/uapi/asm's errno.h, signal.h,
// fcntl.h and mman.h. 386 and riscv64 have x86's values.
var archConstants = map[string]map[string]uint64{
	"arm": armConstants, "arm64": armConstants,
	"mips": mipsConstants, "mipsle": mipsConstants,
}

var armConstants = map[string]uint64{
	"O_DIRECT": 0o200000, "O_DIRECTORY": 0o40000, "O_NOFOLLOW": 0o100000,
	"O_TMPFILE": 0o20040000,
}

var mipsConstants = map[string]uint64{
	"EDEADLK": 45, "ENAMETOOLONG": 78, "ENOLCK": 46, "ENOSYS": 89,
	"ENOTEMPTY": 93, "ELOOP": 90, "ENOMSG": 35, "EIDRM": 36, "EBADMSG": 77,
	"EOVERFLOW": 79, "EILSEQ": 88, "ENOTSOCK": 95, "EDESTADDRREQ": 96,
	"EMSGSIZE": 97, "EPROTOTYPE": 98, "ENOPROTOOPT": 99, "EPROTONOSUPPORT": 120,
	"ESOCKTNOSUPPORT": 121, "EOPNOTSUPP": 122, "ENOTSUP": 122,
	"EPFNOSUPPORT": 123, "EAFNOSUPPORT": 124, "EADDRINUSE": 125,
	"EADDRNOTAVAIL": 126, "ENETDOWN": 127, "ENETUNREACH": 128, "ENETRESET": 129,
	"ECONNABORTED": 130, "ECONNRESET": 131, "ENOBUFS": 132, "EISCONN": 133,
	"ENOTCONN": 134, "ESHUTDOWN": 143, "ETOOMANYREFS": 144, "ETIMEDOUT": 145,
	"ECONNREFUSED": 146, "EHOSTDOWN": 147, "EHOSTUNREACH": 148, "EALREADY": 149,
	"EINPROGRESS": 150, "ESTALE": 151, "EDQUOT": 1133, "ECANCELED": 158,

	"SIGBUS": 10, "SIGUSR1": 16, "SIGUSR2": 17, "SIGCHLD": 18, "SIGCONT": 25,
	"SIGSTOP": 23, "SIGTSTP": 24, "SIGTTIN": 26, "SIGTTOU": 27, "SIGURG": 21,
	"SIGXCPU": 30, "SIGXFSZ": 31, "SIGVTALRM": 28, "SIGPROF": 29, "SIGWINCH": 20,
	"SIGIO": 22, "SIGPWR": 19, "SIGSYS": 12,

	"O_CREAT": 0o400, "O_EXCL": 0o2000, "O_NOCTTY": 0o4000, "O_APPEND": 0o10,
	"O_NONBLOCK": 0o200, "O_DSYNC": 0o20, "O_SYNC": 0o40020, "O_DIRECT": 0o100000,

	"MAP_ANONYMOUS": 0x800, "MAP_ANON": 0x800, "MAP_GROWSDOWN": 0x1000, "MAP_LOCKED": 0x8000,
	"MAP_NORESERVE": 0x400, "MAP_POPULATE": 0x10000, "MAP_STACK": 0x40000, "MAP_HUGETLB": 0x80000,
}

// constant returns a built-in constant's value on the kernel
// architecture goarch ("" for x86's values).
func constant(name, goarch string) (uint64, bool) {
	if v, ok := archConstants[goarch][name]; ok {
		return v, true
	}
	v, ok := constants[name]
	return v, ok
}
