package fw

// Rule generation. The layout, and why it is ordered as it is, is
// explained in docs/fw-policy.md ("Rule order"); in short:
//
//	prerouting  iifname P jump in_P       every frame a guest port sends
//	            iifname B jump border_B   every frame a border port brings
//	forward     oifname P jump out_P      every frame bridged out to a guest
//	output      oifname P jump out_P      every frame the host sends to a guest
//
// Chains of ours only drop or return, never accept, so no rule of ours can
// let a frame skip a check made elsewhere: on each bridge a frame crosses,
// its ingress port's IN checks and its egress port's OUT checks both run.

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// TableName is the one nftables table (family bridge) jumpgate owns.
const TableName = "jumpgate"

// Hooks of the bridge family that our base chains attach to.
const (
	HookPrerouting = "prerouting"
	HookForward    = "forward"
	HookOutput     = "output"
)

// Chain is one chain of our table; Hook is empty for a regular chain.
type Chain struct {
	Name  string
	Hook  string
	Rules []Rule
}

// Ruleset is the whole of our table, ready to print or install.
type Ruleset struct {
	Sets   []Set
	Chains []Chain
	// Summary counts what the rules guard, for `fw plan`.
	Summary Summary
}

// Summary is what a ruleset covers.
type Summary struct {
	Bridges, GuestPorts, BorderPorts, Stations, Rules int
	// RemoteStations are those listed beyond borders to other hosts.
	RemoteStations int
}

// String is the summary `fw plan` and `fw apply` print.
func (s Summary) String() string {
	remote := ""
	if s.RemoteStations > 0 {
		remote = fmt.Sprintf(" (%d remote stations)", s.RemoteStations)
	}
	return fmt.Sprintf("%d bridges, %d guest ports (%d stations), %d border ports%s: %d rules in table bridge %s",
		s.Bridges, s.GuestPorts, s.Stations, s.BorderPorts, remote, s.Rules, TableName)
}

// Generate turns a validated policy into our table's rules.
func Generate(p *Policy) (*Ruleset, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	g := &generator{p: p, names: map[string]bool{}, rs: &Ruleset{}}
	pre := Chain{Name: HookPrerouting, Hook: HookPrerouting}
	fwd := Chain{Name: HookForward, Hook: HookForward}
	out := Chain{Name: HookOutput, Hook: HookOutput}
	var regular []Chain
	for _, b := range p.Bridges {
		g.rs.Summary.Bridges++
		for _, pt := range b.Ports {
			switch pt.Role {
			case RoleGuest:
				g.rs.Summary.GuestPorts++
				g.rs.Summary.Stations += len(pt.Bind)
				in, o := g.guest(pt)
				pre.Rules = append(pre.Rules, rule("jump "+in.Name, false, ifName(false, pt.Name)))
				fwd.Rules = append(fwd.Rules, rule("jump "+o.Name, false, ifName(true, pt.Name)))
				out.Rules = append(out.Rules, rule("jump "+o.Name, false, ifName(true, pt.Name)))
				regular = append(regular, in, o)
			case RoleBorder:
				g.rs.Summary.BorderPorts++
				g.rs.Summary.RemoteStations += len(pt.Remote)
				c := g.border(b.Name, pt)
				pre.Rules = append(pre.Rules, rule("jump "+c.Name, false, ifName(false, pt.Name)))
				regular = append(regular, c)
			}
		}
	}
	g.rs.Chains = append([]Chain{pre, fwd, out}, regular...)
	for _, c := range g.rs.Chains {
		g.rs.Summary.Rules += len(c.Rules)
	}
	return g.rs, nil
}

type generator struct {
	p     *Policy
	names map[string]bool
	rs    *Ruleset
}

// name makes an nft identifier from prefix and an interface name, unique
// within the table. Interface names may hold characters nft's grammar
// does not take in identifiers; those become '_'.
func (g *generator) name(prefix, ifname string) string {
	var b strings.Builder
	b.WriteString(prefix)
	for _, r := range ifname {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	n := b.String()
	for i := 2; g.names[n]; i++ {
		n = fmt.Sprintf("%s_%d", b.String(), i)
	}
	g.names[n] = true
	return n
}

func (g *generator) set(prefix, ifname string, t SetType, elems []string) string {
	slices.Sort(elems)
	elems = slices.Compact(elems)
	s := Set{Name: g.name(prefix, ifname), Type: t, Elems: elems}
	g.rs.Sets = append(g.rs.Sets, s)
	return s.Name
}

// stationSets adds the MAC, IPv4 and IPv6 sets of stations.
func (g *generator) stationSets(prefix, ifname string, st []Station) (mac, ip4, ip6 string) {
	var macs, v4, v6 []string
	for _, s := range st {
		macs = append(macs, s.MAC.String())
		for _, a := range s.IP4() {
			v4 = append(v4, a.String())
		}
		for _, a := range s.IP6() {
			v6 = append(v6, a.String())
		}
	}
	slices.SortFunc(v4, cmpAddr)
	slices.SortFunc(v6, cmpAddr)
	return g.set(prefix+"mac_", ifname, SetEtherAddr, macs),
		g.set(prefix+"ip4_", ifname, SetIPv4Addr, v4),
		g.set(prefix+"ip6_", ifname, SetIPv6Addr, v6)
}

func cmpAddr(a, b string) int {
	return netip.MustParseAddr(a).Compare(netip.MustParseAddr(b))
}

// guest returns the IN chain (frames the port sends) and the OUT chain
// (frames delivered to it) of a guest port.
func (g *generator) guest(pt Port) (in, out Chain) {
	mac, ip4, ip6 := g.stationSets("", pt.Name, pt.Bind)
	in = Chain{Name: g.name("in_", pt.Name), Rules: []Rule{
		// Layer 2: the frame's source MAC is one bound to the port.
		rule("drop", true, etherAddrSet(false, true, mac)),
		// ARP (RFC 826): only Ethernet/IPv4 ARP, so that the fixed offsets
		// below read the fields receivers act on; then the sender's MAC
		// and IP must be the port's. A probe (RFC 5227, sender IP 0.0.0.0)
		// claims nothing and passes.
		rule("drop", true, arpField("arp htype != 1", 0, true, be16(1))),
		rule("drop", true, arpField("arp ptype != ip", 2, true, be16(etherTypeIPv4))),
		rule("drop", true, arpField("arp hlen != 6", 4, true, []byte{6})),
		rule("drop", true, arpField("arp plen != 4", 5, true, []byte{4})),
		rule("drop", true, arpSet(false, true, mac)),
		rule("return", false, arpField("arp saddr ip 0.0.0.0", arpSPAOffset, false, []byte{0, 0, 0, 0})),
		rule("drop", true, arpSet(true, true, ip4)),
		rule("return", false, etherType("arp", etherTypeARP)),
		// IPv4: a DHCP client's discover has no address yet; anything
		// else must come from a bound address.
		rule("return", false, dhcpDiscover()),
		rule("drop", true, ipSaddrSet(false, true, ip4)),
		rule("return", false, etherType("ip", etherTypeIPv4)),
		// IPv6 likewise, with duplicate address detection as the exception.
		rule("return", false, dadProbe()),
		rule("drop", true, ipSaddrSet(true, true, ip6)),
		rule("return", false, etherType("ip6", etherTypeIPv6)),
		// Anything else (VLAN tags, PPPoE, LLDP, …) would carry its own
		// addresses past the checks above: a guest sends none of it.
		rule("drop", true),
	}}
	out = Chain{Name: g.name("out_", pt.Name), Rules: []Rule{
		// Unicast reaches a guest only when addressed to one of its MACs:
		// frames flooded because the bridge does not know the destination
		// (or was made to forget it) are not shown to bystanders.
		rule("drop", true, etherDaddrUnicast(), etherAddrSet(true, true, mac)),
	}}
	return in, out
}

// border returns the IN chain of a border port: frames from the other
// side may not claim a station that lives on this side of the port (nor
// one known to live beyond another border to a remote bridge), and, when
// the port is closed, must come from a station known beyond it.
func (g *generator) border(bridge string, pt Port) Chain {
	beyond := g.reach(bridge, pt.Peer)
	var foreign []Station
	for _, b := range g.p.Bridges {
		if beyond[b.Name] {
			continue
		}
		for _, p := range b.Ports {
			foreign = append(foreign, p.Bind...)
			if p.Name != pt.Name {
				foreign = append(foreign, p.Remote...)
			}
		}
	}
	c := Chain{Name: g.name("border_", pt.Name)}
	if pt.Closed {
		var macs []string
		for _, s := range pt.Remote {
			macs = append(macs, s.MAC.String())
		}
		only := g.set("remote_mac_", pt.Name, SetEtherAddr, macs)
		c.Rules = append(c.Rules,
			rule("drop", true, etherAddrSet(false, true, only)),
			rule("drop", true, arpSet(false, true, only)))
	}
	mac, ip4, ip6 := g.stationSets("not_", pt.Name, foreign)
	c.Rules = append(c.Rules,
		rule("drop", true, etherAddrSet(false, false, mac)),
		rule("drop", true, arpSet(false, false, mac)),
		rule("drop", true, arpSet(true, false, ip4)))
	// IP sources are checked only between bridges: behind the host or an
	// outside network there may be a router, which forwards packets from
	// anywhere, including our own stations' addresses.
	if g.p.Bridge(pt.Peer) != nil || pt.Peer == PeerRemote {
		c.Rules = append(c.Rules,
			rule("drop", true, ipSaddrSet(false, false, ip4)),
			rule("drop", true, ipSaddrSet(true, false, ip6)))
	}
	return c
}

// reach returns the bridges reachable through a border port of bridge
// from to peer: peer and every bridge linked to it other than through
// from. The host and external peers lead to no bridge of ours.
func (g *generator) reach(from, peer string) map[string]bool {
	seen := map[string]bool{from: true}
	out := map[string]bool{}
	queue := []string{peer}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		b := g.p.Bridge(n)
		if b == nil || seen[n] {
			continue
		}
		seen[n], out[n] = true, true
		for _, p := range b.Ports {
			if p.Role == RoleBorder {
				queue = append(queue, p.Peer)
			}
		}
	}
	return out
}

// Text renders the ruleset as an nft script, as `nft -s list table bridge
// jumpgate` prints it; `nft -f` loads it.
func (rs *Ruleset) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "table bridge %s {\n", TableName)
	first := true
	sep := func() {
		if !first {
			b.WriteString("\n")
		}
		first = false
	}
	for _, s := range rs.Sets {
		sep()
		fmt.Fprintf(&b, "\tset %s {\n\t\ttype %s\n", s.Name, s.Type)
		if len(s.Elems) > 0 {
			fmt.Fprintf(&b, "\t\telements = { %s }\n", strings.Join(s.Elems, ", "))
		}
		b.WriteString("\t}\n")
	}
	for _, c := range rs.Chains {
		sep()
		fmt.Fprintf(&b, "\tchain %s {\n", c.Name)
		if c.Hook != "" {
			fmt.Fprintf(&b, "\t\ttype filter hook %s priority filter; policy accept;\n", c.Hook)
		}
		for _, r := range c.Rules {
			fmt.Fprintf(&b, "\t\t%s\n", r.Text())
		}
		b.WriteString("\t}\n")
	}
	b.WriteString("}\n")
	return b.String()
}

// Target is the network namespace whose nftables [Apply] and [Flush]
// change.
type Target struct {
	// NetNS is the path of a network namespace file (/run/netns/NAME,
	// /proc/PID/ns/net); empty for the caller's own namespace.
	NetNS string
}
