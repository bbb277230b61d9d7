package topo

// A fleet is several hosts discovered at once. Each host keeps its own
// Topology; [Join] finds what links them:
//
//   - veth pairs whose ends are on different hosts: hosts that are
//     namespaces of one kernel (a lab, containers; same Kernel), where
//     neither end could name the other's namespace, joined by ifindexes
//     that point at each other;
//   - VXLAN devices of one VNI where one's remote is an address of the
//     other's host (a remote no discovered host holds stays a loose end);
//   - layer-3 tunnels (`jumpgate vpn`, ssh -w): tun devices whose
//     addresses share one point-to-point subnet (/30 or /31, /126 or /127).

import (
	"cmp"
	"net/netip"
	"slices"
	"strings"
)

// Kinds of [HostLink].
const (
	HostLinkVeth  = "veth"
	HostLinkVXLAN = "vxlan"
	HostLinkVPN   = "vpn"
)

// Fleet is several hosts' topologies and the links between them.
type Fleet struct {
	// Schema is [SchemaVersion].
	Schema int `json:"schema"`
	// Hosts are in the order they were asked for.
	Hosts []FleetHost `json:"hosts"`
	// Links are the links between hosts (and between namespaces of one
	// host that only a fleet view joins, such as a tunnel's two ends).
	Links []HostLink `json:"links,omitempty"`
}

// FleetHost is one host of a fleet: its topology, or why there is none.
type FleetHost struct {
	// Name is the host as it was asked for (a command-line target or an
	// ssh_config Host).
	Name string `json:"name"`
	// Topology is nil when the host could not be discovered.
	Topology *Topology `json:"topology,omitempty"`
	// Error says why the host could not be discovered.
	Error string `json:"error,omitempty"`
}

// HostLink is a link between two hosts' devices.
type HostLink struct {
	// Kind is one of the HostLink constants.
	Kind string  `json:"kind"`
	A    LinkEnd `json:"a"`
	B    LinkEnd `json:"b"`
	// VNI is a VXLAN link's segment.
	VNI int `json:"vni,omitempty"`
}

// LinkEnd is one end of a [HostLink].
type LinkEnd struct {
	// Host is a [FleetHost.Name], "" for a VXLAN remote no host holds.
	Host string `json:"host,omitempty"`
	// Namespace is a [Namespace.ID] on Host.
	Namespace string `json:"namespace"`
	Link      string `json:"link,omitempty"`
	// Addr is the tunnel address of a vpn end, or the remote of a loose
	// VXLAN end.
	Addr string `json:"addr,omitempty"`
}

// Host returns the fleet's host named name, or nil.
func (f *Fleet) Host(name string) *FleetHost {
	for i := range f.Hosts {
		if f.Hosts[i].Name == name {
			return &f.Hosts[i]
		}
	}
	return nil
}

// Unreachable counts the hosts that could not be discovered.
func (f *Fleet) Unreachable() int {
	n := 0
	for _, h := range f.Hosts {
		if h.Topology == nil {
			n++
		}
	}
	return n
}

// Join makes a fleet of hosts and finds the links between them.
func Join(hosts []FleetHost) *Fleet {
	f := &Fleet{Schema: SchemaVersion, Hosts: hosts}
	f.Links = append(f.Links, joinVeths(hosts)...)
	f.Links = append(f.Links, joinVXLANs(hosts)...)
	f.Links = append(f.Links, joinTunnels(hosts)...)
	slices.SortStableFunc(f.Links, hostLinkOrder)
	return f
}

// end is a device of a fleet with where it lives.
type end struct {
	host int
	ns   *Namespace
	link *Link
}

func (e end) linkEnd(hosts []FleetHost) LinkEnd {
	return LinkEnd{Host: hosts[e.host].Name, Namespace: e.ns.ID, Link: e.link.Name}
}

// each calls fn for every link of every discovered host.
func each(hosts []FleetHost, fn func(end)) {
	for h := range hosts {
		t := hosts[h].Topology
		if t == nil {
			continue
		}
		for i := range t.Namespaces {
			ns := &t.Namespaces[i]
			for j := range ns.Links {
				fn(end{h, ns, &ns.Links[j]})
			}
		}
	}
}

func joinVeths(hosts []FleetHost) []HostLink {
	type key struct {
		kernel      string
		index, peer int
	}
	open := map[key][]end{}
	loose := func(e end) (key, bool) {
		k := hosts[e.host].Topology.Kernel
		l := e.link
		if l.Kind != KindVeth || l.Peer == nil || l.Peer.Name != "" || k == "" {
			return key{}, false
		}
		return key{k, l.Index, l.Peer.Index}, true
	}
	each(hosts, func(e end) {
		if k, ok := loose(e); ok {
			open[k] = append(open[k], e)
		}
	})
	// partner is the one end on another host whose indexes point back;
	// ifindexes are small numbers that repeat across namespaces, so among
	// several, the one sharing a subnet with this end (or its bridge).
	partner := func(a end) (end, bool) {
		k, _ := loose(a)
		var cands []end
		for _, b := range open[key{k.kernel, k.peer, k.index}] {
			if b.host != a.host {
				cands = append(cands, b)
			}
		}
		if len(cands) > 1 {
			cands = slices.DeleteFunc(cands, func(b end) bool { return !sameSubnet(a, b) })
		}
		if len(cands) != 1 {
			return end{}, false
		}
		return cands[0], true
	}
	var out []HostLink
	each(hosts, func(a end) {
		if _, ok := loose(a); !ok {
			return
		}
		b, ok := partner(a)
		if !ok || b.host < a.host {
			return
		}
		if back, ok := partner(b); !ok || back.link != a.link {
			return
		}
		out = append(out, HostLink{Kind: HostLinkVeth, A: a.linkEnd(hosts), B: b.linkEnd(hosts)})
	})
	return out
}

// sameSubnet reports whether an address of a (or of its bridge) and one
// of b (or of its bridge) are in one subnet.
func sameSubnet(a, b end) bool {
	for _, pa := range endPrefixes(a) {
		for _, pb := range endPrefixes(b) {
			if pa.Contains(pb.Addr()) || pb.Contains(pa.Addr()) {
				return true
			}
		}
	}
	return false
}

func endPrefixes(e end) []netip.Prefix {
	addrs := slices.Clone(e.link.Addresses)
	if br := e.ns.Link(e.link.Master); e.link.Master != "" && br != nil {
		addrs = append(addrs, br.Addresses...)
	}
	var out []netip.Prefix
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.CIDR); err == nil && a.Scope != "link" && a.Scope != "host" {
			out = append(out, p)
		}
	}
	return out
}

func joinVXLANs(hosts []FleetHost) []HostLink {
	// Which host holds an address, and its vxlan devices by VNI.
	holder := map[string][]int{}
	vxlans := map[int][]end{}
	each(hosts, func(e end) {
		for _, a := range e.link.Addresses {
			ip, _, _ := strings.Cut(a.CIDR, "/")
			if !slices.Contains(holder[ip], e.host) {
				holder[ip] = append(holder[ip], e.host)
			}
		}
		if e.link.VXLAN != nil {
			vxlans[e.link.VXLAN.VNI] = append(vxlans[e.link.VXLAN.VNI], e)
		}
	})
	seen := map[[2]*Link]bool{}
	var out []HostLink
	each(hosts, func(a end) {
		v := a.link.VXLAN
		if v == nil {
			return
		}
		for _, r := range v.Remotes {
			found := false
			for _, h := range holder[r] {
				for _, b := range vxlans[v.VNI] {
					if b.host != h || b.host == a.host {
						continue
					}
					found = true
					pair := [2]*Link{a.link, b.link}
					if seen[pair] {
						continue
					}
					seen[pair], seen[[2]*Link{b.link, a.link}] = true, true
					out = append(out, HostLink{Kind: HostLinkVXLAN, VNI: v.VNI, A: a.linkEnd(hosts), B: b.linkEnd(hosts)})
				}
			}
			if !found {
				out = append(out, HostLink{Kind: HostLinkVXLAN, VNI: v.VNI, A: a.linkEnd(hosts), B: LinkEnd{Addr: r}})
			}
		}
	})
	return out
}

func joinTunnels(hosts []FleetHost) []HostLink {
	type tunEnd struct {
		end
		addr netip.Prefix
	}
	bySubnet := map[netip.Prefix][]tunEnd{}
	var order []netip.Prefix
	each(hosts, func(e end) {
		if e.link.Kind != KindTun {
			return
		}
		for _, a := range e.link.Addresses {
			p, err := netip.ParsePrefix(a.CIDR)
			if err != nil || p.Bits() < p.Addr().BitLen()-2 || p.Bits() == p.Addr().BitLen() {
				continue
			}
			s := p.Masked()
			if bySubnet[s] == nil {
				order = append(order, s)
			}
			bySubnet[s] = append(bySubnet[s], tunEnd{e, p})
		}
	})
	var out []HostLink
	for _, s := range order {
		es := bySubnet[s]
		if len(es) != 2 || es[0].addr.Addr() == es[1].addr.Addr() {
			continue
		}
		a, b := es[0].linkEnd(hosts), es[1].linkEnd(hosts)
		a.Addr, b.Addr = es[0].addr.String(), es[1].addr.String()
		out = append(out, HostLink{Kind: HostLinkVPN, A: a, B: b})
	}
	return out
}

// hostLinkOrder sorts links for output: by kind, then ends.
func hostLinkOrder(a, b HostLink) int {
	return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.A.Host, b.A.Host), cmp.Compare(a.A.Link, b.A.Link),
		cmp.Compare(a.B.Host, b.B.Host), cmp.Compare(a.B.Link, b.B.Link))
}
