package netcfg

// A host other than this one is planned from what iproute2 prints there
// (`ip -j -d addr show`, `ip -j route show` per namespace, read in one
// exec) and changed by iproute2 commands, one exec per step, so that a
// failed step rolls back exactly like a local one. Nothing but iproute2 is
// needed on the host. A namespace has no ifalias, so the one an apply
// creates is marked on its loopback's: destroy removes only those.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/jumpgate/jumpgate/internal/shquote"
)

// ipLink is what `ip -j -d addr show` says of a link.
type ipLink struct {
	Name     string   `json:"ifname"`
	Flags    []string `json:"flags"`
	MTU      int      `json:"mtu"`
	Master   string   `json:"master"`
	Alias    string   `json:"ifalias"`
	LinkInfo struct {
		Kind string `json:"info_kind"`
	} `json:"linkinfo"`
	Addrs []struct {
		Local     string `json:"local"`
		PrefixLen int    `json:"prefixlen"`
	} `json:"addr_info"`
}

func (l *ipLink) up() bool { return slices.Contains(l.Flags, "UP") }

func (l *ipLink) has(a netip.Prefix) bool {
	for _, h := range l.Addrs {
		if ip, err := netip.ParseAddr(h.Local); err == nil && ip == a.Addr() && h.PrefixLen == a.Bits() {
			return true
		}
	}
	return false
}

type ipRoute struct {
	Dst     string `json:"dst"`
	Gateway string `json:"gateway"`
}

// remoteNS is one namespace of a remote host as discovered.
type remoteNS struct {
	links  map[string]*ipLink
	routes []ipRoute
}

// remote plans one remote host.
type remote struct {
	host  string
	t     *Topology // the part on host
	o     Options
	sh    Shell
	ctx   context.Context
	alias string
	nss   map[string]*remoteNS // file name ("" root) → state; missing: no such namespace
	steps []Step
	// created marks links a step of this plan creates.
	created map[string]bool
}

func newRemote(ctx context.Context, t *Topology, host string, o Options) (*remote, error) {
	if o.Remote == nil {
		return nil, fmt.Errorf("host %s: no way to reach other hosts here", host)
	}
	sh, err := o.Remote(ctx, host)
	if err != nil {
		return nil, err
	}
	part := t.OnHost(host)
	for _, v := range part.Veths {
		if !v.Shape.IsZero() {
			return nil, fmt.Errorf("host %s: veth %s: shape is not supported on remote hosts yet", host, v.A.Name)
		}
	}
	r := &remote{host: host, t: part, o: o, sh: sh, ctx: ctx, alias: o.alias(t), created: map[string]bool{}}
	if err := r.discover(); err != nil {
		return nil, fmt.Errorf("host %s: %w", host, err)
	}
	return r, nil
}

// ip is an iproute2 command line in namespace ns of the file.
func (r *remote) ip(ns string, args ...string) string {
	if ns == "" {
		return "ip " + strings.Join(args, " ")
	}
	return "ip -n " + shquote.Quote(r.o.NetnsPrefix+ns) + " " + strings.Join(args, " ")
}

func (r *remote) discover() error {
	var b strings.Builder
	nss := []string{""}
	for _, n := range r.t.Namespaces {
		nss = append(nss, n.Name)
	}
	for _, ns := range nss {
		cond := "true"
		if ns != "" {
			cond = "[ -e /run/netns/" + shquote.Quote(r.o.NetnsPrefix+ns) + " ]"
		}
		fmt.Fprintf(&b, "if %s; then echo @links %s; %s; echo @routes; %s; %s; fi\n", cond, shquote.Quote(ns),
			r.ip(ns, "-j -d addr show"), r.ip(ns, "-j -4 route show"), r.ip(ns, "-j -6 route show"))
	}
	out, err := r.sh(r.ctx, b.String())
	if err != nil {
		return fmt.Errorf("read links: %w", err)
	}
	r.nss = map[string]*remoteNS{}
	var cur *remoteNS
	routes := false
	for _, line := range strings.Split(string(out), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "":
		case strings.HasPrefix(line, "@links"):
			cur = &remoteNS{links: map[string]*ipLink{}}
			r.nss[strings.TrimSpace(strings.TrimPrefix(line, "@links"))] = cur
			routes = false
		case line == "@routes":
			routes = true
		case cur == nil:
			return fmt.Errorf("read links: unexpected output %q", line)
		case routes:
			var rs []ipRoute
			if err := json.Unmarshal([]byte(line), &rs); err != nil {
				return fmt.Errorf("read routes: %w", err)
			}
			cur.routes = append(cur.routes, rs...)
		default:
			var ls []*ipLink
			if err := json.Unmarshal([]byte(line), &ls); err != nil {
				return fmt.Errorf("read links: %w", err)
			}
			for _, l := range ls {
				cur.links[l.Name] = l
			}
		}
	}
	if r.nss[""] == nil {
		return fmt.Errorf("read links: no output from ip")
	}
	return nil
}

func (r *remote) link(ns, name string) *ipLink {
	if n := r.nss[ns]; n != nil {
		return n.links[name]
	}
	return nil
}

func (r *remote) label(ns, name string) string { return r.host + ":" + nsLabel(ns) + "/" + name }

// add appends a step whose do and undo are scripts run on the host.
func (r *remote) add(op byte, desc, do, undo string) {
	s := Step{Op: op, Desc: r.host + ": " + desc, do: func() error { return r.run(do) }}
	if undo != "" {
		s.undo = func() error { return r.run(undo) }
	}
	r.steps = append(r.steps, s)
}

func (r *remote) run(script string) error {
	_, err := r.sh(r.ctx, "set -e\n"+script)
	return err
}

// vxlanSpec is a segment's end on this host.
type vxlanSpec struct {
	x            *VXLAN
	end, far     VXLANEnd
	mtu, overlay int
}

// vxlans lists the segments' ends on this host with their MTUs.
func (r *remote) vxlans() ([]vxlanSpec, error) {
	var out []vxlanSpec
	for i := range r.t.VXLANs {
		x := &r.t.VXLANs[i]
		s := vxlanSpec{x: x, end: x.Ends[0], far: x.Ends[1]}
		if s.end.Host != r.host {
			s.end, s.far = s.far, s.end
		}
		dev := r.link(s.end.Namespace, s.end.Dev)
		if dev == nil {
			return nil, fmt.Errorf("vxlan %s: underlay link %s does not exist", x.Name, r.label(s.end.Namespace, s.end.Dev))
		}
		// Outer IP, UDP, VXLAN and inner Ethernet headers (RFC 7348).
		s.mtu, s.overlay = dev.MTU, dev.MTU-50
		if s.end.Local.Is6() {
			s.overlay = dev.MTU - 70
		}
		out = append(out, s)
	}
	return out, nil
}

func (r *remote) plan() error {
	for _, n := range r.t.Namespaces {
		if r.nss[n.Name] != nil {
			continue
		}
		real := shquote.Quote(r.o.NetnsPrefix + n.Name)
		r.add('+', "namespace "+r.o.NetnsPrefix+n.Name,
			"ip netns add "+real+"\n"+r.ip(n.Name, "link set lo alias", shquote.Quote(r.alias))+"\n"+r.ip(n.Name, "link set lo up"),
			"ip netns del "+real)
	}
	vx, err := r.vxlans()
	if err != nil {
		return err
	}
	links, _, _ := expand(r.t, r.o.owner(r.t), true)
	// A bridge a segment crosses carries the segment's MTU on every port,
	// and so does each port's veth peer: the VM must not send a frame the
	// VXLAN link would have to drop.
	mtu := map[string]int{}
	for _, s := range vx {
		mtu[s.end.Namespace+"/"+s.end.Bridge] = s.overlay
	}
	for _, s := range links {
		if m := mtu[s.ns+"/"+s.master]; m > 0 && s.master != "" {
			mtu[s.ns+"/"+s.name] = m
			if s.peerName != "" {
				mtu[s.peerNS+"/"+s.peerName] = m
			}
		}
	}
	for _, v := range r.t.Veths { // the peer end's own master may be elsewhere
		if m := mtu[v.B.Namespace+"/"+v.B.Name]; m > 0 {
			mtu[v.A.Namespace+"/"+v.A.Name] = m
		}
	}
	for i := range links {
		if err := r.planLink(&links[i]); err != nil {
			return err
		}
	}
	for _, s := range vx {
		if err := r.planVXLAN(s); err != nil {
			return err
		}
	}
	for _, s := range links {
		r.planSettings(s.ns, s.name, s.master, s.addrs, mtu[s.ns+"/"+s.name])
	}
	for _, s := range vx {
		r.planSettings(s.end.Namespace, s.x.Name, s.end.Bridge, nil, s.overlay)
	}
	for _, rt := range r.t.Routes {
		if r.hasRoute(rt) {
			continue
		}
		args := "route add " + rt.To.String()
		if rt.Via.IsValid() {
			args += " via " + rt.Via.String()
		}
		if rt.Dev != "" {
			args += " dev " + rt.Dev
		}
		r.add('+', fmt.Sprintf("route %s in %s", rt.To, nsLabel(rt.Namespace)), r.ip(rt.Namespace, args), r.ip(rt.Namespace, "route del "+rt.To.String()))
	}
	return nil
}

func (r *remote) hasRoute(rt Route) bool {
	n := r.nss[rt.Namespace]
	if n == nil {
		return false
	}
	for _, h := range n.routes {
		dst := h.Dst
		if !strings.Contains(dst, "/") {
			dst += fmt.Sprintf("/%d", rt.To.Addr().BitLen())
		}
		if p, err := netip.ParsePrefix(dst); err == nil && p == rt.To && (!rt.Via.IsValid() || h.Gateway == rt.Via.String()) {
			return true
		}
	}
	return false
}

func (r *remote) owned(ns, name string) (*ipLink, error) {
	l := r.link(ns, name)
	if l != nil && l.Alias != r.alias {
		return nil, fmt.Errorf("link %s exists and is not owned by %q (its ifalias is %q, not %q); rename it or remove it first",
			r.label(ns, name), r.o.owner(r.t), l.Alias, r.alias)
	}
	return l, nil
}

func (r *remote) setAlias(ns, name string) string {
	return r.ip(ns, "link set", name, "alias", shquote.Quote(r.alias))
}

func (r *remote) planLink(s *linkSpec) error {
	l, err := r.owned(s.ns, s.name)
	if err != nil || l != nil {
		return err
	}
	if s.kind == kindPeer {
		if !r.created[s.ns+"/"+s.name] {
			return fmt.Errorf("veth end %s is missing but its peer exists; run destroy, then apply", r.label(s.ns, s.name))
		}
		return nil
	}
	del := r.ip(s.ns, "link del", s.name)
	switch s.kind {
	case kindBridge:
		b := s.bridge
		args := "link add " + s.name + " type bridge"
		if b.STP {
			args += " stp_state 1"
		}
		if b.Ageing > 0 {
			args += fmt.Sprintf(" ageing_time %d", b.Ageing.Milliseconds()/10)
		}
		if b.VLANFiltering {
			args += " vlan_filtering 1"
		}
		r.add('+', fmt.Sprintf("bridge %s (stp %s, vlan_filtering %s)", nsLabel(s.ns)+"/"+s.name, onOffStr(b.STP), onOffStr(b.VLANFiltering)),
			r.ip(s.ns, args)+"\n"+r.setAlias(s.ns, s.name), del)
	case kindVeth:
		r.created[s.peerNS+"/"+s.peerName] = true
		var cmd string
		real := func(ns string) string { return shquote.Quote(r.o.NetnsPrefix + ns) }
		switch {
		case s.ns == s.peerNS:
			cmd = r.ip(s.ns, "link add", s.name, "type veth peer name", s.peerName)
		case s.peerNS == "": // ip names the target namespace only by name
			cmd = r.ip("", "link add", s.peerName, "type veth peer name", s.name, "netns", real(s.ns))
		default:
			cmd = r.ip(s.ns, "link add", s.name, "type veth peer name", s.peerName, "netns", real(s.peerNS))
		}
		r.add('+', fmt.Sprintf("veth %s ↔ %s/%s", nsLabel(s.ns)+"/"+s.name, nsLabel(s.peerNS), s.peerName),
			cmd+"\n"+r.setAlias(s.ns, s.name)+"\n"+r.setAlias(s.peerNS, s.peerName), del)
	case kindTap:
		args := "tuntap add dev " + s.name + " mode tap"
		if s.tap.Owner != nil {
			args += fmt.Sprintf(" user %d", *s.tap.Owner)
		}
		r.add('+', "tap "+nsLabel(s.ns)+"/"+s.name, r.ip(s.ns, args)+"\n"+r.setAlias(s.ns, s.name), del)
	}
	return nil
}

func onOffStr(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func (r *remote) planVXLAN(s vxlanSpec) error {
	x := s.x
	l, err := r.owned(s.end.Namespace, x.Name)
	if err != nil || l != nil {
		return err
	}
	r.add('+', fmt.Sprintf("vxlan %s (VNI %d, %s → %s:%d over %s, mtu %d)", nsLabel(s.end.Namespace)+"/"+x.Name, x.ID, s.end.Local, s.far.Local, x.Port, s.end.Dev, s.overlay),
		r.ip(s.end.Namespace, "link add", x.Name, "type vxlan id", fmt.Sprint(x.ID), "local", s.end.Local.String(),
			"remote", s.far.Local.String(), "dstport", fmt.Sprint(x.Port), "dev", s.end.Dev)+"\n"+r.setAlias(s.end.Namespace, x.Name),
		r.ip(s.end.Namespace, "link del", x.Name))
	return nil
}

// planSettings plans a link's MTU, master, addresses and up.
func (r *remote) planSettings(ns, name, master string, addrs []netip.Prefix, mtu int) {
	l := r.link(ns, name)
	label := nsLabel(ns) + "/" + name
	if mtu > 0 && (l == nil || l.MTU != mtu) {
		undo := ""
		if l != nil {
			undo = r.ip(ns, "link set", name, "mtu", fmt.Sprint(l.MTU))
		}
		r.add('~', fmt.Sprintf("%s: mtu %d (the segment's VXLAN carries no larger frame)", label, mtu), r.ip(ns, "link set", name, "mtu", fmt.Sprint(mtu)), undo)
	}
	if master != "" && (l == nil || l.Master != master) {
		r.add('+', fmt.Sprintf("%s on bridge %s", label, master), r.ip(ns, "link set", name, "master", master), r.ip(ns, "link set", name, "nomaster")+" 2>/dev/null || true")
	}
	for _, a := range addrs {
		if l != nil && l.has(a) {
			continue
		}
		r.add('+', fmt.Sprintf("address %s on %s", a, label), r.ip(ns, "addr add", a.String(), "dev", name), r.ip(ns, "addr del", a.String(), "dev", name)+" 2>/dev/null || true")
	}
	if l == nil || !l.up() {
		r.add('+', "up "+label, r.ip(ns, "link set", name, "up"), r.ip(ns, "link set", name, "down")+" 2>/dev/null || true")
	}
}

// planDestroy removes the host's links and namespaces that carry our alias.
func (r *remote) planDestroy() {
	for _, rt := range r.t.Routes {
		if rt.Namespace == "" && r.hasRoute(rt) {
			r.add('-', fmt.Sprintf("route %s in %s", rt.To, nsLabel(rt.Namespace)), r.ip("", "route del "+rt.To.String()), "")
		}
	}
	links, _, _ := expand(r.t, r.o.owner(r.t), true)
	type ref struct{ ns, name string }
	var all []ref
	for _, s := range links {
		all = append(all, ref{s.ns, s.name})
	}
	for _, x := range r.t.VXLANs {
		e := x.Ends[0]
		if e.Host != r.host {
			e = x.Ends[1]
		}
		all = append(all, ref{e.Namespace, x.Name})
	}
	for i := len(all) - 1; i >= 0; i-- {
		s := all[i]
		if l := r.link(s.ns, s.name); l == nil || l.Alias != r.alias {
			continue
		}
		// A veth's peer goes with it: gone is as good as deleted.
		del := r.ip(s.ns, "link del", s.name) + " 2>/dev/null || ! " + r.ip(s.ns, "link show", s.name) + " >/dev/null 2>&1"
		r.add('-', "link "+nsLabel(s.ns)+"/"+s.name, del, "")
	}
	for _, n := range r.t.Namespaces {
		if lo := r.link(n.Name, "lo"); lo != nil && lo.Alias == r.alias {
			r.add('-', "namespace "+r.o.NetnsPrefix+n.Name, "ip netns del "+shquote.Quote(r.o.NetnsPrefix+n.Name), "")
		}
	}
}
