package script

// constants are the C constants a script may name without a header. In
// bpftrace they come from the headers a script #includes, or from BTF
// enums; here they are a table, limited to what real scripts compare
// arguments and fields with. Each group says where its values are defined;
// they are the same on every architecture Linux supports for the names
// listed (O_* flags, which are not, are left out on purpose).
var constants = map[string]uint64{
	// Address families: include/linux/socket.h.
	"AF_UNSPEC": 0, "AF_UNIX": 1, "AF_LOCAL": 1, "AF_INET": 2, "AF_INET6": 10,
	"AF_NETLINK": 16, "AF_PACKET": 17, "AF_VSOCK": 40,

	// IP protocols (sock:inet_sock_set_state's protocol, sock.sk_protocol):
	// include/uapi/linux/in.h.
	"IPPROTO_IP": 0, "IPPROTO_ICMP": 1, "IPPROTO_TCP": 6, "IPPROTO_UDP": 17,
	"IPPROTO_IPV6": 41, "IPPROTO_SCTP": 132, "IPPROTO_MPTCP": 262,

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
	"EMLINK": 31, "EPIPE": 32, "EDOM": 33, "ERANGE": 34, "EDEADLK": 35, "ENAMETOOLONG": 36,
	"ENOLCK": 37, "ENOSYS": 38, "ENOTEMPTY": 39, "ELOOP": 40,

	// Signals: include/uapi/asm-generic/signal.h (1 to 15 are the same on
	// x86 and arm64).
	"SIGHUP": 1, "SIGINT": 2, "SIGQUIT": 3, "SIGILL": 4, "SIGTRAP": 5, "SIGABRT": 6,
	"SIGBUS": 7, "SIGFPE": 8, "SIGKILL": 9, "SIGUSR1": 10, "SIGSEGV": 11, "SIGUSR2": 12,
	"SIGPIPE": 13, "SIGALRM": 14, "SIGTERM": 15,

	// Directory entry types, the file type bits of i_mode shifted right
	// by 12 (vfssize.bt: ((i_mode >> 12) & 15) == DT_FIFO):
	// include/linux/fs_types.h.
	"DT_UNKNOWN": 0, "DT_FIFO": 1, "DT_CHR": 2, "DT_DIR": 4, "DT_BLK": 6, "DT_REG": 8,
	"DT_LNK": 10, "DT_SOCK": 12, "DT_WHT": 14,

	// ICMP message types (icmphdr.type, icmp6hdr.icmp6_type):
	// include/uapi/linux/icmp.h and icmpv6.h.
	"ICMP_ECHOREPLY": 0, "ICMP_DEST_UNREACH": 3, "ICMP_REDIRECT": 5, "ICMP_ECHO": 8,
	"ICMP_TIME_EXCEEDED": 11, "ICMPV6_ECHO_REQUEST": 128, "ICMPV6_ECHO_REPLY": 129,
}
