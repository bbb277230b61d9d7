package topo

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jumpgate/jumpgate/internal/lab"
	"github.com/jumpgate/jumpgate/internal/lab/labtest"
)

var update = flag.Bool("update", false, "rewrite golden files")

// discoverLab discovers the root namespace and the lab's namespaces.
func discoverLab(t *testing.T, l *lab.Lab) *Topology {
	t.Helper()
	prefix := l.Name() + "-"
	top, err := Discover(context.Background(), Options{
		Filter:   func(name string) bool { return strings.HasPrefix(name, prefix) },
		Hostname: "labhost",
	})
	if err != nil {
		t.Fatalf("discover: %v", err)
	}
	return top
}

// normalise makes a lab topology comparable across runs: the root
// namespace and traffic-dependent tables go, the lab name becomes LAB,
// ifindexes, inodes and PIDs become 0 and each MAC is named after its link.
func normalise(t *testing.T, top *Topology, labName string) *Topology {
	t.Helper()
	var keep []Namespace
	for _, ns := range top.Namespaces {
		if ns.Root {
			continue
		}
		ns.Inode, ns.PIDs, ns.FDB, ns.Neighbours = 0, nil, nil, nil
		for i := range ns.Bridges {
			for j := range ns.Bridges[i].Ports {
				ns.Bridges[i].Ports[j].Stations = nil
				ns.Bridges[i].Ports[j].State = ""
			}
		}
		for i := range ns.Links {
			l := &ns.Links[i]
			l.Index = 0
			// MACs are random, and a bridge takes the lowest of its
			// ports'; its carrier comes up a moment after the lab.
			if l.MAC != "" {
				l.MAC = "mac-of-" + l.Name
			}
			if l.Kind == KindBridge {
				l.State = ""
			}
			if l.Peer != nil {
				l.Peer.Index = 0
			}
			var addrs []Address
			for _, a := range l.Addresses {
				if a.Scope != "link" { // IPv6 link-local addresses follow the random MACs
					addrs = append(addrs, a)
				}
			}
			l.Addresses = addrs
		}
		keep = append(keep, ns)
	}
	top.Namespaces = keep
	top.Warnings, top.Kernel = nil, ""
	b, err := json.Marshal(top)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.ReplaceAll(string(b), labName+"-", "LAB-")
	var n Topology
	if err := json.Unmarshal([]byte(s), &n); err != nil {
		t.Fatal(err)
	}
	return &n
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (regenerate with -update): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (regenerate with -update if intended):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// TestLab builds the canonical lab once and checks, on it: the golden
// JSON and DOT, the stations seen behind virbr6's ports after traffic,
// the HTML page in headless Chromium, and a remote discovery of hyper2
// through the jump chain equal to the local one.
func TestLab(t *testing.T) {
	l := labtest.New(t, lab.Options{Server: lab.OpenSSH})
	top := discoverLab(t, l)
	for _, h := range l.Hosts() {
		if top.Namespace(l.Netns(h)) == nil {
			t.Fatalf("namespace %s of lab host %s not discovered", l.Netns(h), h)
		}
	}

	t.Run("golden", func(t *testing.T) {
		n := normalise(t, discoverLab(t, l), l.Name())
		var js, dot bytes.Buffer
		if err := WriteJSON(&js, n); err != nil {
			t.Fatal(err)
		}
		if err := WriteDOT(&dot, n); err != nil {
			t.Fatal(err)
		}
		golden(t, "lab.json", js.Bytes())
		golden(t, "lab.dot", dot.Bytes())
	})

	t.Run("peers", func(t *testing.T) {
		want := map[string]string{ // host/link → peer host/link
			"laptop/eth0": "hyper1/eth0", "hyper1/eth1": "hyper2/eth0", "hyper1/vnet0": "lan1/eth0",
			"hyper2/vnet0": "vm1/eth0", "hyper2/vnet1": "vm2/eth0", "vm2/eth0": "hyper2/vnet1",
		}
		for from, to := range want {
			fh, fl, _ := strings.Cut(from, "/")
			th, tl, _ := strings.Cut(to, "/")
			ns := top.Namespace(l.Netns(fh))
			link := ns.Link(fl)
			if link == nil || link.Peer == nil {
				t.Errorf("%s: no veth peer: %+v", from, link)
				continue
			}
			if link.Peer.Namespace != l.Netns(th) || link.Peer.Name != tl {
				t.Errorf("%s: peer %s/%s, want %s/%s", from, link.Peer.Namespace, link.Peer.Name, l.Netns(th), tl)
			}
		}
	})

	t.Run("stations", func(t *testing.T) {
		for _, ip := range []string{"198.18.6.11", "198.18.6.12"} {
			if out, err := exec.Command("ip", "netns", "exec", l.Netns("hyper2"), "bash", "-c", "exec 3<>/dev/tcp/"+ip+"/22").CombinedOutput(); err != nil {
				t.Fatalf("connect to %s:22 from hyper2: %v\n%s", ip, err, out)
			}
		}
		top := discoverLab(t, l)
		h2 := top.Namespace(l.Netns("hyper2"))
		br := h2.Bridge("virbr6")
		if br == nil {
			t.Fatal("no bridge virbr6 on hyper2")
		}
		vm := map[string]string{"vnet0": "vm1", "vnet1": "vm2"}
		for _, p := range br.Ports {
			guest := top.Namespace(l.Netns(vm[p.Name])).Link("eth0")
			want := Station{MAC: guest.MAC, IPs: []string{l.Addr(vm[p.Name])}}
			if !reflect.DeepEqual(p.Stations, []Station{want}) {
				t.Errorf("port %s: stations %+v, want [%+v]", p.Name, p.Stations, want)
			}
		}
	})

	t.Run("html", func(t *testing.T) { testHTMLInChromium(t, top, l) })

	t.Run("remote", func(t *testing.T) {
		if testing.Short() {
			t.Skip("OpenSSH interop test: skipped under -short")
		}
		bin := labtest.Binary(t)
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, "ip", "netns", "exec", l.Netns("laptop"),
			bin, "topo", "-F", l.SSHConfig(), "--format", "json", "--netns", "-", "hyper2")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("jumpgate topo hyper2: %v\n%s", err, stderr.String())
		}
		remote, err := ReadJSON(bytes.NewReader(out))
		if err != nil {
			t.Fatal(err)
		}
		if remote.Source != "ssh" || len(remote.Namespaces) != 1 || !remote.Namespaces[0].Root {
			t.Fatalf("remote topology: source %q, %d namespaces; want ssh and hyper2's own only", remote.Source, len(remote.Namespaces))
		}
		local := discoverLab(t, l).Namespace(l.Netns("hyper2"))
		got := comparable(remote.Namespaces[0])
		want := comparable(*local)
		if !reflect.DeepEqual(got, want) {
			gj, _ := json.MarshalIndent(got, "", " ")
			wj, _ := json.MarshalIndent(want, "", " ")
			t.Errorf("hyper2 over ssh differs from netlink:\n--- ssh\n%s\n--- netlink\n%s", gj, wj)
		}
	})
}

// comparable keeps what both discoveries report identically: links
// (without IPv6 link-local addresses, whose DAD timing differs) and
// bridges with their ports (without STP port states, which only iproute2
// reports).
func comparable(ns Namespace) any {
	links := make([]Link, len(ns.Links))
	copy(links, ns.Links)
	for i := range links {
		var addrs []Address
		for _, a := range links[i].Addresses {
			if a.Scope != "link" {
				addrs = append(addrs, a)
			}
		}
		links[i].Addresses = addrs
		links[i].portState, links[i].stp, links[i].vlanFiltering = "", false, false
		links[i].bytes = nil // only the remote side reads counters
		if p := links[i].Peer; p != nil {
			links[i].Peer = &PeerRef{Namespace: p.Namespace, Name: p.Name, Index: p.Index}
		}
	}
	var ports [][]string
	for _, b := range ns.Bridges {
		var names []string
		for _, p := range b.Ports {
			names = append(names, p.Kind+" "+p.Name)
		}
		ports = append(ports, append([]string{b.Name}, names...))
	}
	return struct {
		Links []Link
		Ports [][]string
	}{links, ports}
}
