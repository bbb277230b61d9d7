package topo

import (
	"bytes"
	"os"
	"reflect"
	"strings"
	"testing"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseBundle(t *testing.T) {
	t.Parallel()
	top, err := ParseBundle(readTestdata(t, "bundle-hyper2.txt"))
	if err != nil {
		t.Fatal(err)
	}
	root := top.Namespaces[0]
	if !root.Root || root.Link("virbr6") == nil {
		t.Fatalf("root namespace %+v lacks virbr6", root.ID)
	}
	br := root.Bridge("virbr6")
	if br == nil || len(br.Ports) != 2 || br.Ports[0].State != "forwarding" {
		t.Fatalf("bridge virbr6: %+v", br)
	}
	eth0 := root.Link("eth0")
	if eth0.Peer == nil || eth0.Peer.Namespace != "bx-hyper1" || eth0.Peer.Name != "eth1" {
		t.Errorf("eth0 peer %+v, want bx-hyper1/eth1 (through ip netns list-id)", eth0.Peer)
	}
	vnet0 := root.Link("vnet0")
	if vnet0.Peer == nil || vnet0.Peer.Namespace != "bx-vm1" || vnet0.Peer.Name != "eth0" {
		t.Errorf("vnet0 peer %+v, want bx-vm1/eth0", vnet0.Peer)
	}
	// The JSON form round-trips.
	var b bytes.Buffer
	if err := WriteJSON(&b, top); err != nil {
		t.Fatal(err)
	}
	back, err := ReadJSON(&b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(jsonOf(t, back), jsonOf(t, top)) {
		t.Error("JSON round trip changed the topology")
	}
}

func jsonOf(t testing.TB, top *Topology) string {
	var b bytes.Buffer
	if err := WriteJSON(&b, top); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestParseBundleErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{"empty", "", "cut short"},
		{"no end", "@@jumpgate-topo host\nh\n@@jumpgate-topo ns \n", "cut short"},
		{"no namespace", "@@jumpgate-topo host\nh\n@@jumpgate-topo end\n", "no root namespace"},
		{"section first", "@@jumpgate-topo link\n[]\n@@jumpgate-topo end\n", "before any namespace"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseBundle([]byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want one containing %q", err, tc.want)
			}
		})
	}
	t.Run("bad json is a warning", func(t *testing.T) {
		top, err := ParseBundle([]byte("@@jumpgate-topo ns \n@@jumpgate-topo link\nCannot open network namespace\n@@jumpgate-topo end\n"))
		if err != nil {
			t.Fatal(err)
		}
		if len(top.Warnings) != 1 || !strings.Contains(top.Warnings[0], "Cannot open network namespace") {
			t.Fatalf("warnings %q", top.Warnings)
		}
	})
}

func TestParseTools(t *testing.T) {
	t.Parallel()
	t.Run("ovs", func(t *testing.T) {
		got := ParseOVSShow(string(readTestdata(t, "ovs-vsctl-show.txt")))
		want := []OVSBridge{
			{Name: "br-int", Ports: []OVSPort{{Name: "br-int", Type: "internal"}, {Name: "vnet3", Tag: 10}, {Name: "patch-ext", Type: "patch", PeerPort: "patch-int"}}},
			{Name: "br ext", Ports: []OVSPort{{Name: "patch-int", Type: "patch", PeerPort: "patch-ext"}}},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got %+v\nwant %+v", got, want)
		}
	})
	t.Run("virsh list", func(t *testing.T) {
		got := ParseVirshList(string(readTestdata(t, "virsh-list.txt")))
		want := []Domain{{Name: "vm1", State: "running"}, {Name: "vm2", State: "shut off"}}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got %+v", got)
		}
	})
	t.Run("virsh domiflist", func(t *testing.T) {
		got := ParseVirshDomIfList(string(readTestdata(t, "virsh-domiflist.txt")))
		want := []DomainInterface{
			{Target: "vnet0", Type: "network", Source: "default", Model: "virtio", MAC: "52:54:00:12:34:56"},
			{Type: "bridge", Source: "virbr6", Model: "e1000", MAC: "52:54:00:ab:cd:ef"},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got %+v", got)
		}
	})
	t.Run("virsh net-list", func(t *testing.T) {
		got := ParseVirshNetList(string(readTestdata(t, "virsh-net-list.txt")))
		want := []Network{{Name: "default", Active: true, Autostart: true}, {Name: "isolated"}}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got %+v", got)
		}
	})
	t.Run("virsh net-info", func(t *testing.T) {
		if got := ParseVirshNetInfo(string(readTestdata(t, "virsh-net-info.txt")))["Bridge"]; got != "virbr0" {
			t.Errorf("bridge %q", got)
		}
	})
	t.Run("fdinfo", func(t *testing.T) {
		if got := parseIFF("pos:\t0\nflags:\t0100002\nmnt_id:\t25\niff:\ttap0\n"); got != "tap0" {
			t.Errorf("iff %q", got)
		}
	})
}

// FuzzParseBundle feeds the remote discovery parser arbitrary output:
// no panic, and what parses survives a JSON round trip.
func FuzzParseBundle(f *testing.F) {
	f.Add(readTestdata(f, "bundle-hyper2.txt"))
	for _, name := range []string{"ovs-vsctl-show.txt", "virsh-list.txt", "virsh-domiflist.txt"} {
		f.Add(append([]byte("@@jumpgate-topo ns \n@@jumpgate-topo ovs\n"), append(readTestdata(f, name), "\n@@jumpgate-topo end\n"...)...))
	}
	f.Add([]byte("@@jumpgate-topo ns \n@@jumpgate-topo link\n[{\"ifname\":\"v\",\"ifindex\":2,\"link_index\":2,\"link_netnsid\":0,\"linkinfo\":{\"info_kind\":\"veth\"}}]\n@@jumpgate-topo end\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		top, err := ParseBundle(b)
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if err := WriteJSON(&buf, top); err != nil {
			t.Fatal(err)
		}
		back, err := ReadJSON(bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatalf("read back: %v", err)
		}
		if jsonOf(t, back) != buf.String() {
			t.Fatal("JSON round trip changed the topology")
		}
		WriteText(&bytes.Buffer{}, top)
		WriteDOT(&bytes.Buffer{}, top)
	})
}
