//go:build linux

package script

import (
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// TestConstantsMatchUnix checks the built-in constants of the architecture
// the test is built for against golang.org/x/sys/unix's, which are
// generated from the kernel's headers: on the host (amd64), in the 386
// build, and in the VM guests (arm64, and mipsel and armhf where they
// run), which run this test (internal/vmtest/packages.txt).
func TestConstantsMatchUnix(t *testing.T) {
	want := map[string]uint64{
		"EDEADLK": uint64(unix.EDEADLK), "ENAMETOOLONG": uint64(unix.ENAMETOOLONG),
		"ENOLCK": uint64(unix.ENOLCK), "ENOSYS": uint64(unix.ENOSYS),
		"ENOTEMPTY": uint64(unix.ENOTEMPTY), "ELOOP": uint64(unix.ELOOP),
		"ENOMSG": uint64(unix.ENOMSG), "EIDRM": uint64(unix.EIDRM),
		"ENODATA": uint64(unix.ENODATA), "ETIME": uint64(unix.ETIME),
		"EPROTO": uint64(unix.EPROTO), "EBADMSG": uint64(unix.EBADMSG),
		"EOVERFLOW": uint64(unix.EOVERFLOW), "EILSEQ": uint64(unix.EILSEQ),
		"ENOTSOCK": uint64(unix.ENOTSOCK), "EDESTADDRREQ": uint64(unix.EDESTADDRREQ),
		"EMSGSIZE": uint64(unix.EMSGSIZE), "EPROTOTYPE": uint64(unix.EPROTOTYPE),
		"ENOPROTOOPT": uint64(unix.ENOPROTOOPT), "EPROTONOSUPPORT": uint64(unix.EPROTONOSUPPORT),
		"ESOCKTNOSUPPORT": uint64(unix.ESOCKTNOSUPPORT), "EOPNOTSUPP": uint64(unix.EOPNOTSUPP),
		"ENOTSUP": uint64(unix.ENOTSUP), "EPFNOSUPPORT": uint64(unix.EPFNOSUPPORT),
		"EAFNOSUPPORT": uint64(unix.EAFNOSUPPORT), "EADDRINUSE": uint64(unix.EADDRINUSE),
		"EADDRNOTAVAIL": uint64(unix.EADDRNOTAVAIL), "ENETDOWN": uint64(unix.ENETDOWN),
		"ENETUNREACH": uint64(unix.ENETUNREACH), "ENETRESET": uint64(unix.ENETRESET),
		"ECONNABORTED": uint64(unix.ECONNABORTED), "ECONNRESET": uint64(unix.ECONNRESET),
		"ENOBUFS": uint64(unix.ENOBUFS), "EISCONN": uint64(unix.EISCONN),
		"ENOTCONN": uint64(unix.ENOTCONN), "ESHUTDOWN": uint64(unix.ESHUTDOWN),
		"ETOOMANYREFS": uint64(unix.ETOOMANYREFS), "ETIMEDOUT": uint64(unix.ETIMEDOUT),
		"ECONNREFUSED": uint64(unix.ECONNREFUSED), "EHOSTDOWN": uint64(unix.EHOSTDOWN),
		"EHOSTUNREACH": uint64(unix.EHOSTUNREACH), "EALREADY": uint64(unix.EALREADY),
		"EINPROGRESS": uint64(unix.EINPROGRESS), "ESTALE": uint64(unix.ESTALE),
		"EDQUOT": uint64(unix.EDQUOT), "ECANCELED": uint64(unix.ECANCELED),
		"EAGAIN": uint64(unix.EAGAIN), "EPERM": uint64(unix.EPERM), "ERANGE": uint64(unix.ERANGE),

		"SIGBUS": uint64(unix.SIGBUS), "SIGUSR1": uint64(unix.SIGUSR1), "SIGUSR2": uint64(unix.SIGUSR2),
		"SIGCHLD": uint64(unix.SIGCHLD), "SIGCONT": uint64(unix.SIGCONT), "SIGSTOP": uint64(unix.SIGSTOP),
		"SIGTSTP": uint64(unix.SIGTSTP), "SIGTTIN": uint64(unix.SIGTTIN), "SIGTTOU": uint64(unix.SIGTTOU),
		"SIGURG": uint64(unix.SIGURG), "SIGXCPU": uint64(unix.SIGXCPU), "SIGXFSZ": uint64(unix.SIGXFSZ),
		"SIGVTALRM": uint64(unix.SIGVTALRM), "SIGPROF": uint64(unix.SIGPROF), "SIGWINCH": uint64(unix.SIGWINCH),
		"SIGIO": uint64(unix.SIGIO), "SIGPWR": uint64(unix.SIGPWR), "SIGSYS": uint64(unix.SIGSYS),
		"SIGKILL": uint64(unix.SIGKILL), "SIGTERM": uint64(unix.SIGTERM),

		"O_RDONLY": uint64(unix.O_RDONLY), "O_WRONLY": uint64(unix.O_WRONLY), "O_RDWR": uint64(unix.O_RDWR),
		"O_ACCMODE": uint64(unix.O_ACCMODE), "O_CREAT": uint64(unix.O_CREAT), "O_EXCL": uint64(unix.O_EXCL),
		"O_NOCTTY": uint64(unix.O_NOCTTY), "O_TRUNC": uint64(unix.O_TRUNC), "O_APPEND": uint64(unix.O_APPEND),
		"O_NONBLOCK": uint64(unix.O_NONBLOCK), "O_DSYNC": uint64(unix.O_DSYNC), "O_SYNC": uint64(unix.O_SYNC),
		"O_DIRECT": uint64(unix.O_DIRECT), "O_DIRECTORY": uint64(unix.O_DIRECTORY),
		"O_NOFOLLOW": uint64(unix.O_NOFOLLOW), "O_NOATIME": uint64(unix.O_NOATIME),
		"O_CLOEXEC": uint64(unix.O_CLOEXEC), "O_PATH": uint64(unix.O_PATH), "O_TMPFILE": uint64(unix.O_TMPFILE),

		"PROT_NONE": unix.PROT_NONE, "PROT_READ": unix.PROT_READ, "PROT_WRITE": unix.PROT_WRITE,
		"PROT_EXEC": unix.PROT_EXEC, "MAP_SHARED": unix.MAP_SHARED, "MAP_PRIVATE": unix.MAP_PRIVATE,
		"MAP_SHARED_VALIDATE": unix.MAP_SHARED_VALIDATE, "MAP_FIXED": unix.MAP_FIXED,
		"MAP_ANONYMOUS": unix.MAP_ANONYMOUS, "MAP_ANON": unix.MAP_ANON, "MAP_GROWSDOWN": unix.MAP_GROWSDOWN,
		"MAP_LOCKED": unix.MAP_LOCKED, "MAP_NORESERVE": unix.MAP_NORESERVE, "MAP_POPULATE": unix.MAP_POPULATE,
		"MAP_STACK": unix.MAP_STACK, "MAP_HUGETLB": unix.MAP_HUGETLB, "MAP_FIXED_NOREPLACE": unix.MAP_FIXED_NOREPLACE,

		"IPPROTO_ICMPV6": unix.IPPROTO_ICMPV6, "IPPROTO_RAW": unix.IPPROTO_RAW,
		"IPPROTO_UDPLITE": unix.IPPROTO_UDPLITE, "AF_INET6": unix.AF_INET6,

		"ETH_P_LOOP": unix.ETH_P_LOOP, "ETH_P_IP": unix.ETH_P_IP, "ETH_P_ARP": unix.ETH_P_ARP,
		"ETH_P_8021Q": unix.ETH_P_8021Q, "ETH_P_IPV6": unix.ETH_P_IPV6, "ETH_P_8021AD": unix.ETH_P_8021AD,
		"ETH_P_ALL": unix.ETH_P_ALL,
	}
	for name, v := range want {
		got, ok := constant(name, runtime.GOARCH)
		if !ok || got != v {
			t.Errorf("%s on %s: %#o (listed %v), want %#o", name, runtime.GOARCH, got, ok, v)
		}
	}
	// Every name of an architecture's table is one of x86's too: the
	// parser tells constants from type names by that table.
	for arch, table := range archConstants {
		for name := range table {
			if _, ok := constants[name]; !ok {
				t.Errorf("%s's %s is not in constants", arch, name)
			}
		}
	}
}

// TestConstantsByArch parses a constant for each architecture whose value
// differs: the script's literal is the kernel's value there.
func TestConstantsByArch(t *testing.T) {
	for _, c := range []struct {
		arch string
		want uint64
	}{{"", 115}, {"amd64", 115}, {"386", 115}, {"arm64", 115}, {"riscv64", 115}, {"mips", 150}, {"mipsle", 150}} {
		prog, err := ParseWith("-e", []byte("BEGIN /EINPROGRESS/ { }"), ParseOptions{Arch: c.arch})
		if err != nil {
			t.Fatal(err)
		}
		l, ok := prog.Probes[0].Pred.(*IntLit)
		if !ok || l.Value != c.want {
			t.Errorf("EINPROGRESS on %q: %#v, want %d", c.arch, prog.Probes[0].Pred, c.want)
		}
	}
}
