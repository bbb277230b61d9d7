//go:build !linux

package sshio

import (
	"net"
	"time"
)

func tcpMinRTT(net.Conn) time.Duration { return 0 }
