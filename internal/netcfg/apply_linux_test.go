package netcfg

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"

	"github.com/jumpgate/jumpgate/internal/nstest"
)

// testOptions gives a test its own namespace prefix, a host namespace of
// its own (so "host" links never touch the machine's) and a state dir, and
// removes whatever is left in t.Cleanup, even when the test failed.
func testOptions(t *testing.T) Options {
	t.Helper()
	nstest.RequireRoot(t)
	b := make([]byte, 3)
	rand.Read(b)
	prefix := "jgt" + hex.EncodeToString(b) + "-"
	o := Options{NetnsPrefix: prefix, StateDir: t.TempDir(), Emulator: []string{os.Args[0], "net", "link-emu"}}
	k := newKernel(o)
	if err := k.createNamespace("host"); err != nil {
		t.Fatal(err)
	}
	k.close()
	o.HostNetns = filepath.Join(netnsDir, prefix+"host")
	t.Cleanup(func() {
		// Emulators first (by the PIDs this test recorded), then every
		// namespace with the test's prefix.
		sts, _ := filepath.Glob(filepath.Join(o.StateDir, "*.json"))
		for _, s := range sts {
			owner := strings.TrimSuffix(filepath.Base(s), ".json")
			st, err := loadState(o, owner)
			if err != nil {
				continue
			}
			p := &planner{o: o, st: st}
			for _, e := range slices.Clone(st.Emulators) {
				_ = p.stopEmulator(e.ID)
			}
		}
		k := newKernel(Options{})
		names, _ := os.ReadDir(netnsDir)
		for _, n := range names {
			if strings.HasPrefix(n.Name(), prefix) {
				_ = k.removeNamespace(n.Name())
			}
		}
	})
	return o
}

// snapshot lists namespaces and the links in each of them (and in the
// test's host namespace), to compare before and after.
func snapshot(t *testing.T, o Options) string {
	t.Helper()
	var out []string
	names, _ := os.ReadDir(netnsDir)
	k := newKernel(Options{})
	defer k.close()
	for _, n := range names {
		if !strings.HasPrefix(n.Name(), o.NetnsPrefix) {
			continue
		}
		out = append(out, "ns "+n.Name())
		h, err := k.handle(n.Name())
		if err != nil {
			t.Fatal(err)
		}
		links, err := h.LinkList()
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range links {
			out = append(out, "  link "+n.Name()+"/"+l.Attrs().Name)
		}
	}
	slices.Sort(out)
	return strings.Join(out, "\n")
}

// TestApplyRoundTrip applies each example twice (the second apply must
// change nothing and say so), checks the plan is then empty, destroys it
// and checks the kernel is as it was.
func TestApplyRoundTrip(t *testing.T) {
	for _, ex := range []string{"lab.yaml", "seed.yaml", "wan.yaml"} {
		t.Run(ex, func(t *testing.T) {
			t.Parallel()
			o := testOptions(t)
			top := readExample(t, ex)
			ctx := context.Background()
			before := snapshot(t, o)

			plan, err := PlanApply(ctx, top, o)
			if err != nil {
				t.Fatal(err)
			}
			if len(plan.Steps) == 0 {
				t.Fatal("empty plan for a fresh topology")
			}
			if after := snapshot(t, o); after != before {
				t.Fatalf("plan changed the kernel:\n%s\nwas:\n%s", after, before)
			}
			var out bytes.Buffer
			n, err := Apply(ctx, top, o, &out)
			if err != nil {
				t.Fatalf("apply: %v\n%s", err, out.String())
			}
			if n != len(plan.Steps) {
				t.Errorf("apply made %d changes, plan said %d", n, len(plan.Steps))
			}
			applied := snapshot(t, o)
			if applied == before {
				t.Fatal("apply changed nothing")
			}
			out.Reset()
			n, err = Apply(ctx, top, o, &out)
			if err != nil || n != 0 || !strings.Contains(out.String(), "no changes") {
				t.Fatalf("second apply: %d changes, %v:\n%s", n, err, out.String())
			}
			if ex == "lab.yaml" {
				checkLab(t, o)
			}
			out.Reset()
			if _, err := Destroy(ctx, top, o, &out); err != nil {
				t.Fatalf("destroy: %v\n%s", err, out.String())
			}
			if after := snapshot(t, o); after != before {
				t.Fatalf("destroy left the kernel different:\n%s\nwas:\n%s\ndestroy said:\n%s", after, before, out.String())
			}
			if sts, _ := filepath.Glob(filepath.Join(o.StateDir, "*")); len(sts) != 0 {
				t.Errorf("state left behind: %v", sts)
			}
		})
	}
}

// checkLab checks a few facts of the applied lab: addresses, bridge ports
// and that hyper2's bridge carries vm1's port.
func checkLab(t *testing.T, o Options) {
	t.Helper()
	k := newKernel(o)
	defer k.close()
	h, err := k.handle("hyper2")
	if err != nil {
		t.Fatal(err)
	}
	br, err := h.LinkByName("virbr6")
	if err != nil {
		t.Fatal(err)
	}
	port, err := h.LinkByName("vnet0")
	if err != nil {
		t.Fatal(err)
	}
	if port.Attrs().MasterIndex != br.Attrs().Index {
		t.Errorf("hyper2/vnet0 is not on virbr6")
	}
	addrs, err := h.AddrList(br, netlink.FAMILY_V4)
	if err != nil || len(addrs) != 1 || addrs[0].IPNet.String() != "198.18.6.1/24" {
		t.Errorf("virbr6 addresses = %v, %v", addrs, err)
	}
	if !strings.HasPrefix(br.Attrs().Alias, AliasPrefix) {
		t.Errorf("virbr6 alias = %q", br.Attrs().Alias)
	}
}

// TestApplyRollback applies a file whose last route cannot be made (its
// gateway is on no connected network): apply must fail and leave nothing.
func TestApplyRollback(t *testing.T) {
	t.Parallel()
	o := testOptions(t)
	top, err := Parse("rollback.yaml", []byte(`version: 1
namespaces: [{name: a}, {name: b}]
bridges: [{name: br0, namespace: a, stp: true, addresses: [198.18.30.1/24]}]
veths:
  - a: {name: p0, namespace: a, bridge: br0}
    b: {name: eth0, namespace: b, addresses: [198.18.30.2/24]}
    shape: {rate: 10mbit}
routes:
  - {namespace: b, to: 198.18.31.0/24, via: 198.18.99.1}
`))
	if err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, o)
	var out bytes.Buffer
	_, err = Apply(context.Background(), top, o, &out)
	if err == nil {
		t.Fatalf("apply succeeded:\n%s", out.String())
	}
	if !strings.Contains(err.Error(), "route 198.18.31.0/24") || !strings.Contains(out.String(), "rolled back: namespace") {
		t.Errorf("error %v, output:\n%s", err, out.String())
	}
	if after := snapshot(t, o); after != before {
		t.Fatalf("rollback left:\n%s\nwas:\n%s", after, before)
	}
}

// TestApplyRefusesForeignLink: a link of the same name that is not ours
// stops the plan, and destroy leaves it alone.
func TestApplyRefusesForeignLink(t *testing.T) {
	t.Parallel()
	o := testOptions(t)
	k := newKernel(o)
	defer k.close()
	h, err := k.handle("")
	if err != nil {
		t.Fatal(err)
	}
	la := netlink.NewLinkAttrs()
	la.Name = "wire"
	if err := h.LinkAdd(&netlink.Bridge{LinkAttrs: la}); err != nil {
		t.Fatal(err)
	}
	top := readExample(t, "seed.yaml")
	if _, err := PlanApply(context.Background(), top, o); err == nil || !strings.Contains(err.Error(), "not owned by") {
		t.Fatalf("plan over a foreign bridge: %v", err)
	}
	var out bytes.Buffer
	if _, err := Destroy(context.Background(), top, o, &out); err != nil {
		t.Fatal(err)
	}
	if _, err := h.LinkByName("wire"); err != nil {
		t.Fatalf("destroy removed a link it does not own: %v", err)
	}
}

// TestApplyChangesBridge: a changed stp setting is planned as a change and
// applied in place.
func TestApplyChangesBridge(t *testing.T) {
	t.Parallel()
	o := testOptions(t)
	ctx := context.Background()
	src := "version: 1\nbridges: [{name: br0, stp: %s}]\n"
	off, _ := Parse("b.yaml", []byte(strings.Replace(src, "%s", "false", 1)))
	on, _ := Parse("b.yaml", []byte(strings.Replace(src, "%s", "true", 1)))
	if _, err := Apply(ctx, off, o, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	plan, err := PlanApply(ctx, on, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Steps) != 1 || !strings.Contains(plan.Steps[0].Desc, "stp off → on") {
		t.Fatalf("plan = %v", plan.Steps)
	}
	if _, err := Apply(ctx, on, o, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if plan, err := PlanApply(ctx, on, o); err != nil || len(plan.Steps) != 0 {
		t.Fatalf("after apply: %v %v", plan, err)
	}
	if _, err := Destroy(ctx, on, o, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
}

// TestApplyRollbackRace: something else makes a name of the file between
// plan and apply (a second namespace, or the host end of its veth), so a
// step fails halfway through the apply. Everything the apply made goes,
// and what the other party made stays.
func TestApplyRollbackRace(t *testing.T) {
	src := `version: 1
name: race
namespaces: [{name: a}, {name: b}]
veths:
  - a: {name: eth0, namespace: a, addresses: [198.18.50.2/30]}
    b: {name: up-a, addresses: [198.18.50.1/30]}
  - a: {name: eth0, namespace: b}
    b: {name: up-b}
`
	tests := []struct {
		name    string
		collide func(t *testing.T, o Options)
		failing string // the step that must fail
	}{
		{"second namespace", func(t *testing.T, o Options) {
			k := newKernel(Options{NetnsPrefix: o.NetnsPrefix})
			defer k.close()
			if err := k.createNamespace("b"); err != nil {
				t.Fatal(err)
			}
		}, "namespace "},
		{"host end of the second veth", func(t *testing.T, o Options) {
			k := newKernel(o)
			defer k.close()
			h, err := k.handle("")
			if err != nil {
				t.Fatal(err)
			}
			la := netlink.NewLinkAttrs()
			la.Name = "up-b"
			if err := h.LinkAdd(&netlink.Bridge{LinkAttrs: la}); err != nil {
				t.Fatal(err)
			}
		}, "veth b/eth0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := testOptions(t)
			top, err := Parse("race.yaml", []byte(src))
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			k := newKernel(o)
			defer k.close()
			p, err := newPlanner(ctx, top, o, k)
			if err != nil {
				t.Fatal(err)
			}
			plan, err := p.plan(ctx)
			if err != nil {
				t.Fatal(err)
			}
			tt.collide(t, o)
			before := snapshot(t, o)
			var out bytes.Buffer
			n, err := run(ctx, plan, &out)
			if err == nil {
				t.Fatalf("apply over a collision succeeded (%d steps):\n%s", n, out.String())
			}
			if !strings.Contains(err.Error(), "apply \""+tt.failing) || !strings.Contains(out.String(), "rolled back: namespace "+o.NetnsPrefix+"a") {
				t.Errorf("error %v, output:\n%s", err, out.String())
			}
			if after := snapshot(t, o); after != before {
				t.Errorf("rollback left the kernel different from before the apply (the other party's link or namespace must stay):\n%s\nwas:\n%s", after, before)
			}
			if sts, _ := filepath.Glob(filepath.Join(o.StateDir, "*")); len(sts) != 0 {
				t.Errorf("state left behind: %v", sts)
			}
		})
	}
}
