package netcfg

import (
	"bytes"
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// TestWANExample applies examples/wan.yaml as a user would (the netem
// probe decides): without netem the plan says it uses the userspace
// emulator, and a UDP echo from site-a reaches site-b's bridge address
// through the route and the 20 ms line, in at least 40 ms.
func TestWANExample(t *testing.T) {
	t.Parallel()
	o := testOptions(t)
	top := readExample(t, "wan.yaml")
	ctx := context.Background()
	plan, err := PlanApply(ctx, top, o)
	if err != nil {
		t.Fatal(err)
	}
	emulated := slices.ContainsFunc(plan.Notes, func(n string) bool { return strings.Contains(n, "userspace emulator") })
	if emulated == probeNetem() {
		t.Errorf("netem available: %v, yet the plan's notes %q say the emulator is used: %v", probeNetem(), plan.Notes, emulated)
	}
	var out bytes.Buffer
	if _, err := Apply(ctx, top, o, &out); err != nil {
		t.Fatalf("apply: %v\n%s", err, out.String())
	}
	t.Cleanup(func() {
		if _, err := Destroy(ctx, top, o, &bytes.Buffer{}); err != nil {
			t.Errorf("destroy: %v", err)
		}
	})
	if emulated && !strings.Contains(out.String(), "note: delay 20ms loss 0.5%") {
		t.Errorf("apply does not show the emulator note:\n%s", out.String())
	}
	k := newKernel(o)
	defer k.close()
	var srv, cli net.PacketConn
	if err := k.inNS("site-b", func() (err error) { srv, err = net.ListenPacket("udp4", "198.18.21.1:0"); return err }); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if err := k.inNS("site-a", func() (err error) { cli, err = net.ListenPacket("udp4", "198.18.20.1:0"); return err }); err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	go func() {
		buf := make([]byte, 64)
		for {
			n, from, err := srv.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = srv.WriteTo(buf[:n], from)
		}
	}()
	var rtts []time.Duration
	buf := make([]byte, 64)
	for i := 0; i < 20 && len(rtts) < 4; i++ { // 0.5% loss each way: retry a lost echo
		start := time.Now()
		if _, err := cli.WriteTo([]byte{byte(i)}, srv.LocalAddr()); err != nil {
			t.Fatal(err)
		}
		_ = cli.SetReadDeadline(time.Now().Add(time.Second))
		for {
			n, _, err := cli.ReadFrom(buf)
			if err != nil {
				break
			}
			if n == 1 && buf[0] == byte(i) {
				if i > 0 {
					rtts = append(rtts, time.Since(start))
				}
				break
			}
		}
	}
	if len(rtts) < 4 {
		t.Fatalf("only %d echoes came back from site-b's bridge through the route", len(rtts))
	}
	slices.Sort(rtts)
	t.Logf("round trips across the wan line: %v", rtts)
	if rtts[0] < 40*time.Millisecond {
		t.Errorf("round trips %v, want ≥ 40 ms (20 ms each way)", rtts)
	}
}

// TestApplyBridgeSettings: ageing is applied and changed in place; VLAN
// filtering is applied where the kernel has it, and where it has not the
// apply fails saying so and leaves nothing.
func TestApplyBridgeSettings(t *testing.T) {
	t.Parallel()
	o := testOptions(t)
	ctx := context.Background()
	parse := func(attrs string) *Topology {
		top, err := Parse("br.yaml", []byte("version: 1\nnamespaces: [{name: n}]\nbridges: [{name: br0, namespace: n, "+attrs+"}]\n"))
		if err != nil {
			t.Fatal(err)
		}
		return top
	}
	ageing := func() uint32 {
		k := newKernel(o)
		defer k.close()
		h, err := k.handle("n")
		if err != nil {
			t.Fatal(err)
		}
		l, err := h.LinkByName("br0")
		if err != nil {
			t.Fatal(err)
		}
		br, ok := l.(*netlink.Bridge)
		if !ok || br.AgeingTime == nil {
			t.Fatalf("br0: %T without ageing", l)
		}
		return *br.AgeingTime
	}
	if _, err := Apply(ctx, parse("ageing: 120s"), o, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if got := ageing(); got != 12000 {
		t.Errorf("ageing %d cs after apply, want 12000", got)
	}
	plan, err := PlanApply(ctx, parse("ageing: 45s"), o)
	if err != nil || len(plan.Steps) != 1 || plan.Steps[0].Desc != "bridge n/br0: ageing 120s → 45s" {
		t.Fatalf("plan of a changed ageing: %v %v", plan, err)
	}
	if _, err := Apply(ctx, parse("ageing: 45s"), o, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if got := ageing(); got != 4500 {
		t.Errorf("ageing %d cs after the change, want 4500", got)
	}
	if _, err := Destroy(ctx, parse("ageing: 45s"), o, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}

	before := snapshot(t, o)
	vf := parse("vlan_filtering: true")
	var out bytes.Buffer
	_, err = Apply(ctx, vf, o, &out)
	if err != nil {
		if !errors.Is(err, unix.EOPNOTSUPP) || !strings.Contains(err.Error(), "this kernel has no bridge VLAN filtering") {
			t.Fatalf("apply vlan_filtering: %v", err)
		}
		if after := snapshot(t, o); after != before {
			t.Errorf("the failed apply left:\n%s\nwas:\n%s", after, before)
		}
		t.Logf("this kernel has no bridge VLAN filtering: %v", err)
		return
	}
	k := newKernel(o)
	defer k.close()
	h, err := k.handle("n")
	if err != nil {
		t.Fatal(err)
	}
	l, err := h.LinkByName("br0")
	if err != nil {
		t.Fatal(err)
	}
	if br := l.(*netlink.Bridge); br.VlanFiltering == nil || !*br.VlanFiltering {
		t.Error("vlan_filtering is not on after apply")
	}
	if _, err := Destroy(ctx, vf, o, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
}
