package sshio

import "net"

// RelayMessage is the most bytes one write to c crosses a relay as one
// message, 0 if c does not tell: a hop through a jump host's master, which
// copies each read of its socket into a channel whole. A connection over
// c sizes its packets to fit, or each would cross as a full message and
// a runt, each encrypted, sent and woken for on its own. Wrappers show
// what they wrap with NetConn, as for [MinRTT].
//
// A channel in the same process does not tell (sshwire.ChannelConn): the
// packets of a connection over it are split under a cork below, and
// two-hop uploads were 13% slower with them shrunk to fit (docs/perf.md).
func RelayMessage(c net.Conn) int {
	if r, _, ok := unwrap[interface{ RelayMessage() int }](c); ok {
		return r.RelayMessage()
	}
	return 0
}
