package sshio

import (
	"net"
	"time"
)

// MinRTT is the smallest round trip c's path has shown, as the kernel's
// TCP measures it (or as c tells, a channel of a connection over TCP: the
// first hop's), 0 if unknown. A receive window grows with the round trip:
// timed inside SSH alone, a round trip on a short path whose buffers hold
// the whole window reads as the time to drain them, and the window grew
// where nothing was gained.
//
// A wrapper that adds nothing to the path shows what it wraps with
// NetConn, as crypto/tls's Conn does.
func MinRTT(c net.Conn) time.Duration {
	r, inner, ok := unwrap[interface{ MinRTT() time.Duration }](c)
	if ok {
		return r.MinRTT()
	}
	return tcpMinRTT(inner)
}
