package fleet

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jumpgate/jumpgate/internal/lab/labtest"
	"github.com/jumpgate/jumpgate/internal/topo"
)

var update = flag.Bool("update", false, "rewrite golden files")

// normalise keeps what does not vary from run to run: MACs become their
// link's name, and ifindexes, inodes, PIDs, netnsids, boot IDs, tables
// filled by traffic and IPv6 link-local addresses go.
func normalise(f *topo.Fleet) {
	nsid := regexp.MustCompile(`^nsid:\d+$`)
	for _, h := range f.Hosts {
		t := h.Topology
		if t == nil {
			continue
		}
		t.Kernel, t.Warnings = "", nil
		for i := range t.Namespaces {
			ns := &t.Namespaces[i]
			ns.Inode, ns.PIDs, ns.FDB, ns.Neighbours = 0, nil, nil, nil
			for j := range ns.Bridges {
				for k := range ns.Bridges[j].Ports {
					ns.Bridges[j].Ports[k].Stations, ns.Bridges[j].Ports[k].State = nil, ""
				}
			}
			for j := range ns.Links {
				l := &ns.Links[j]
				l.Index = 0
				if l.MAC != "" {
					l.MAC = "mac-of-" + l.Name
				}
				if l.Kind == topo.KindBridge {
					l.State = ""
				}
				if l.Peer != nil {
					l.Peer.Index = 0
					l.Peer.Namespace = nsid.ReplaceAllString(l.Peer.Namespace, "nsid:N")
				}
				if l.Tap != nil {
					l.Tap.Holders = nil
				}
				var addrs []topo.Address
				for _, a := range l.Addresses {
					if a.Scope != "link" {
						addrs = append(addrs, a)
					}
				}
				l.Addresses = addrs
			}
		}
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
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

// TestFleetLab discovers a lab fleet of 10 hosts (two behind one jump
// host, four behind two) with `jumpgate topo --all`, compares the joined
// graph with its golden, then takes one host down: it is shown with its
// error, the others still are, and the exit status is 1.
func TestFleetLab(t *testing.T) {
	if testing.Short() {
		t.Skip("OpenSSH lab test: skipped under -short")
	}
	l := newFleetLab(t, 10)
	bin := labtest.Binary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	out, stderr, code, err := l.topo(ctx, bin, "--all", "--format", "json")
	if err != nil || code != 0 {
		t.Fatalf("topo --all: exit %d, %v\n%s", code, err, stderr)
	}
	f, err := topo.ReadFleetJSON(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Hosts) != 10 || f.Unreachable() != 0 {
		t.Fatalf("%d hosts, %d unreachable; want 10 and 0\n%s", len(f.Hosts), f.Unreachable(), stderr)
	}
	for _, h := range f.Hosts {
		for _, w := range h.Topology.Warnings {
			t.Logf("%s: warning: %s", h.Name, w)
		}
	}
	normalise(f)
	var text bytes.Buffer
	if err := topo.WriteFleetText(&text, f); err != nil {
		t.Fatal(err)
	}
	golden(t, "fleet.txt", text.Bytes())

	for _, format := range []string{"dot", "html", "text"} {
		out, stderr, code, err := l.topo(ctx, bin, "--all", "--format", format)
		if err != nil || code != 0 || len(out) == 0 {
			t.Errorf("--format %s: exit %d, %v, %d bytes\n%s", format, code, err, len(out), stderr)
		}
	}

	l.host("h06").stop()
	out, stderr, code, err = l.topo(ctx, bin, "--all", "--format", "json", "--parallel", "3")
	if err != nil || code != 1 {
		t.Fatalf("topo --all with h06 down: exit %d, %v; want 1\n%s", code, err, stderr)
	}
	f, err = topo.ReadFleetJSON(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	h := f.Host("h06")
	if h == nil || h.Topology != nil || !strings.Contains(h.Error, "jump host gw2") || !strings.Contains(h.Error, "Connection refused") {
		t.Errorf("h06 down: %+v; want no topology and gw2's refusal", h)
	}
	if f.Unreachable() != 1 || len(f.Hosts) != 10 {
		t.Errorf("%d of %d hosts unreachable, want 1 of 10", f.Unreachable(), len(f.Hosts))
	}
	if !strings.Contains(string(stderr), "h06: ") || !strings.Contains(string(stderr), "1 of 10 hosts could not be discovered") {
		t.Errorf("stderr does not name h06 and the count:\n%s", stderr)
	}
}
