package topo

import "strconv"

// resolvePeers turns each veth's raw peer (ifindex and netnsid, as the
// kernel reports it relative to the link's own namespace) into the peer's
// namespace ID and name.
//
// A netnsid only means something inside the namespace that holds it, so a
// peer is found by, in order: the netnsid's name when discovery knew it
// (`ip netns list-id`); otherwise the one veth elsewhere whose index is
// the peer index, whose own peer index points back, and whose MAC matches
// the peer's MAC when discovery could read it. A peer nothing matches
// keeps the namespace "nsid:N" and no name.
func (t *Topology) resolvePeers() {
	byName := map[string]int{}
	for i, ns := range t.Namespaces {
		if ns.Name != "" {
			byName[ns.Name] = i
		}
	}
	for i := range t.Namespaces {
		a := &t.Namespaces[i]
		for j := range a.Links {
			l := &a.Links[j]
			p := l.Peer
			if p == nil || p.Name != "" {
				continue
			}
			if p.nsid < 0 {
				p.Namespace = a.ID
				if m := a.LinkByIndex(p.Index); m != nil {
					p.Name = m.Name
				}
				continue
			}
			if name, ok := a.nsids[p.nsid]; ok {
				if k, ok := byName[name]; ok {
					b := &t.Namespaces[k]
					p.Namespace = b.ID
					if m := b.LinkByIndex(p.Index); m != nil {
						p.Name = m.Name
					}
					continue
				}
			}
			var found *Namespace
			var name string
			n := 0
			for k := range t.Namespaces {
				if k == i {
					continue
				}
				b := &t.Namespaces[k]
				m := b.LinkByIndex(p.Index)
				if m == nil || m.Kind != KindVeth || m.Peer == nil || m.Peer.Index != l.Index || m.Peer.nsid < 0 {
					continue
				}
				if p.mac != "" && m.MAC != p.mac {
					continue
				}
				if back, ok := b.nsids[m.Peer.nsid]; ok && back != a.Name {
					continue
				}
				found, name = b, m.Name
				n++
			}
			if n == 1 {
				p.Namespace, p.Name = found.ID, name
			} else {
				p.Namespace = "nsid:" + strconv.Itoa(p.nsid)
			}
		}
	}
}
