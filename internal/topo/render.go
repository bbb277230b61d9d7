package topo

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
)

// WriteJSON writes t as indented JSON (schema [SchemaVersion]).
func WriteJSON(w io.Writer, t *Topology) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(t)
}

// ReadJSON reads a topology written by [WriteJSON], refusing a schema
// version it does not know.
func ReadJSON(r io.Reader) (*Topology, error) {
	var t Topology
	if err := json.NewDecoder(r).Decode(&t); err != nil {
		return nil, fmt.Errorf("read topology json: %w", err)
	}
	if t.Schema != SchemaVersion {
		return nil, fmt.Errorf("read topology json: schema version %d, want %d", t.Schema, SchemaVersion)
	}
	return &t, nil
}

// WriteText writes t as an indented tree: namespace, then its bridges
// with their ports, then the other links.
func WriteText(w io.Writer, t *Topology) error {
	var b strings.Builder
	fmt.Fprintf(&b, "host %s (%s)\n", t.Host, t.Source)
	for _, ns := range t.Namespaces {
		fmt.Fprintf(&b, "namespace %s\n", nsLabel(ns))
		onBridge := map[string]bool{}
		for _, br := range ns.Bridges {
			l := ns.Link(br.Name)
			fmt.Fprintf(&b, "  bridge %s%s\n", br.Name, linkDetail(t, ns, l))
			for _, p := range br.Ports {
				onBridge[p.Name] = true
				fmt.Fprintf(&b, "    port %s%s\n", p.Name, linkDetail(t, ns, ns.Link(p.Name)))
				for _, s := range p.Stations {
					fmt.Fprintf(&b, "      seen %s", s.MAC)
					if len(s.IPs) > 0 {
						fmt.Fprintf(&b, " %s", strings.Join(s.IPs, " "))
					}
					b.WriteString("\n")
				}
			}
		}
		for _, l := range ns.Links {
			if l.Kind == KindBridge || onBridge[l.Name] {
				continue
			}
			fmt.Fprintf(&b, "  %s %s%s\n", l.Kind, l.Name, linkDetail(t, ns, &l))
		}
	}
	for _, br := range t.OVS {
		fmt.Fprintf(&b, "ovs bridge %s\n", br.Name)
		for _, p := range br.Ports {
			fmt.Fprintf(&b, "  port %s", p.Name)
			if p.Type != "" {
				fmt.Fprintf(&b, " type %s", p.Type)
			}
			if p.Tag != 0 {
				fmt.Fprintf(&b, " tag %d", p.Tag)
			}
			if p.PeerPort != "" {
				fmt.Fprintf(&b, " peer %s", p.PeerPort)
			}
			b.WriteString("\n")
		}
	}
	if lv := t.Libvirt; lv != nil {
		for _, n := range lv.Networks {
			fmt.Fprintf(&b, "libvirt network %s bridge %s active %v\n", n.Name, n.Bridge, n.Active)
		}
		for _, d := range lv.Domains {
			fmt.Fprintf(&b, "libvirt domain %s (%s)\n", d.Name, d.State)
			for _, i := range d.Interfaces {
				fmt.Fprintf(&b, "  nic %s %s %s %s\n", orDash(i.Target), i.MAC, i.Type, i.Source)
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func nsLabel(ns Namespace) string {
	switch {
	case ns.Root:
		return "(root)"
	case ns.Name != "":
		return ns.Name
	}
	return ns.ID
}

// linkDetail is the part of a text line after a link's name.
func linkDetail(t *Topology, ns Namespace, l *Link) string {
	if l == nil {
		return ""
	}
	var parts []string
	if l.State != "up" {
		parts = append(parts, l.State)
	}
	if l.MAC != "" {
		parts = append(parts, l.MAC)
	}
	for _, a := range l.Addresses {
		if a.Scope != "link" {
			parts = append(parts, a.CIDR)
		}
	}
	if l.Peer != nil {
		parts = append(parts, "peer "+peerLabel(ns, l.Peer))
	}
	if l.Tap != nil {
		for _, h := range l.Tap.Holders {
			parts = append(parts, fmt.Sprintf("held by %s[%d]", h.Comm, h.PID))
		}
	}
	if vm := domainOf(t, l.Name, ns.Root); vm != "" {
		parts = append(parts, "vm "+vm)
	}
	if len(parts) == 0 {
		return ""
	}
	return " " + strings.Join(parts, " ")
}

func peerLabel(ns Namespace, p *PeerRef) string {
	name := p.Name
	if name == "" {
		name = fmt.Sprintf("#%d", p.Index)
	}
	if p.Namespace == ns.ID {
		return name
	}
	if p.Namespace == "" {
		return "(root)/" + name
	}
	return p.Namespace + "/" + name
}

// domainOf names the libvirt domain whose NIC is the root-namespace
// device dev.
func domainOf(t *Topology, dev string, root bool) string {
	if t.Libvirt == nil || !root {
		return ""
	}
	for _, d := range t.Libvirt.Domains {
		if slices.ContainsFunc(d.Interfaces, func(i DomainInterface) bool { return i.Target == dev }) {
			return d.Name
		}
	}
	return ""
}
