package vpn

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// AutoRange is where tunnels without --local-addr/--remote-addr get their
// point-to-point /30: the top /22 of 198.18.0.0/15 (RFC 2544's benchmarking
// block), 256 tunnels, out of the way of the lab's 198.18.x.0/24 networks.
var AutoRange = netip.MustParsePrefix("198.19.252.0/22")

// Config is one end of a tunnel.
type Config struct {
	Mode Mode
	// Name is the device name or a pattern with %d ("jgtun%d").
	Name string
	MTU  int
	// Addrs are the device's addresses (L3), or those put on the bridge
	// (or on the tap without a bridge) for L2: IPv4, IPv6 or both.
	Addrs []netip.Prefix
	// Routes go through the tunnel (L3).
	Routes []netip.Prefix
	// NAT forwards and masquerades what arrives from the tunnel (L3).
	NAT bool
	// Bridge is the bridge the tap joins (L2); CreateBridge makes it when
	// missing, and then it is removed with the tunnel.
	Bridge       string
	CreateBridge bool
	// Ports are interfaces added to Bridge (L2), taken out again on exit.
	Ports []string
	// Offload opens the device with TSO/GSO and a virtio_net_hdr before
	// every packet (see [Open]).
	Offload bool
	// GSOMaxSize, when not zero, bounds the TCP segments the kernel hands
	// a device with offloads (its gso_max_size). A kernel that does not
	// let it be set hands larger ones, which the native transport cuts.
	GSOMaxSize int
}

// Validate checks a configuration before anything is made.
func (c *Config) Validate() error {
	switch c.Mode {
	case L3:
		if len(c.Addrs) == 0 {
			return fmt.Errorf("layer 3 tunnel needs an address")
		}
		if c.Bridge != "" || len(c.Ports) > 0 {
			return fmt.Errorf("bridges and ports are for layer 2 tunnels")
		}
	case L2:
		if len(c.Routes) > 0 || c.NAT {
			return fmt.Errorf("routes and NAT are for layer 3 tunnels")
		}
		if len(c.Ports) > 0 && c.Bridge == "" {
			return fmt.Errorf("ports need a bridge")
		}
	default:
		return fmt.Errorf("unknown tunnel mode %d", int(c.Mode))
	}
	if c.MTU < 576 || c.MTU > 65535 {
		return fmt.Errorf("MTU %d out of range 576…65535", c.MTU)
	}
	for _, a := range append(slices.Clone(c.Addrs), c.Routes...) {
		if !a.IsValid() {
			return fmt.Errorf("invalid prefix %v", a)
		}
		if a.Addr().Is6() && c.MTU < 1280 {
			return fmt.Errorf("IPv6 (%s) needs an MTU of 1280 or more, not %d", a, c.MTU)
		}
	}
	for _, n := range append(c.Ports, c.Bridge) {
		if len(n) > 15 || strings.ContainsAny(n, "/ \t\n%") {
			return fmt.Errorf("bad interface name %q", n)
		}
	}
	return nil
}

// PickPair returns the first /30 of AutoRange that overlaps none of used,
// as the near and far addresses (.1 and .2 of it).
func PickPair(used []netip.Prefix) (near, far netip.Prefix, err error) {
	base := AutoRange.Masked().Addr().As4()
	for i := 0; i < 1<<(32-AutoRange.Bits()-2); i++ {
		a := base
		v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
		v += uint32(i) * 4
		cand := netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), 30)
		free := true
		for _, u := range used {
			if u.Overlaps(cand) {
				free = false
				break
			}
		}
		if free {
			n := cand.Addr().Next()
			return netip.PrefixFrom(n, 30), netip.PrefixFrom(n.Next(), 30), nil
		}
	}
	return netip.Prefix{}, netip.Prefix{}, fmt.Errorf("no free /30 left in %s", AutoRange)
}

// natTable is the nftables table of a tunnel's NAT, named for its device.
func natTable(dev string) string { return "jumpgate_" + strings.ReplaceAll(dev, "-", "_") }

// NATRuleset is the nftables ruleset that forwards and masquerades what
// arrives on dev, as `nft -f -` reads it. Its table is deleted on exit.
func NATRuleset(dev string) string {
	return fmt.Sprintf(`table ip %[1]s {
	chain forward {
		type filter hook forward priority filter; policy accept;
		iifname "%[2]s" accept
		oifname "%[2]s" ct state established,related accept
	}
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		iifname "%[2]s" oifname != "%[2]s" masquerade
	}
}
`, natTable(dev), dev)
}
