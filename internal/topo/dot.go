package topo

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
)

// WriteDOT writes t as a GraphViz graph: one cluster per namespace,
// bridges as boxes, links as ellipses, an edge from each port to its
// bridge, one edge per veth pair (across clusters when the pair crosses
// namespaces), and tap holders and libvirt domains as their own nodes.
// Loopback devices are left out.
func WriteDOT(w io.Writer, t *Topology) error {
	var b strings.Builder
	dotHeader(&b, "topology "+t.Host)
	writeDOTBody(&b, t, "")
	b.WriteString("}\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func dotHeader(b *strings.Builder, name string) {
	fmt.Fprintf(b, "graph %s {\n", dotID(name))
	b.WriteString("  graph [rankdir=LR, fontname=\"sans-serif\", fontsize=11];\n")
	b.WriteString("  node [fontname=\"sans-serif\", fontsize=10];\n")
	b.WriteString("  edge [fontname=\"sans-serif\", fontsize=9];\n")
}

// writeDOTBody writes t's nodes and edges; host, when not "", is a
// fleet's host name that keeps its IDs apart from other hosts'.
func writeDOTBody(b *strings.Builder, t *Topology, host string) {
	hp := "" // prefix of IDs
	if host != "" {
		hp = host + ":"
	}
	nodeID := func(ns, link string) string { return nodeID(hp+ns, link) }
	for i, ns := range t.Namespaces {
		fmt.Fprintf(b, "  subgraph %s {\n", dotID("cluster_"+hp+strconv.Itoa(i)))
		fmt.Fprintf(b, "    label=%s;\n", dotID("netns "+nsLabel(ns)))
		for _, l := range ns.Links {
			if l.Kind == KindLoopback {
				continue
			}
			shape, style := "ellipse", ""
			switch l.Kind {
			case KindBridge:
				shape, style = "box", ", style=filled, fillcolor=\"#dde8f7\""
			case KindTap, KindTun:
				shape = "hexagon"
			case KindPhysical:
				shape = "doubleoctagon"
			}
			if l.State == "down" || !l.AdminUp {
				style += ", color=gray, fontcolor=gray"
			}
			fmt.Fprintf(b, "    %s [label=%s, shape=%s%s];\n", nodeID(ns.ID, l.Name), dotLabel(l), shape, style)
		}
		b.WriteString("  }\n")
	}
	seen := map[string]bool{}
	for _, ns := range t.Namespaces {
		for _, l := range ns.Links {
			if l.Master != "" && ns.Link(l.Master) != nil {
				fmt.Fprintf(b, "  %s -- %s;\n", nodeID(ns.ID, l.Name), nodeID(ns.ID, l.Master))
			}
			if l.Peer != nil && l.Peer.Name != "" {
				a, z := nodeID(ns.ID, l.Name), nodeID(l.Peer.Namespace, l.Peer.Name)
				key := min(a, z) + "|" + max(a, z)
				if !seen[key] {
					seen[key] = true
					fmt.Fprintf(b, "  %s -- %s [style=bold, color=\"#2a7a2a\", label=\"veth\"];\n", a, z)
				}
			}
			if l.Tap != nil {
				for _, h := range l.Tap.Holders {
					p := dotID("proc " + hp + strconv.Itoa(h.PID))
					if !seen[p] {
						seen[p] = true
						fmt.Fprintf(b, "  %s [label=%s, shape=component];\n", p, dotLines(h.Comm, "["+strconv.Itoa(h.PID)+"]"))
					}
					fmt.Fprintf(b, "  %s -- %s [style=dashed];\n", nodeID(ns.ID, l.Name), p)
				}
			}
		}
	}
	if lv := t.Libvirt; lv != nil {
		root := ""
		for _, ns := range t.Namespaces {
			if ns.Root {
				root = ns.ID
			}
		}
		for _, d := range lv.Domains {
			id := dotID("vm " + hp + d.Name)
			fmt.Fprintf(b, "  %s [label=%s, shape=box3d];\n", id, dotLines("vm "+d.Name, d.State))
			for _, i := range d.Interfaces {
				if i.Target != "" {
					fmt.Fprintf(b, "  %s -- %s [style=dashed];\n", id, nodeID(root, i.Target))
				}
			}
		}
	}
	for _, br := range t.OVS {
		bid := dotID("ovs " + hp + br.Name)
		fmt.Fprintf(b, "  %s [label=%s, shape=box, style=filled, fillcolor=\"#f7e8dd\"];\n", bid, dotID("ovs "+br.Name))
		for _, p := range br.Ports {
			pid := dotID("ovsport " + hp + br.Name + "/" + p.Name)
			fmt.Fprintf(b, "  %s [label=%s];\n  %s -- %s;\n", pid, dotID(p.Name), pid, bid)
		}
	}
}

func dotLabel(l Link) string {
	lines := []string{l.Name, l.Kind}
	for _, a := range l.Addresses {
		if a.Scope != "link" {
			lines = append(lines, a.CIDR)
		}
	}
	return dotLines(lines...)
}

// dotLines quotes lines as one DOT label of several lines.
func dotLines(lines ...string) string {
	for i, l := range lines {
		lines[i] = dotEscape(l)
	}
	return `"` + strings.Join(lines, `\n`) + `"`
}

func nodeID(ns, link string) string { return dotID("link " + ns + "/" + link) }

// dotID quotes s as a DOT ID.
func dotID(s string) string { return `"` + dotEscape(s) + `"` }

func dotEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", " ").Replace(s)
}

// SVG renders t with GraphViz's dot(1), which must be installed.
func SVG(ctx context.Context, t *Topology) ([]byte, error) {
	var in strings.Builder
	if err := WriteDOT(&in, t); err != nil {
		return nil, err
	}
	return dotSVG(ctx, in.String())
}

// dotSVG runs dot -Tsvg on a graph.
func dotSVG(ctx context.Context, graph string) ([]byte, error) {
	path, err := exec.LookPath("dot")
	if err != nil {
		return nil, fmt.Errorf("render svg: graphviz's dot is not installed: %w", err)
	}
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(ctx, path, "-Tsvg")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader(graph), &out, &errb
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("render svg: dot -Tsvg: %w: %s", err, strings.TrimSpace(errb.String()))
	}
	return out.Bytes(), nil
}
