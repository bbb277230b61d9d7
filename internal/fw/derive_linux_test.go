package fw

import (
	"context"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/jumpgate/jumpgate/internal/topo"
)

// TestFromLiveTopology derives the lab's policy from what its namespace
// has seen after the host pinged every guest, and finds the policy a user
// would write by hand.
func TestFromLiveTopology(t *testing.T) {
	l := newFWLab(t)
	for _, g := range []guest{l.g1, l.g2, l.g3} {
		must(t, "host pings "+g.port, ping(l.hyper, g.ip))
	}
	topology, err := topo.Discover(context.Background(), topo.Options{Filter: func(name string) bool { return name == l.hyper }})
	must(t, "discover", err)
	got, warns, err := FromTopology(topology, l.hyper)
	must(t, "derive", err)
	if len(warns) > 0 {
		t.Errorf("warnings: %q", warns)
	}
	want := l.policy(t)
	normalize := func(p *Policy) {
		for i := range p.Bridges {
			slices.SortFunc(p.Bridges[i].Ports, func(a, b Port) int { return strings.Compare(a.Name, b.Name) })
			for j := range p.Bridges[i].Ports {
				for k := range p.Bridges[i].Ports[j].Bind {
					s := &p.Bridges[i].Ports[j].Bind[k]
					s.IPs = slices.DeleteFunc(s.IPs, func(a netip.Addr) bool { return a.IsLinkLocalUnicast() })
				}
			}
		}
	}
	normalize(got)
	normalize(want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("derived policy:\n%s\nwant:\n%s", got.Encode(), want.Encode())
	}
}
