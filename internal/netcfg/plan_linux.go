package netcfg

// Planning compares the topology with the live kernel and lists the steps
// that would make them agree; each step knows how to undo itself, so that a
// failed apply can roll back what it made.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/jumpgate/jumpgate/internal/ipnet"
	"github.com/jumpgate/jumpgate/internal/nsexec"
)

// planner carries one plan's context; its steps close over it.
type planner struct {
	t     *Topology
	o     Options
	k     *kernel
	st    *state
	alias string
	steps []Step
	// created marks links a step of this plan creates, so later steps
	// know they will exist.
	created map[string]bool
}

func (p *planner) add(op byte, desc string, do, undo func() error) {
	p.steps = append(p.steps, Step{Op: op, Desc: desc, do: do, undo: undo})
}

// PlanApply lists what [Apply] would change, changing nothing.
func PlanApply(ctx context.Context, t *Topology, o Options) (*Plan, error) {
	k := newKernel(o)
	defer k.close()
	return planHosts(ctx, t, o, k, false)
}

func newPlanner(_ context.Context, t *Topology, o Options, k *kernel) (*planner, error) {
	st, err := loadState(o, o.owner(t))
	if err != nil {
		return nil, err
	}
	return &planner{t: t, o: o, k: k, st: st, alias: o.alias(t), created: map[string]bool{}}, nil
}

func (p *planner) netem() bool {
	if p.o.Netem != nil {
		return *p.o.Netem
	}
	return probeNetem()
}

// link finds a link, nil when it or its namespace does not exist.
func (p *planner) link(ns, name string) (netlink.Link, error) {
	if !p.k.nsExists(ns) {
		return nil, nil
	}
	h, err := p.k.handle(ns)
	if err != nil {
		return nil, err
	}
	l, err := h.LinkByName(name)
	var nf netlink.LinkNotFoundError
	if errors.As(err, &nf) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("look up %s/%s: %w", nsLabel(ns), name, err)
	}
	return l, nil
}

func (p *planner) plan(ctx context.Context) (*Plan, error) {
	links, emus, notes := expand(p.t, p.o.owner(p.t), p.netem())
	for _, ns := range p.t.Namespaces {
		if p.k.nsExists(ns.Name) {
			continue
		}
		p.add('+', "namespace "+p.k.realNS(ns.Name), func() error {
			if err := p.k.createNamespace(ns.Name); err != nil {
				return err
			}
			p.st.Namespaces = append(p.st.Namespaces, ns.Name)
			return p.st.save(p.o)
		}, func() error {
			// A namespace that appeared between plan and apply makes the
			// create fail; it is not ours, so rollback must leave it.
			if !p.st.ownsNamespace(ns.Name) {
				return nil
			}
			if err := p.k.removeNamespace(ns.Name); err != nil {
				return err
			}
			p.st.Namespaces = slices.DeleteFunc(p.st.Namespaces, func(s string) bool { return s == ns.Name })
			return p.st.save(p.o)
		})
	}
	for i := range links {
		if err := p.planLink(&links[i]); err != nil {
			return nil, err
		}
	}
	for i := range links {
		if err := p.planSettings(&links[i]); err != nil {
			return nil, err
		}
	}
	for _, e := range emus {
		p.planEmulator(ctx, e)
	}
	for _, r := range p.t.Routes {
		if err := p.planRoute(r); err != nil {
			return nil, err
		}
	}
	return &Plan{Steps: p.steps, Notes: notes}, nil
}

// ownedBy checks that an existing link carries our alias.
func (p *planner) ownedBy(l netlink.Link, ns string) error {
	if l.Attrs().Alias == p.alias {
		return nil
	}
	return fmt.Errorf("link %s/%s exists and is not owned by %q (its ifalias is %q, not %q); rename it or remove it first",
		nsLabel(ns), l.Attrs().Name, p.o.owner(p.t), l.Attrs().Alias, p.alias)
}

func (p *planner) planLink(s *linkSpec) error {
	l, err := p.link(s.ns, s.name)
	if err != nil {
		return err
	}
	if l != nil {
		if err := p.ownedBy(l, s.ns); err != nil {
			return err
		}
		if s.kind == kindBridge {
			return p.planBridgeAttrs(s, l)
		}
		return nil
	}
	if s.kind == kindPeer {
		if !p.created[s.ns+"/"+s.name] {
			return fmt.Errorf("veth end %s is missing but its peer exists; run destroy, then apply", s.label())
		}
		return nil
	}
	p.created[s.ns+"/"+s.name] = true
	undo := func() error { return p.deleteLink(s.ns, s.name) }
	switch s.kind {
	case kindBridge:
		b := s.bridge
		desc := fmt.Sprintf("bridge %s (stp %s, vlan_filtering %s", s.label(), onOff(b.STP), onOff(b.VLANFiltering))
		if b.Ageing > 0 {
			desc += fmt.Sprintf(", ageing %v", b.Ageing)
		}
		p.add('+', desc+")", func() error { return p.createBridge(s) }, undo)
	case kindVeth:
		p.created[s.peerNS+"/"+s.peerName] = true
		p.add('+', fmt.Sprintf("veth %s ↔ %s/%s", s.label(), nsLabel(s.peerNS), s.peerName), func() error { return p.createVeth(s) }, undo)
	case kindTap:
		desc := "tap " + s.label()
		if s.tap.Owner != nil {
			desc += fmt.Sprintf(" (owner uid %d)", *s.tap.Owner)
		}
		p.add('+', desc, func() error {
			if err := p.k.createTap(s.ns, s.name, s.tap.Owner); err != nil {
				return err
			}
			return p.setAlias(s.ns, s.name)
		}, undo)
	}
	return nil
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func (p *planner) setAlias(ns, name string) error {
	h, err := p.k.handle(ns)
	if err != nil {
		return err
	}
	l, err := h.LinkByName(name)
	if err != nil {
		return fmt.Errorf("look up %s/%s: %w", nsLabel(ns), name, err)
	}
	if err := h.LinkSetAlias(l, p.alias); err != nil {
		return fmt.Errorf("mark %s/%s as ours: %w", nsLabel(ns), name, err)
	}
	return nil
}

func (p *planner) deleteLink(ns, name string) error {
	l, err := p.link(ns, name)
	if err != nil || l == nil {
		return err
	}
	if l.Attrs().Alias != p.alias {
		return nil // never delete what is not ours
	}
	h, err := p.k.handle(ns)
	if err != nil {
		return err
	}
	if err := h.LinkDel(l); err != nil {
		return fmt.Errorf("delete %s/%s: %w", nsLabel(ns), name, err)
	}
	return nil
}

// ageingCS is the bridge ageing time in the kernel's unit, 1/100 s.
func ageingCS(b *Bridge) uint32 { return uint32(b.Ageing.Milliseconds() / 10) }

func (p *planner) createBridge(s *linkSpec) error {
	h, err := p.k.handle(s.ns)
	if err != nil {
		return err
	}
	b := s.bridge
	la := netlink.NewLinkAttrs()
	la.Name = s.name
	nb := &netlink.Bridge{LinkAttrs: la}
	if b.VLANFiltering { // only when asked: some kernels have no VLAN filtering at all
		vf := true
		nb.VlanFiltering = &vf
	}
	if b.Ageing > 0 {
		a := ageingCS(b)
		nb.AgeingTime = &a
	}
	if err := h.LinkAdd(nb); err != nil {
		if b.VLANFiltering && errors.Is(err, unix.EOPNOTSUPP) {
			return fmt.Errorf("add bridge %s: vlan_filtering: this kernel has no bridge VLAN filtering: %w", s.label(), err)
		}
		return fmt.Errorf("add bridge %s: %w", s.label(), err)
	}
	if err := p.setAlias(s.ns, s.name); err != nil {
		return err
	}
	if b.STP {
		l, err := h.LinkByName(s.name)
		if err != nil {
			return err
		}
		if err := p.k.setBridgeSTP(s.ns, l.Attrs().Index, true); err != nil {
			return fmt.Errorf("turn on stp on %s: %w", s.label(), err)
		}
	}
	return nil
}

func (p *planner) planBridgeAttrs(s *linkSpec, l netlink.Link) error {
	br, ok := l.(*netlink.Bridge)
	if !ok {
		return fmt.Errorf("link %s is a %s, not a bridge", s.label(), l.Type())
	}
	b := s.bridge
	h, err := p.k.handle(s.ns)
	if err != nil {
		return err
	}
	stp, err := p.k.bridgeSTP(s.ns, l.Attrs().Index)
	if err != nil {
		return fmt.Errorf("read stp of %s: %w", s.label(), err)
	}
	if stp != b.STP {
		idx := l.Attrs().Index
		p.add('~', fmt.Sprintf("bridge %s: stp %s → %s", s.label(), onOff(stp), onOff(b.STP)),
			func() error { return p.k.setBridgeSTP(s.ns, idx, b.STP) },
			func() error { return p.k.setBridgeSTP(s.ns, idx, stp) })
	}
	cur := br.VlanFiltering != nil && *br.VlanFiltering
	if cur != b.VLANFiltering {
		want := b.VLANFiltering
		p.add('~', fmt.Sprintf("bridge %s: vlan_filtering %s → %s", s.label(), onOff(cur), onOff(want)),
			func() error { return h.BridgeSetVlanFiltering(l, want) },
			func() error { return h.BridgeSetVlanFiltering(l, cur) })
	}
	if b.Ageing > 0 && br.AgeingTime != nil && *br.AgeingTime != ageingCS(b) {
		old := *br.AgeingTime
		want := ageingCS(b)
		idx := l.Attrs().Index
		p.add('~', fmt.Sprintf("bridge %s: ageing %ds → %v", s.label(), old/100, b.Ageing),
			func() error { return p.k.setBridgeAgeing(s.ns, idx, want) },
			func() error { return p.k.setBridgeAgeing(s.ns, idx, old) })
	}
	return nil
}

func (p *planner) createVeth(s *linkSpec) error {
	h, err := p.k.handle(s.ns)
	if err != nil {
		return err
	}
	la := netlink.NewLinkAttrs()
	la.Name = s.name
	v := &netlink.Veth{LinkAttrs: la, PeerName: s.peerName}
	if s.peerNS != s.ns {
		fd, err := p.k.nsHandle(s.peerNS)
		if err != nil {
			return err
		}
		if !fd.IsOpen() {
			// Our own namespace, by a handle of a locked thread's:
			// NsPid(getpid) would name the main thread's namespace, which
			// a goroutine elsewhere in the process may have switched.
			own, err := nsexec.Self()
			if err != nil {
				return err
			}
			defer own.Close()
			fd = own
		}
		v.PeerNamespace = netlink.NsFd(int(fd))
	}
	if err := h.LinkAdd(v); err != nil {
		return fmt.Errorf("add veth %s ↔ %s/%s: %w", s.label(), nsLabel(s.peerNS), s.peerName, err)
	}
	if err := p.setAlias(s.ns, s.name); err != nil {
		return err
	}
	return p.setAlias(s.peerNS, s.peerName)
}

// planSettings plans master, addresses, up and shaping of one link.
func (p *planner) planSettings(s *linkSpec) error {
	l, err := p.link(s.ns, s.name)
	if err != nil {
		return err
	}
	get := func() (*netlink.Handle, netlink.Link, error) {
		h, err := p.k.handle(s.ns)
		if err != nil {
			return nil, nil, err
		}
		l, err := h.LinkByName(s.name)
		if err != nil {
			return nil, nil, fmt.Errorf("look up %s: %w", s.label(), err)
		}
		return h, l, nil
	}
	if s.noOffload && l == nil {
		p.add('~', fmt.Sprintf("%s: checksum and segmentation offloads off (the emulator forwards whole frames)", s.label()),
			func() error { return p.k.offloadsOff(s.ns, s.name) }, nil)
	}
	if s.master != "" {
		var cur int
		if l != nil {
			cur = l.Attrs().MasterIndex
		}
		br, err := p.link(s.ns, s.master)
		if err != nil {
			return err
		}
		if br == nil || cur != br.Attrs().Index {
			p.add('+', fmt.Sprintf("%s on bridge %s", s.label(), s.master), func() error {
				h, l, err := get()
				if err != nil {
					return err
				}
				br, err := h.LinkByName(s.master)
				if err != nil {
					return fmt.Errorf("look up bridge %s: %w", s.master, err)
				}
				if err := h.LinkSetMaster(l, br); err != nil {
					return fmt.Errorf("put %s on bridge %s: %w", s.label(), s.master, err)
				}
				return nil
			}, func() error {
				h, l, err := get()
				if err != nil {
					return nil // gone with its namespace or pair
				}
				return h.LinkSetNoMaster(l)
			})
		}
	}
	var have []netlink.Addr
	if l != nil {
		h, err := p.k.handle(s.ns)
		if err != nil {
			return err
		}
		if have, err = h.AddrList(l, netlink.FAMILY_ALL); err != nil {
			return fmt.Errorf("list addresses of %s: %w", s.label(), err)
		}
	}
	for _, a := range s.addrs {
		if hasAddr(have, a) {
			continue
		}
		addr := &netlink.Addr{IPNet: ipnet.FromPrefix(a)}
		p.add('+', fmt.Sprintf("address %s on %s", a, s.label()), func() error {
			h, l, err := get()
			if err != nil {
				return err
			}
			if err := h.AddrAdd(l, addr); err != nil {
				return fmt.Errorf("add address %s to %s: %w", a, s.label(), err)
			}
			return nil
		}, func() error {
			h, l, err := get()
			if err != nil {
				return nil
			}
			return h.AddrDel(l, addr)
		})
	}
	if l == nil || l.Attrs().Flags&net.FlagUp == 0 {
		p.add('+', fmt.Sprintf("up %s", s.label()), func() error {
			h, l, err := get()
			if err != nil {
				return err
			}
			if err := h.LinkSetUp(l); err != nil {
				return fmt.Errorf("bring up %s: %w", s.label(), err)
			}
			return nil
		}, func() error {
			h, l, err := get()
			if err != nil {
				return nil
			}
			return h.LinkSetDown(l)
		})
	}
	return p.planQdisc(s, l, get)
}

func hasAddr(have []netlink.Addr, a netip.Prefix) bool {
	for _, h := range have {
		ones, _ := h.Mask.Size()
		ip, ok := netip.AddrFromSlice(h.IP)
		if ok && ip.Unmap() == a.Addr() && ones == a.Bits() {
			return true
		}
	}
	return false
}
