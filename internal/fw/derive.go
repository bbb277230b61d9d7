package fw

// Deriving a policy from what the kernel has seen: every guest port is
// bound to the stations the bridge learned on it (FDB) with the IPs the
// namespace's neighbour table gives them; ports that lead to another
// bridge or to the namespace's own stack are border ports.

import (
	"fmt"
	"net"
	"net/netip"

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
