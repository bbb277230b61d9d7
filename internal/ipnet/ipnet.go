// Package ipnet converts between net/netip's values and the *net.IPNet
// that netlink and older APIs take.
package ipnet

import (
	"net"
	"net/netip"
)

// FromPrefix returns p as a *net.IPNet: its address (not masked) and a
// mask as long as the address (4 or 16 bytes).
func FromPrefix(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}
