package topo

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
	top, err := netcfg.ReadFile("../../examples/lab.yaml")
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
	got, err := Discover(ctx, Options{
		Filter:   func(name string) bool { return strings.HasPrefix(name, prefix) },
		Hostname: "labhost",
	})
	if err != nil {
		t.Fatal(err)
	}
	var js bytes.Buffer
	if err := WriteJSON(&js, normalise(t, got, strings.TrimSuffix(prefix, "-"))); err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join("testdata", "lab.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(js.Bytes(), want) {
		t.Errorf("examples/lab.yaml applied differs from the lab of internal/lab (testdata/lab.json):\n--- net file\n%s", js.String())
	}
}
