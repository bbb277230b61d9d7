package sshio

import "net"

// Cork holds back the partial segments of what is written to c's TCP
// socket until the returned function is called, so that a burst of
// packets leaves in full segments (TCP_CORK; c as for [MinRTT], a
// channel corking the socket of the connection under it). With
// TCP_NODELAY, each packet's last segment would go out alone and wake
// the host across once more; two-hop uploads were 15-18% slower for it
// (docs/perf.md). The caller must uncork before it waits on anything but
// the socket: the kernel holds a corked segment for up to 200 ms. Where
// c has no socket to cork, both are no-ops.
func Cork(c net.Conn) (uncork func()) {
	k, inner, ok := unwrap[interface{ Cork() func() }](c)
	if ok {
		return k.Cork()
	}
	return corkTCP(inner)
}
