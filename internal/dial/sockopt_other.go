//go:build !linux

package dial

import "net"

// limitUnsent is Linux's TCP_NOTSENT_LOWAT (sockopt_linux.go).
func limitUnsent(*net.TCPConn) {}
