package fw

// Each host's policy from a fleet's joined topology ([topo.Join]). A host
// sees only its own half of a segment that spans hosts: its VXLAN port
// learns the far guests' MACs, its neighbour table may or may not know
// their IPs. The join supplies the rest:
//
//   - a port joined to a bridge on another host (VXLAN, or a veth whose
//     other end is there) is a border to PeerRemote, listing the stations
//     beyond it: the far bridges' guests, reached from its far end without
//     coming back to this host's namespace, and those bridges' own MACs;
//     it is closed when nothing else lies beyond (no uplink, no host port,
//     no end that leads to an undiscovered host);
//   - a station's IPs are those any host of its segment has seen for its
//     MAC, so a guest whose own host never talked to it is bound to the
//     IPs its peers across the tunnel resolved.

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"

	"github.com/jumpgate/jumpgate/internal/topo"
)

// HostPlan is one host's part of a fleet's rules.
type HostPlan struct {
	Host string
	// Policy and Rules are nil when Err is set.
	Policy *Policy
	Rules  *Ruleset
	// Warnings say where the policy is only as good as what was seen.
	Warnings []string
	// Err says why the host has no rules (it could not be discovered,
	// its policy not derived) or, after [ApplyFleet], why they are not
	// installed.
	Err error
	// Unreached marks a host that could not be discovered or reached.
	Unreached bool
}

// PlanFleet derives, for every host of f, the policy of the bridges of
// its namespace nsID ("" for the host's own) from the joined topology,
// and generates its rules. A host that could not be discovered has its
// discovery error.
func PlanFleet(f *topo.Fleet, nsID string) []HostPlan {
	g := newFleetGraph(f)
	plans := make([]HostPlan, len(f.Hosts))
	for i, h := range f.Hosts {
		hp := &plans[i]
		hp.Host = h.Name
		if h.Topology == nil {
			hp.Err, hp.Unreached = fmt.Errorf("cannot be discovered: %s", h.Error), true
			continue
		}
		p, warns, err := derive(h.Topology, nsID, hostJoins{g: g, host: i, ns: nsID})
		hp.Warnings = warns
		if err == nil {
			hp.Policy = p
			hp.Rules, err = Generate(p)
		}
		if err != nil {
			hp.Err, hp.Policy = err, nil
		}
	}
	return plans
}

// FleetNetns is the namespace pattern a fleet's discovery keeps
// ([topo.KeepNamespaces]) to plan namespace nsID on every host: the
// host's own and nsID, no other (a lab's hosts may see each other's).
func FleetNetns(nsID string) string {
	if nsID == "" {
		return "/" // names no namespace: the root one only
	}
	var b strings.Builder
	for _, r := range nsID {
		if strings.ContainsRune(`*?[\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// bridgeKey names a bridge of a fleet; portKey a device.
type bridgeKey struct {
	host       int
	ns, bridge string
}

type portKey struct {
	host     int
	ns, port string
}

type fleetGraph struct {
	f *topo.Fleet
	// far maps a device to the devices on other hosts it is joined to;
	// loose marks a VXLAN with a remote no discovered host holds.
	far   map[portKey][]portKey
	loose map[portKey]bool
	// seg numbers the segment (bridges joined locally or across hosts)
	// each bridge belongs to; ips maps a segment and MAC to the IPs seen.
	seg map[bridgeKey]int
	ips map[int]map[string][]netip.Addr
}

func newFleetGraph(f *topo.Fleet) *fleetGraph {
	g := &fleetGraph{f: f, far: map[portKey][]portKey{}, loose: map[portKey]bool{}, seg: map[bridgeKey]int{}, ips: map[int]map[string][]netip.Addr{}}
	index := map[string]int{}
	for i, h := range f.Hosts {
		if _, ok := index[h.Name]; !ok {
			index[h.Name] = i
		}
	}
	for _, l := range f.Links {
		if l.Kind == topo.HostLinkVXLAN && l.A.Host != "" && l.B.Host == "" {
			g.loose[portKey{index[l.A.Host], l.A.Namespace, l.A.Link}] = true
		}
		if l.Kind != topo.HostLinkVXLAN && l.Kind != topo.HostLinkVeth || l.A.Host == "" || l.B.Host == "" {
			continue
		}
		a := portKey{index[l.A.Host], l.A.Namespace, l.A.Link}
		b := portKey{index[l.B.Host], l.B.Namespace, l.B.Link}
		g.far[a] = append(g.far[a], b)
		g.far[b] = append(g.far[b], a)
	}
	// Segments: union-find over bridges, through local bridge-to-bridge
	// veths and joined devices.
	parent := map[bridgeKey]bridgeKey{}
	var find func(bridgeKey) bridgeKey
	find = func(k bridgeKey) bridgeKey {
		p, ok := parent[k]
		if !ok || p == k {
			return k
		}
		r := find(p)
		parent[k] = r
		return r
	}
	union := func(a, b bridgeKey) { parent[find(a)] = find(b) }
	g.eachBridge(func(k bridgeKey, t *topo.Topology, ns *topo.Namespace, b *topo.Bridge) {
		for _, port := range b.Ports {
			for _, fk := range g.far[portKey{k.host, k.ns, port.Name}] {
				if fb, ok := g.bridgeOf(fk); ok {
					union(k, fb)
				}
			}
			if role, peer, _ := classify(t, ns, port); role == RoleBorder && ns.Bridge(peer) != nil {
				union(k, bridgeKey{k.host, k.ns, peer})
			}
		}
	})
	segs := map[bridgeKey]int{}
	g.eachBridge(func(k bridgeKey, _ *topo.Topology, _ *topo.Namespace, b *topo.Bridge) {
		r := find(k)
		if _, ok := segs[r]; !ok {
			segs[r] = len(segs)
		}
		s := segs[r]
		g.seg[k] = s
		if g.ips[s] == nil {
			g.ips[s] = map[string][]netip.Addr{}
		}
		for _, port := range b.Ports {
			for _, st := range port.Stations {
				if s2, err := station(st); err == nil {
					m := s2.MAC.String()
					g.ips[s][m] = addIPs(g.ips[s][m], s2.IPs)
				}
			}
		}
	})
	for _, byMAC := range g.ips {
		for _, ips := range byMAC {
			slices.SortFunc(ips, netip.Addr.Compare)
		}
	}
	return g
}

// eachBridge calls fn for every bridge of every discovered host.
func (g *fleetGraph) eachBridge(fn func(bridgeKey, *topo.Topology, *topo.Namespace, *topo.Bridge)) {
	for i, h := range g.f.Hosts {
		if h.Topology == nil {
			continue
		}
		for j := range h.Topology.Namespaces {
			ns := &h.Topology.Namespaces[j]
			for k := range ns.Bridges {
				fn(bridgeKey{i, ns.ID, ns.Bridges[k].Name}, h.Topology, ns, &ns.Bridges[k])
			}
		}
	}
}

// where returns the topology and namespace of host's namespace ns.
func (g *fleetGraph) where(host int, ns string) (*topo.Topology, *topo.Namespace) {
	t := g.f.Hosts[host].Topology
	if t == nil {
		return nil, nil
	}
	return t, t.Namespace(ns)
}

// bridgeOf returns the bridge a device is a port of.
func (g *fleetGraph) bridgeOf(k portKey) (bridgeKey, bool) {
	_, ns := g.where(k.host, k.ns)
	if ns == nil {
		return bridgeKey{}, false
	}
	l := ns.Link(k.port)
	if l == nil || l.Master == "" || ns.Bridge(l.Master) == nil {
		return bridgeKey{}, false
	}
	return bridgeKey{k.host, k.ns, l.Master}, true
}

// hostJoins is what the fleet adds to one host's namespace.
type hostJoins struct {
	g    *fleetGraph
	host int
	ns   string
}

func (j hostJoins) ips(bridge, mac string) []netip.Addr {
	s, ok := j.g.seg[bridgeKey{j.host, j.ns, bridge}]
	if !ok {
		return nil
	}
	return j.g.ips[s][mac]
}

func (j hostJoins) remote(port string) ([]Station, bool, bool, []string) {
	g := j.g
	var queue []bridgeKey
	closed := !g.loose[portKey{j.host, j.ns, port}]
	for _, fk := range g.far[portKey{j.host, j.ns, port}] {
		if b, ok := g.bridgeOf(fk); ok {
			queue = append(queue, b)
		} else {
			closed = false // a device beyond that is not a bridge port
		}
	}
	if len(queue) == 0 {
		_, ns := g.where(j.host, j.ns)
		if l := ns.Link(port); l != nil && l.VXLAN != nil && len(l.VXLAN.Remotes) > 0 {
			return nil, false, false, []string{"its VXLAN's far ends are on no discovered host's bridge; taken as a border to an external network"}
		}
		return nil, false, false, nil
	}
	var sts []Station
	var warns []string
	seen := map[bridgeKey]bool{}
	for len(queue) > 0 {
		k := queue[0]
		queue = queue[1:]
		if seen[k] || k.host == j.host && k.ns == j.ns {
			continue // back on this side: not beyond the port
		}
		seen[k] = true
		t, ns := g.where(k.host, k.ns)
		if l := ns.Link(k.bridge); l != nil {
			if st, ok := bridgeStation(l); ok {
				st.IPs = addIPs(st.IPs, g.ips[g.seg[k]][st.MAC.String()])
				sts = append(sts, st)
			}
		}
		for _, p := range ns.Bridge(k.bridge).Ports {
			if g.loose[portKey{k.host, k.ns, p.Name}] {
				closed = false
			}
			if fks := g.far[portKey{k.host, k.ns, p.Name}]; len(fks) > 0 {
				for _, fk := range fks {
					if b, ok := g.bridgeOf(fk); ok {
						queue = append(queue, b)
					} else {
						closed = false
					}
				}
				continue
			}
			role, peer, _ := classify(t, ns, p)
			switch {
			case role == RoleGuest:
				n := len(sts)
				for _, s := range p.Stations {
					if st, err := station(s); err == nil {
						st.IPs = addIPs(st.IPs, g.ips[g.seg[k]][st.MAC.String()])
						sts = append(sts, st)
					}
				}
				if n == len(sts) && closed {
					warns = append(warns, fmt.Sprintf("no station seen on port %s of %s's bridge %s, so nothing it sends will pass here (let it send first)", p.Name, g.f.Hosts[k.host].Name, k.bridge))
				}
			case ns.Bridge(peer) != nil:
				queue = append(queue, bridgeKey{k.host, k.ns, peer})
			default:
				closed = false // an uplink or the far host's own stack
			}
		}
	}
	if !closed {
		warns = nil // an open border lets them through anyway
	}
	slices.SortStableFunc(sts, func(a, b Station) int { return strings.Compare(a.MAC.String(), b.MAC.String()) })
	sts = slices.CompactFunc(sts, func(a, b Station) bool {
		if a.MAC.String() == b.MAC.String() {
			warns = append(warns, fmt.Sprintf("mac %s is a station of more than one bridge beyond it", a.MAC))
			return true
		}
		return false
	})
	for i := range sts {
		slices.SortFunc(sts[i].IPs, netip.Addr.Compare)
		sts[i].IPs = slices.Compact(sts[i].IPs)
	}
	return sts, closed, true, warns
}

// bridgeStation is a far bridge's own stack as a station: its MAC and
// addresses, since the far host talks on the segment through it.
func bridgeStation(l *topo.Link) (Station, bool) {
	mac, err := net.ParseMAC(l.MAC)
	if err != nil || checkStationMAC(mac) != nil {
		return Station{}, false
	}
	st := Station{MAC: mac}
	for _, a := range l.Addresses {
		p, err := netip.ParsePrefix(a.CIDR)
		if err != nil || p.Addr().IsMulticast() || p.Addr().IsUnspecified() {
			continue
		}
		st.IPs = append(st.IPs, p.Addr().Unmap())
	}
	return st, true
}
