package vpn

import (
	"net"
	"net/netip"

	"github.com/jumpgate/jumpgate/internal/dial"
)

// FirstHopMTU is the MTU of the local link the connection (or its first
// jump host's) leaves by; 0 if unknown.
func FirstHopMTU(c *dial.Conn) int {
	for c.Via != nil {
		c = c.Via
	}
	ta, ok := c.Conn.LocalAddr().(*net.TCPAddr)
	if !ok {
		return 0
	}
	ip, ok := netip.AddrFromSlice(ta.IP)
	if !ok {
		return 0
	}
	return LinkMTU(ip)
}
