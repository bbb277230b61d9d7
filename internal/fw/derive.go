package fw

// Deriving a policy from what the kernel has seen: every guest port is
// bound to the stations the bridge learned on it (FDB) with the IPs the
// namespace's neighbour table gives them; ports that lead to another
// bridge or to the namespace's own stack are border ports.

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"

	"github.com/jumpgate/jumpgate/internal/cfgfile"
	"github.com/jumpgate/jumpgate/internal/topo"
)

// FromTopology derives a policy for the bridges of namespace nsID (""
// for the root namespace) in t. Warnings say where the policy is only as
// good as what was seen: a guest with no station or no IP seen.
//
// A port's role follows from its link: a tap, or a veth whose other end
// is in another namespace, is a guest port; a veth whose other end is a
// port of a bridge in the same namespace is a border to that bridge; a
// veth whose other end is not on a bridge is a border to the host; any
// other link (a NIC, a VLAN, a tunnel) is a border to an external network.
func FromTopology(t *topo.Topology, nsID string) (*Policy, []string, error) {
	return derive(t, nsID, nil)
}

// joins is what a fleet adds to one host's view ([PlanFleet]).
type joins interface {
	// ips returns the IPs seen for mac anywhere on bridge's segment,
	// on any host.
	ips(bridge, mac string) []netip.Addr
	// remote returns the stations beyond port when it leads to a bridge
	// on another host, and whether that is all there is beyond it.
	remote(port string) (sts []Station, closed, ok bool, warns []string)
}

// LoadPolicy reads and parses a policy file (within cfgfile's limits).
func LoadPolicy(ctx context.Context, file string) (*Policy, error) {
	data, err := cfgfile.Read(ctx, file)
	if err != nil {
		return nil, fmt.Errorf("read policy: %w", err)
	}
	return ParsePolicy(file, data)
}

// DeriveLocal discovers this machine's namespace netns ("" for its own)
// and derives the policy of its bridges, as [FromTopology].
func DeriveLocal(ctx context.Context, netns string) (*Policy, []string, error) {
	t, err := topo.Discover(ctx, topo.Options{Filter: func(name string) bool { return name == netns }})
	if err != nil {
		return nil, nil, fmt.Errorf("discover the topology to derive a policy: %w", err)
	}
	return FromTopology(t, netns)
}

func derive(t *topo.Topology, nsID string, j joins) (*Policy, []string, error) {
	ns := t.Namespace(nsID)
	if ns == nil {
		return nil, nil, fmt.Errorf("namespace %q not in the topology", nsID)
	}
	p := &Policy{Version: PolicyVersion}
	var warns []string
	bound := map[string]string{}
	for _, b := range ns.Bridges {
		pb := Bridge{Name: b.Name}
		for _, port := range b.Ports {
			pt := Port{Name: port.Name}
			if j != nil {
				sts, closed, ok, why := j.remote(port.Name)
				for _, w := range why {
					warns = append(warns, fmt.Sprintf("bridge %s: port %s: %s", b.Name, port.Name, w))
				}
				if ok {
					pt.Role, pt.Peer, pt.Remote, pt.Closed = RoleBorder, PeerRemote, sts, closed
					pb.Ports = append(pb.Ports, pt)
					continue
				}
			}
			role, peer, why := classify(t, ns, port)
			pt.Role, pt.Peer = role, peer
			if why != "" {
				warns = append(warns, fmt.Sprintf("bridge %s: port %s: %s", b.Name, port.Name, why))
			}
			if role == RoleGuest {
				pt.Bind = []Station{}
				for _, s := range port.Stations {
					st, err := station(s)
					if err != nil {
						warns = append(warns, fmt.Sprintf("bridge %s: port %s: %v; left out", b.Name, port.Name, err))
						continue
					}
					if other, ok := bound[st.MAC.String()]; ok {
						warns = append(warns, fmt.Sprintf("bridge %s: port %s: mac %s was also seen on port %s; left out", b.Name, port.Name, st.MAC, other))
						continue
					}
					bound[st.MAC.String()] = port.Name
					if j != nil {
						st.IPs = addIPs(st.IPs, j.ips(b.Name, st.MAC.String()))
					}
					if len(st.IPs) == 0 {
						warns = append(warns, fmt.Sprintf("bridge %s: port %s: no IP seen for %s, so its IP traffic will be dropped (ping it from this host first, or write a policy)", b.Name, port.Name, st.MAC))
					}
					pt.Bind = append(pt.Bind, st)
				}
				if len(pt.Bind) == 0 {
					warns = append(warns, fmt.Sprintf("bridge %s: port %s: no station seen, so nothing it sends will pass (let it send first, or write a policy)", b.Name, port.Name))
				}
			}
			pb.Ports = append(pb.Ports, pt)
		}
		p.Bridges = append(p.Bridges, pb)
	}
	warns = append(warns, dropRemoteTwice(p, bound)...)
	if err := p.Validate(); err != nil {
		return nil, warns, fmt.Errorf("derived policy: %w", err)
	}
	return p, warns, nil
}

func classify(t *topo.Topology, ns *topo.Namespace, port topo.Port) (Role, string, string) {
	l := ns.Link(port.Name)
	if l == nil {
		return RoleBorder, PeerExternal, "link not found; taken as a border to an external network"
	}
	switch l.Kind {
	case topo.KindTap, topo.KindTun:
		return RoleGuest, "", ""
	case topo.KindVeth:
		if l.Peer == nil {
			return RoleBorder, PeerExternal, "veth peer not visible; taken as a border to an external network"
		}
		if l.Peer.Namespace != ns.ID {
			return RoleGuest, "", ""
		}
		_, peer := t.Peer(l)
		switch {
		case peer == nil:
			return RoleBorder, PeerExternal, "veth peer not found; taken as a border to an external network"
		case peer.Master != "" && ns.Bridge(peer.Master) != nil:
			return RoleBorder, peer.Master, ""
		case peer.Master != "":
			return RoleBorder, PeerExternal, fmt.Sprintf("veth peer is enslaved to %s, not a bridge; taken as external", peer.Master)
		}
		return RoleBorder, PeerHost, ""
	}
	return RoleBorder, PeerExternal, ""
}

func station(s topo.Station) (Station, error) {
	mac, err := net.ParseMAC(s.MAC)
	if err != nil || len(mac) != 6 {
		return Station{}, fmt.Errorf("station mac %q is not an Ethernet address", s.MAC)
	}
	if err := checkStationMAC(mac); err != nil {
		return Station{}, err
	}
	st := Station{MAC: mac}
	for _, ip := range s.IPs {
		a, err := netip.ParseAddr(ip)
		if err != nil || a.IsUnspecified() || a.IsMulticast() || a.Zone() != "" {
			continue
		}
		st.IPs = append(st.IPs, a.Unmap())
	}
	return st, nil
}

// addIPs appends to ips those of more it does not hold.
func addIPs(ips, more []netip.Addr) []netip.Addr {
	for _, a := range more {
		if !slices.Contains(ips, a) {
			ips = append(ips, a)
		}
	}
	return ips
}

// dropRemoteTwice leaves out of a remote border's stations those bound to
// a guest port here (the local binding wins; the border then keeps the
// MAC out) and those already beyond another remote border; that border
// is no longer closed, since one of its stations is not listed.
func dropRemoteTwice(p *Policy, bound map[string]string) []string {
	var warns []string
	remote := map[string]string{}
	for bi := range p.Bridges {
		b := &p.Bridges[bi]
		for pi := range b.Ports {
			pt := &b.Ports[pi]
			pt.Remote = slices.DeleteFunc(pt.Remote, func(s Station) bool {
				m := s.MAC.String()
				if other, ok := bound[m]; ok {
					warns = append(warns, fmt.Sprintf("bridge %s: port %s: mac %s is a guest on another host and on port %s here; left out of the remote stations", b.Name, pt.Name, m, other))
					return true
				}
				if other, ok := remote[m]; ok {
					warns = append(warns, fmt.Sprintf("bridge %s: port %s: mac %s is also beyond port %s; left out, and the port left open", b.Name, pt.Name, m, other))
					pt.Closed = false
					return true
				}
				remote[m] = pt.Name
				return false
			})
		}
	}
	return warns
}
