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
// the inner connections' SSH windows, so hosts further along ran dry. A
// small SO_SNDBUF would cap a long path instead (docs/perf.md).
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
