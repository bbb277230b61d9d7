package sshio

import (
	"net"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// tcpMinRTT reads TCP_INFO's tcpi_min_rtt, in microseconds; ^0 before
// the first sample.
func tcpMinRTT(c net.Conn) time.Duration {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return 0
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return 0
	}
	var us uint32
	raw.Control(func(fd uintptr) {
		if info, err := unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO); err == nil {
			us = info.Min_rtt
		}
	})
	if us == 0 || us == ^uint32(0) {
		return 0
	}
	return time.Duration(us) * time.Microsecond
}
