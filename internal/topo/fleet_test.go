package topo

import (
	"bytes"
	"testing"
)

// fleetHost builds a one-namespace host from links.
func fleetHost(name, kernel string, links ...Link) FleetHost {
	return FleetHost{Name: name, Topology: &Topology{Host: name, Kernel: kernel, Namespaces: []Namespace{{Root: true, Links: links}}}}
}

func veth(name string, index, peer int, addr, master string) Link {
	l := Link{Name: name, Kind: KindVeth, Index: index, Master: master, Peer: &PeerRef{Namespace: "nsid:0", Index: peer}}
	if addr != "" {
		l.Addresses = []Address{{CIDR: addr, Family: "inet", Scope: "global"}}
	}
	return l
}

func TestJoin(t *testing.T) {
	br := Link{Name: "br1", Kind: KindBridge, Addresses: []Address{{CIDR: "198.18.65.1/24", Scope: "global"}}}
	hosts := []FleetHost{
		// gw's p6 (index 9) is h05's eth0 (index 2); h02's eth0 points at
		// index 9 of some namespace too, on another subnet.
		fleetHost("gw", "k1", br, veth("p6", 9, 2, "", "br1"), Link{Name: "tun0", Kind: KindTun,
			Addresses: []Address{{CIDR: "198.19.252.1/30"}}}),
		fleetHost("h02", "k1", veth("eth0", 2, 9, "198.18.64.11/24", ""),
			Link{Name: "vx42", Kind: "vxlan", VXLAN: &VXLAN{VNI: 42, Remotes: []string{"198.18.65.12", "198.18.99.9"}}}),
		fleetHost("h05", "k1", veth("eth0", 2, 9, "198.18.65.12/24", ""),
			Link{Name: "vx42", Kind: "vxlan", VXLAN: &VXLAN{VNI: 42, Remotes: []string{"198.18.64.11"}}},
			Link{Name: "tun0", Kind: KindTun, Addresses: []Address{{CIDR: "198.19.252.2/30"}}}),
		fleetHost("other-kernel", "k2", veth("eth0", 9, 2, "198.18.65.13/24", "")),
		{Name: "down", Error: "ssh: connect to host down port 22: Connection refused"},
	}
	f := Join(hosts)
	var b bytes.Buffer
	for _, l := range f.Links {
		b.WriteString(l.Kind + " " + endLabel(l.A) + " -- " + endLabel(l.B) + "\n")
	}
	want := "veth gw (root)/p6 -- h05 (root)/eth0\n" +
		"vpn gw (root)/tun0 198.19.252.1/30 -- h05 (root)/tun0 198.19.252.2/30\n" +
		"vxlan h02 (root)/vx42 -- remote 198.18.99.9 (not in the fleet)\n" +
		"vxlan h02 (root)/vx42 -- h05 (root)/vx42\n"
	if b.String() != want {
		t.Errorf("links:\n%s\nwant\n%s", b.String(), want)
	}
	if f.Unreachable() != 1 {
		t.Errorf("Unreachable = %d, want 1", f.Unreachable())
	}
	flat := f.Flatten()
	p6 := flat.Namespace("gw").Link("p6")
	if p6 == nil || p6.Peer == nil || p6.Peer.Namespace != "h05" || p6.Peer.Name != "eth0" {
		t.Errorf("flattened gw/p6 peer = %+v, want h05/eth0", p6)
	}
	if d := flat.Namespace("down (unreachable: ssh: connect to host down port 22: Connection refused)"); d == nil || d.Host != "down" {
		t.Errorf("flattened fleet's namespace for the unreachable host: %+v", d)
	}
	// The page draws and collapses a box per host from Host.
	if gw := flat.Namespace("gw"); gw == nil || gw.Host != "gw" {
		t.Errorf("flattened gw namespace: %+v, want Host gw", gw)
	}
	for _, format := range []string{"text", "json", "dot", "html"} {
		var out bytes.Buffer
		if err := RenderFleet(t.Context(), &out, f, format); err != nil || out.Len() == 0 {
			t.Errorf("RenderFleet %s: %v, %d bytes", format, err, out.Len())
		}
	}
}

// TestParseTunOwnerByName: iproute2 prints a tun device's owner by name
// when it can (a persistent tun made by root says "user":"root").
func TestParseTunOwnerByName(t *testing.T) {
	links, err := ParseLinks([]byte(`[{"ifindex":2,"ifname":"jgtun0","link_type":"none","linkinfo":{"info_kind":"tun","info_data":{"type":"tun","persist":true,"user":"root","group":7}}}]`))
	if err != nil {
		t.Fatal(err)
	}
	tap := links[0].Tap
	if links[0].Kind != KindTun || tap == nil || tap.Owner != nil || tap.Group == nil || *tap.Group != 7 {
		t.Errorf("link %+v, tap %+v; want a tun without owner number, group 7", links[0], tap)
	}
}
