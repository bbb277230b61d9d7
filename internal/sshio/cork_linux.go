package sshio

import (
	"net"

	"golang.org/x/sys/unix"
)

// corkTCP sets TCP_CORK on c's socket and returns what clears it, which
// sends what was held.
func corkTCP(c net.Conn) func() {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return func() {}
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return func() {}
	}
	set := func(v int) error {
		var serr error
		if err := raw.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_CORK, v)
		}); err != nil {
			return err
		}
		return serr
	}
	if set(1) != nil {
		return func() {}
	}
	return func() { set(0) }
}
