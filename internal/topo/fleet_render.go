package topo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// RenderFleet writes f in format, as [Render] writes one host.
func RenderFleet(ctx context.Context, w io.Writer, f *Fleet, format string) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(f)
	case "dot":
		return WriteFleetDOT(w, f)
	case "svg":
		var dot strings.Builder
		if err := WriteFleetDOT(&dot, f); err != nil {
			return err
		}
		b, err := dotSVG(ctx, dot.String())
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	case "html":
		return WriteHTML(w, f.Flatten(), false)
	}
	return WriteFleetText(w, f)
}

// ReadFleetJSON reads a fleet written by RenderFleet's json format.
func ReadFleetJSON(r io.Reader) (*Fleet, error) {
	var f Fleet
	if err := json.NewDecoder(r).Decode(&f); err != nil {
		return nil, fmt.Errorf("read fleet json: %w", err)
	}
	if f.Schema != SchemaVersion {
		return nil, fmt.Errorf("read fleet json: schema version %d, want %d", f.Schema, SchemaVersion)
	}
	return &f, nil
}

// WriteFleetText writes each host as [WriteText] does (an unreachable one
// as one line with its error), then the links between hosts.
func WriteFleetText(w io.Writer, f *Fleet) error {
	var b strings.Builder
	for i, h := range f.Hosts {
		if i > 0 {
			b.WriteString("\n")
		}
		if h.Topology == nil {
			fmt.Fprintf(&b, "host %s unreachable: %s\n", h.Name, oneLine(h.Error))
			continue
		}
		t := *h.Topology
		t.Host = h.Name
		if h.Topology.Host != "" && h.Topology.Host != h.Name {
			t.Host += " [" + h.Topology.Host + "]"
		}
		if err := WriteText(&b, &t); err != nil {
			return err
		}
	}
	if len(f.Links) > 0 {
		b.WriteString("\nlinks between hosts\n")
	}
	for _, l := range f.Links {
		kind := l.Kind
		if l.Kind == HostLinkVXLAN {
			kind = fmt.Sprintf("vxlan %d", l.VNI)
		}
		fmt.Fprintf(&b, "  %s %s -- %s\n", kind, endLabel(l.A), endLabel(l.B))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func endLabel(e LinkEnd) string {
	if e.Host == "" {
		return "remote " + e.Addr + " (not in the fleet)"
	}
	ns := "(root)"
	if e.Namespace != "" {
		ns = e.Namespace
	}
	s := e.Host + " " + ns + "/" + e.Link
	if e.Addr != "" {
		s += " " + e.Addr
	}
	return s
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// WriteFleetDOT writes f as one GraphViz graph: a cluster per host holding
// what [WriteDOT] draws for it, an octagon per unreachable host, and an
// edge per link between hosts.
func WriteFleetDOT(w io.Writer, f *Fleet) error {
	var b strings.Builder
	dotHeader(&b, "fleet")
	for i, h := range f.Hosts {
		if h.Topology == nil {
			fmt.Fprintf(&b, "  %s [label=%s, shape=octagon, color=red, fontcolor=red];\n",
				dotID("host "+h.Name), dotLines(h.Name, "unreachable: "+oneLine(h.Error)))
			continue
		}
		fmt.Fprintf(&b, "  subgraph %s {\n", dotID("cluster_host_"+fmt.Sprint(i)))
		fmt.Fprintf(&b, "  label=%s; style=bold;\n", dotID("host "+h.Name))
		writeDOTBody(&b, h.Topology, h.Name)
		b.WriteString("  }\n")
	}
	for _, l := range f.Links {
		a := nodeID(l.A.Host+":"+l.A.Namespace, l.A.Link)
		z := dotID("remote " + l.B.Addr)
		if l.B.Host != "" {
			z = nodeID(l.B.Host+":"+l.B.Namespace, l.B.Link)
		} else {
			fmt.Fprintf(&b, "  %s [label=%s, shape=plaintext];\n", z, dotLines("remote", l.B.Addr))
		}
		switch l.Kind {
		case HostLinkVeth:
			fmt.Fprintf(&b, "  %s -- %s [style=bold, color=\"#2a7a2a\", label=\"veth\"];\n", a, z)
		case HostLinkVXLAN:
			fmt.Fprintf(&b, "  %s -- %s [style=dashed, color=\"#2a4a9a\", label=\"vxlan %d\"];\n", a, z, l.VNI)
		default:
			fmt.Fprintf(&b, "  %s -- %s [style=bold, color=\"#7a2a7a\", label=%s];\n", a, z, dotID(l.Kind))
		}
	}
	b.WriteString("}\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// Flatten is f as one topology, for the page and whatever draws one host:
// every namespace is named after its host ("hyper1", "hyper1/vm1"), an
// unreachable host is an empty namespace whose name carries its error,
// and each link between hosts becomes a peer reference on both ends, so
// that the page draws it as a line.
func (f *Fleet) Flatten() *Topology {
	out := &Topology{Schema: SchemaVersion, Host: fmt.Sprintf("fleet of %d hosts", len(f.Hosts)), Source: "ssh"}
	nsName := func(host, id string) string {
		if id == "" {
			return host
		}
		return host + "/" + id
	}
	for _, h := range f.Hosts {
		if h.Topology == nil {
			name := h.Name + " (unreachable: " + oneLine(h.Error) + ")"
			out.Namespaces = append(out.Namespaces, Namespace{ID: name, Name: name, Host: h.Name, Links: []Link{}})
			continue
		}
		if lv := h.Topology.Libvirt; lv != nil {
			if out.Libvirt == nil {
				out.Libvirt = &Libvirt{}
			}
			for _, d := range lv.Domains {
				d.Name = h.Name + "/" + d.Name
				out.Libvirt.Domains = append(out.Libvirt.Domains, d)
			}
			for _, n := range lv.Networks {
				n.Name = h.Name + "/" + n.Name
				out.Libvirt.Networks = append(out.Libvirt.Networks, n)
			}
		}
		for _, w := range h.Topology.Warnings {
			out.Warnings = append(out.Warnings, h.Name+": "+w)
		}
		for _, ns := range h.Topology.Namespaces {
			n := ns
			n.ID, n.Name, n.Root, n.Host = nsName(h.Name, ns.ID), nsName(h.Name, ns.ID), false, h.Name
			n.Links = make([]Link, len(ns.Links))
			for i, l := range ns.Links {
				if l.Peer != nil {
					p := *l.Peer
					if !strings.HasPrefix(p.Namespace, "nsid:") {
						p.Namespace = nsName(h.Name, p.Namespace)
					}
					l.Peer = &p
				}
				n.Links[i] = l
			}
			out.Namespaces = append(out.Namespaces, n)
		}
	}
	for _, l := range f.Links {
		if l.B.Host == "" {
			continue
		}
		a := out.flatLink(nsName(l.A.Host, l.A.Namespace), l.A.Link)
		b := out.flatLink(nsName(l.B.Host, l.B.Namespace), l.B.Link)
		if a == nil || b == nil {
			continue
		}
		a.Peer = &PeerRef{Namespace: nsName(l.B.Host, l.B.Namespace), Name: b.Name, Index: b.Index}
		b.Peer = &PeerRef{Namespace: nsName(l.A.Host, l.A.Namespace), Name: a.Name, Index: a.Index}
	}
	return out
}

func (t *Topology) flatLink(ns, link string) *Link {
	n := t.Namespace(ns)
	if n == nil {
		return nil
	}
	return n.Link(link)
}
