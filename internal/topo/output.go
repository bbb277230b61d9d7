package topo

import (
	"context"
	"io"
	"path"
)

// KeepNamespaces drops the namespaces the glob pattern does not match
// (remote discovery reads them all; the script is one round trip either
// way). The root namespace stays; "" keeps all.
func KeepNamespaces(t *Topology, pattern string) {
	if pattern == "" {
		return
	}
	keep := t.Namespaces[:0]
	for _, ns := range t.Namespaces {
		if ok, _ := path.Match(pattern, ns.Name); ns.Root || ok {
			keep = append(keep, ns)
		}
	}
	t.Namespaces = keep
}

// Render writes t in format: json, dot, svg (through graphviz), html or
// text (anything else).
func Render(ctx context.Context, w io.Writer, t *Topology, format string) error {
	switch format {
	case "json":
		return WriteJSON(w, t)
	case "dot":
		return WriteDOT(w, t)
	case "svg":
		b, err := SVG(ctx, t)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	case "html":
		return WriteHTML(w, t, false)
	}
	return WriteText(w, t)
}
