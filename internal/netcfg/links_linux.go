package netcfg

// What a topology means in links: every bridge, veth end and tap becomes a
// linkSpec; a veth whose delay or loss the kernel cannot emulate becomes two
// veth pairs whose inner ends a userspace emulator joins.

import (
	"fmt"
	"hash/fnv"
	"net/netip"
	"time"

	"github.com/jumpgate/jumpgate/internal/linkemu"
)

type linkKind int

const (
	kindBridge linkKind = iota
	kindVeth            // created here, with its peer
	kindPeer            // the far end of a kindVeth, created with it
	kindTap
)

// qdiscSpec is the root qdisc a link should have.
type qdiscSpec struct {
	kind  string // "", "tbf" or "netem"
	rate  uint64 // bit/s
	delay time.Duration
	loss  float64
	limit int // frames; 0 is the default
}

func (q qdiscSpec) String() string {
	switch q.kind {
	case "tbf":
		return fmt.Sprintf("rate %s (tbf)", FormatRate(q.rate))
	case "netem":
		s := fmt.Sprintf("delay %v loss %g%%", q.delay, q.loss)
		if q.rate > 0 {
			s += " rate " + FormatRate(q.rate)
		}
		if q.limit > 0 {
			s += fmt.Sprintf(" limit %d", q.limit)
		}
		return s + " (netem)"
	}
	return "no shaping"
}

type linkSpec struct {
	kind     linkKind
	ns, name string
	// peerNS/peerName: the other end of a kindVeth.
	peerNS, peerName string
	bridge           *Bridge
	tap              *Tap
	master           string
	addrs            []netip.Prefix
	qdisc            qdiscSpec
	// noOffload turns off checksum and segmentation offloads, which a
	// packet socket in the emulator would see as unfinished frames.
	noOffload bool
}

func (l *linkSpec) label() string { return nsLabel(l.ns) + "/" + l.name }

// emuSpec is a userspace emulator joining two helper ends.
type emuSpec struct {
	id          string
	a, b        linkSpec // the helper ends
	shape       Shape
	description string
}

// helperName names the emulator's end of a veth end, stable per owner.
func helperName(owner, ns, name string) string {
	h := fnv.New32a()
	fmt.Fprintf(h, "%s\x00%s\x00%s", owner, ns, name)
	return fmt.Sprintf("jge%08x", h.Sum32())
}

// expand lists a topology's links in creation order and its emulators.
func expand(t *Topology, owner string, netem bool) ([]linkSpec, []emuSpec, []string) {
	var links []linkSpec
	var emus []emuSpec
	var notes []string
	for i := range t.Bridges {
		b := &t.Bridges[i]
		links = append(links, linkSpec{kind: kindBridge, ns: b.Namespace, name: b.Name, bridge: b, addrs: b.Addresses})
	}
	for _, v := range t.Veths {
		s := v.Shape
		var q qdiscSpec
		emulated := false
		switch {
		case s.Delay > 0 || s.Loss > 0:
			if netem {
				q = qdiscSpec{kind: "netem", rate: s.Rate, delay: s.Delay, loss: s.Loss, limit: s.Limit}
			} else {
				emulated = true
				if s.Rate > 0 {
					q = qdiscSpec{kind: "tbf", rate: s.Rate}
				}
			}
		case s.Rate > 0:
			q = qdiscSpec{kind: "tbf", rate: s.Rate}
		}
		a := linkSpec{kind: kindVeth, ns: v.A.Namespace, name: v.A.Name, master: v.A.Bridge, addrs: v.A.Addresses, qdisc: q}
		b := linkSpec{kind: kindPeer, ns: v.B.Namespace, name: v.B.Name, master: v.B.Bridge, addrs: v.B.Addresses, qdisc: q}
		if !emulated {
			a.peerNS, a.peerName = b.ns, b.name
			links = append(links, a, b)
			continue
		}
		ha := linkSpec{kind: kindPeer, ns: a.ns, name: helperName(owner, a.ns, a.name), noOffload: true}
		hb := linkSpec{kind: kindPeer, ns: b.ns, name: helperName(owner, b.ns, b.name), noOffload: true}
		a.peerNS, a.peerName, a.noOffload = ha.ns, ha.name, true
		b.kind, b.peerNS, b.peerName, b.noOffload = kindVeth, hb.ns, hb.name, true
		links = append(links, a, ha, b, hb)
		limit := ""
		if s.Limit > 0 {
			limit = fmt.Sprintf(" limit %d", s.Limit)
		}
		desc := fmt.Sprintf("delay %v loss %g%%%s between %s and %s: userspace emulator (kernel has no netem)", s.Delay, s.Loss, limit, a.label(), b.label())
		emus = append(emus, emuSpec{id: owner + ":" + a.label(), a: ha, b: hb, shape: s, description: desc})
		notes = append(notes, desc)
	}
	for i := range t.Taps {
		tp := &t.Taps[i]
		links = append(links, linkSpec{kind: kindTap, ns: tp.Namespace, name: tp.Name, tap: tp, master: tp.Bridge, addrs: tp.Addresses})
	}
	return links, emus, notes
}

// emuConfig is the emulator's configuration for the kernel k describes.
func (e emuSpec) config(k *kernel) linkemu.Config {
	return linkemu.Config{
		ID:    e.id,
		A:     linkemu.Port{Netns: k.nsPath(e.a.ns), Ifname: e.a.name},
		B:     linkemu.Port{Netns: k.nsPath(e.b.ns), Ifname: e.b.name},
		Delay: e.shape.Delay,
		Loss:  e.shape.Loss,
		// QueueLimit 0 is the emulator's default.
		QueueLimit: e.shape.Limit,
		// The rate is the kernel's (tbf on the inner ends); the emulator
		// only delays and drops.
	}
}
