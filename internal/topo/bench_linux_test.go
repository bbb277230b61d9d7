package topo

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/jumpgate/jumpgate/internal/lab/labtest"
	"github.com/jumpgate/jumpgate/internal/nsexec"
	"github.com/jumpgate/jumpgate/internal/nstest"
)

// BenchmarkDiscover200 discovers a host with 200 named namespaces joined
// in a ring by 200 veth pairs (400 veth ends) plus the rest of the host.
// The target is under a second per discovery.
func BenchmarkDiscover200(b *testing.B) {
	nstest.RequireRoot(b)
	const n = 200
	prefix := labtest.UniqueName() + "-"
	names := make([]string, n)
	handles := make([]netns.NsHandle, n)
	b.Cleanup(func() {
		for i, h := range handles {
			if h.IsOpen() {
				h.Close()
			}
			netns.DeleteNamed(names[i])
		}
	})
	for i := range n {
		names[i] = fmt.Sprintf("%s%d", prefix, i)
		h, err := nsexec.NewNamed(names[i])
		if err != nil {
			b.Fatalf("namespace %d: %v", i, err)
		}
		handles[i] = h
	}
	for i := range n {
		j := (i + 1) % n
		la := netlink.NewLinkAttrs()
		la.Name = "r" + fmt.Sprint(i)
		la.Namespace = netlink.NsFd(handles[i])
		v := &netlink.Veth{LinkAttrs: la, PeerName: "l" + fmt.Sprint(j), PeerNamespace: netlink.NsFd(handles[j])}
		if err := netlink.LinkAdd(v); err != nil {
			b.Fatalf("veth %d: %v", i, err)
		}
	}
	opts := Options{Filter: func(name string) bool { return strings.HasPrefix(name, prefix) }}
	b.ResetTimer()
	for b.Loop() {
		top, err := Discover(context.Background(), opts)
		if err != nil {
			b.Fatal(err)
		}
		if len(top.Namespaces) != n+1 {
			b.Fatalf("%d namespaces, want %d", len(top.Namespaces), n+1)
		}
		for _, ns := range top.Namespaces[1:] {
			for _, l := range ns.Links {
				if l.Kind == KindVeth && (l.Peer == nil || l.Peer.Name == "") {
					b.Fatalf("%s/%s: peer not resolved: %+v", ns.ID, l.Name, l.Peer)
				}
			}
		}
	}
}
