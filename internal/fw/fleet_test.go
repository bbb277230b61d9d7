package fw

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"os"
	"path"
	"slices"
	"testing"

	"github.com/jumpgate/jumpgate/internal/topo"
)

// TestPlanFleetGolden derives per-host policies from a joined fleet: hyper1
// and hyper2 each hold a VM on bridge seg100, the bridges joined by VXLAN
// 100, hyper1's bridge also has an uplink; hyper3 could not be reached.
// testdata/fleet-two-hosts.golden keeps the policies, the rules and the
// log; go test -update rewrites it.
func TestPlanFleetGolden(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("testdata/fleet-two-hosts.json")
	if err != nil {
		t.Fatal(err)
	}
	var hosts []topo.FleetHost
	if err := json.Unmarshal(data, &hosts); err != nil {
		t.Fatal(err)
	}
	plans := PlanFleet(topo.Join(hosts), "")

	port := func(host int, name string) Port {
		t.Helper()
		if plans[host].Policy == nil {
			t.Fatalf("%s: no policy: %v", plans[host].Host, plans[host].Err)
		}
		for _, pt := range plans[host].Policy.Bridges[0].Ports {
			if pt.Name == name {
				return pt
			}
		}
		t.Fatalf("%s: no port %s", plans[host].Host, name)
		return Port{}
	}
	macs := func(sts []Station) []string {
		var out []string
		for _, s := range sts {
			out = append(out, s.MAC.String())
		}
		return out
	}
	// hyper1's tunnel leads to hyper2's bridge, where only vmb lives.
	if vx := port(0, "vx100"); vx.Peer != PeerRemote || !vx.Closed || !slices.Equal(macs(vx.Remote), []string{"02:00:00:00:02:00", "52:54:00:00:02:01"}) {
		t.Errorf("hyper1 vx100 = %+v, want a closed border to hyper2's bridge and vmb", vx)
	}
	// Beyond hyper2's tunnel lies hyper1's uplink: open.
	if vx := port(1, "vx100"); vx.Peer != PeerRemote || vx.Closed || !slices.Equal(macs(vx.Remote), []string{"02:00:00:00:01:00", "52:54:00:00:01:01"}) {
		t.Errorf("hyper2 vx100 = %+v, want an open border to hyper1's bridge and vma", vx)
	}
	// hyper2 never resolved vmb's IP; hyper1 did, across the tunnel.
	if vmb := port(1, "vmb0"); len(vmb.Bind) != 1 || !slices.Equal(vmb.Bind[0].IPs, []netip.Addr{netip.MustParseAddr("198.18.100.2")}) {
		t.Errorf("hyper2 vmb0 = %+v, want vmb bound to 198.18.100.2 as hyper1 saw it", vmb)
	}
	if plans[2].Err == nil || !plans[2].Unreached {
		t.Errorf("hyper3 = %+v, want unreached with its error", plans[2])
	}

	var policies, rules, log bytes.Buffer
	if err := WritePlans(&policies, &log, plans, true); err != nil {
		t.Fatal(err)
	}
	if err := WritePlans(&rules, &log, plans, false); err != nil {
		t.Fatal(err)
	}
	got := policies.String() + "\n# ---- rules\n" + rules.String() + "\n# ---- log\n" + log.String()
	goldenFile(t, "testdata/fleet-two-hosts.golden", got)
}

func goldenFile(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (go test -update rewrites it):\n%s", path, got)
	}
}

// TestPlanFleetLooseEnds checks that a tunnel is closed only when every
// far end is known: a VXLAN remote no discovered host holds opens it, and
// a tunnel whose far host was not reached is a border to an external
// network, with a warning.
func TestPlanFleetLooseEnds(t *testing.T) {
	t.Parallel()
	load := func() []topo.FleetHost {
		data, err := os.ReadFile("testdata/fleet-two-hosts.json")
		if err != nil {
			t.Fatal(err)
		}
		var hosts []topo.FleetHost
		if err := json.Unmarshal(data, &hosts); err != nil {
			t.Fatal(err)
		}
		return hosts
	}
	vx100 := func(p HostPlan) Port {
		t.Helper()
		if p.Policy == nil {
			t.Fatalf("%s: %v", p.Host, p.Err)
		}
		for _, pt := range p.Policy.Bridges[0].Ports {
			if pt.Name == "vx100" {
				return pt
			}
		}
		t.Fatal("no vx100")
		return Port{}
	}

	hosts := load()
	l := hosts[0].Topology.Namespaces[0].Link("vx100")
	l.VXLAN.Remotes = append(l.VXLAN.Remotes, "198.18.2.9")
	if pt := vx100(PlanFleet(topo.Join(hosts), "")[0]); pt.Peer != PeerRemote || pt.Closed {
		t.Errorf("with a remote on no discovered host, vx100 = %+v, want an open border to remote", pt)
	}

	hosts = load()
	hosts[1] = topo.FleetHost{Name: "hyper2", Error: "unreachable"}
	p := PlanFleet(topo.Join(hosts), "")[0]
	if pt := vx100(p); pt.Peer != PeerExternal || len(pt.Remote) > 0 {
		t.Errorf("with hyper2 unreached, vx100 = %+v, want a border to an external network", pt)
	}
	if !slices.ContainsFunc(p.Warnings, func(w string) bool { return bytes.Contains([]byte(w), []byte("no discovered host's bridge")) }) {
		t.Errorf("warnings %q do not say the far end is unknown", p.Warnings)
	}
}

func TestFleetNetns(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"", "vm1", "a*b?[c]\\d"} {
		pat := FleetNetns(name)
		for _, other := range []string{"vm1", "vm2", "a*b?[c]\\d", "axb?[c]\\d"} {
			got, err := path.Match(pat, other)
			if want := other == name; err != nil || got != want {
				t.Errorf("FleetNetns(%q) = %q matches %q: %v, %v; want %v", name, pat, other, got, err, want)
			}
		}
	}
}
