package topo

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jumpgate/jumpgate/internal/netcfg"
	"github.com/jumpgate/jumpgate/internal/nstest"
)

// TestNetFileLab applies examples/lab.yaml with `jumpgate net`'s engine
// and finds, link for link, the topology internal/lab builds: the same
// golden testdata/lab.json that TestLab checks the real lab against
// (random MACs, indexes and traffic-dependent tables aside).
func TestNetFileLab(t *testing.T) {
	t.Parallel()
	nstest.RequireRoot(t)
	b := make([]byte, 3)
	rand.Read(b)
	prefix := "tn" + hex.EncodeToString(b) + "-"
	top, err := netcfg.ReadFile(context.Background(), "../../examples/lab.yaml")
	if err != nil {
		t.Fatal(err)
	}
	o := netcfg.Options{NetnsPrefix: prefix, StateDir: t.TempDir()}
	ctx := context.Background()
	t.Cleanup(func() {
		var out bytes.Buffer
		if _, err := netcfg.Destroy(ctx, top, o, &out); err != nil {
			t.Errorf("destroy: %v\n%s", err, out.String())
		}
		ents, _ := os.ReadDir("/run/netns")
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), prefix) {
				t.Errorf("destroy left namespace %s", e.Name())
			}
		}
	})
	var out bytes.Buffer
	if _, err := netcfg.Apply(ctx, top, o, &out); err != nil {
		t.Fatalf("apply examples/lab.yaml: %v\n%s", err, out.String())
	}
	want, err := os.ReadFile(filepath.Join("testdata", "lab.json"))
	if err != nil {
		t.Fatal(err)
	}
	// A veth's carrier comes up a moment after apply has set it up (the
	// kernel's link watch), so the comparison is retried for a while.
	var n *Topology
	var js bytes.Buffer
	for deadline := time.Now().Add(5 * time.Second); ; {
		got, err := Discover(ctx, Options{
			Filter:   func(name string) bool { return strings.HasPrefix(name, prefix) },
			Hostname: "labhost",
		})
		if err != nil {
			t.Fatal(err)
		}
		n = normalise(t, got, strings.TrimSuffix(prefix, "-"))
		js.Reset()
		if err := WriteJSON(&js, n); err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(js.Bytes(), want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("examples/lab.yaml applied differs from the lab of internal/lab (testdata/lab.json):\n--- net file\n%s", js.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Run("svg", func(t *testing.T) {
		if _, err := exec.LookPath("dot"); err != nil {
			t.Skip("graphviz is not installed (scripts/deps.sh installs it)")
		}
		svg, err := SVG(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			XMLName xml.Name
			Texts   []string `xml:"g>g>text"`
		}
		if err := xml.Unmarshal(svg, &doc); err != nil || doc.XMLName.Local != "svg" {
			t.Fatalf("not an SVG document (%v):\n%s", err, svg)
		}
		all := strings.Join(doc.Texts, "\n")
		for _, w := range []string{"wire", "virbr6", "vnet0", "vnet1", "LAB-hyper2", "198.18.6.1/24"} {
			if !strings.Contains(all, w) {
				t.Errorf("the SVG's text lacks %q:\n%s", w, all)
			}
		}
	})
}
