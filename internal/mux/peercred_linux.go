package mux

import (
	"net"
	"syscall"
)

// peerUID returns the uid of the process at the other end of c
// (SO_PEERCRED), as OpenSSH's getpeereid().
func peerUID(c *net.UnixConn) (int, int, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return -1, 0, err
	}
	var (
		cred *syscall.Ucred
		gerr error
	)
	if err := rc.Control(func(fd uintptr) {
		cred, gerr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	}); err != nil {
		return -1, 0, err
	}
	if gerr != nil {
		return -1, 0, gerr
	}
	return int(cred.Uid), int(cred.Pid), nil
}
