package dial

import (
	"net"

	"golang.org/x/sys/unix"
)

// unsentLimit is the most not-yet-sent data an SSH connection's socket
// holds (TCP_NOTSENT_LOWAT); what is sent but unacknowledged is not
// limited, so the kernel still sizes the buffer for the path.
//
// Without it the send buffer grows to megabytes of data the next host is
// not ready for, and through jump hosts every byte of it counts against
// the inner connections' SSH windows (2 MiB): the hosts further along
// ran dry waiting for window while it sat here. Two hops, upload, a
// forward kept up, 5 runs alternating: 1891 → 2116 Mbit/s median
// (OpenSSH 1746); a small SO_SNDBUF did as well in the lab but would cap
// a long path at a few Mbit/s.
const unsentLimit = 128 << 10

// limitUnsent sets unsentLimit on tc; a kernel without the option keeps
// its default.
func limitUnsent(tc *net.TCPConn) {
	if rc, err := tc.SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) {
			unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_NOTSENT_LOWAT, unsentLimit)
		})
	}
}
