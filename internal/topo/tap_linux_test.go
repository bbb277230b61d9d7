package topo

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jumpgate/jumpgate/internal/netcfg"
	"github.com/jumpgate/jumpgate/internal/nstest"
)

// TestTapOwnerAndHolder makes a persistent tap with an owner uid on a
// bridge (with `jumpgate net`'s engine), then lets a real QEMU open it:
// discovery reports the tap's owner and persistence, no holder before and
// QEMU, by PID and name, after.
func TestTapOwnerAndHolder(t *testing.T) {
	t.Parallel()
	nstest.RequireRoot(t)
	qemu, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		t.Skip("qemu-system-x86_64 is not installed (scripts/deps.sh installs it)")
	}
	b := make([]byte, 3)
	rand.Read(b)
	prefix := "tq" + hex.EncodeToString(b) + "-"
	top, err := netcfg.Parse("tap.yaml", []byte(`version: 1
name: tap
namespaces: [{name: hv}]
bridges: [{name: br0, namespace: hv}]
taps: [{name: vnet7, namespace: hv, bridge: br0, owner: 1234}]
`))
	if err != nil {
		t.Fatal(err)
	}
	o := netcfg.Options{NetnsPrefix: prefix, StateDir: t.TempDir()}
	ctx := context.Background()
	var out bytes.Buffer
	if _, err := netcfg.Apply(ctx, top, o, &out); err != nil {
		t.Fatalf("apply: %v\n%s", err, out.String())
	}
	t.Cleanup(func() {
		if _, err := netcfg.Destroy(ctx, top, o, &bytes.Buffer{}); err != nil {
			t.Errorf("destroy: %v", err)
		}
	})
	ns := prefix + "hv"
	discover := func() *Link {
		t.Helper()
		got, err := Discover(ctx, Options{Filter: func(name string) bool { return name == ns }})
		if err != nil {
			t.Fatal(err)
		}
		n := got.Namespace(ns)
		if n == nil || n.Link("vnet7") == nil || n.Link("vnet7").Tap == nil {
			t.Fatalf("tap vnet7 not discovered in %s", ns)
		}
		if br := n.Bridge("br0"); br == nil || len(br.Ports) != 1 || br.Ports[0].Name != "vnet7" || br.Ports[0].Kind != KindTap {
			t.Errorf("bridge br0: %+v, want the tap as its one port", br)
		}
		return n.Link("vnet7")
	}
	l := discover()
	if l.Tap.Mode != "tap" || !l.Tap.Persistent || l.Tap.Owner == nil || *l.Tap.Owner != 1234 || len(l.Tap.Holders) != 0 {
		t.Fatalf("tap before QEMU: %+v (owner %v), want a persistent tap owned by 1234, held by nobody", *l.Tap, l.Tap.Owner)
	}

	cmd := exec.Command("ip", "netns", "exec", ns, qemu, "-machine", "none", "-nodefaults", "-display", "none",
		"-monitor", "none", "-serial", "none", "-netdev", "tap,id=n0,ifname=vnet7,script=no,downscript=no")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	want := []Process{{PID: cmd.Process.Pid, Comm: "qemu-system-x86"}} // ip netns exec execs QEMU in place
	deadline := time.Now().Add(20 * time.Second)
	for {
		l = discover()
		if reflect.DeepEqual(l.Tap.Holders, want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("holders of vnet7 = %+v, want %+v; qemu says:\n%s", l.Tap.Holders, want, stderr.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	// The remote script finds the same holder through /proc (it scans
	// fdinfo only when a namespace has a tun or tap device).
	bundle, err := exec.CommandContext(ctx, "sh", "-c", RemoteScript).Output()
	if err != nil {
		t.Fatalf("remote script: %v", err)
	}
	remote, err := ParseBundle(bundle)
	if err != nil {
		t.Fatal(err)
	}
	if n := remote.Namespace(ns); n == nil || n.Link("vnet7") == nil || n.Link("vnet7").Tap == nil {
		t.Errorf("remote script: no tap vnet7 in %s", ns)
	} else if h := n.Link("vnet7").Tap.Holders; !reflect.DeepEqual(h, want) {
		t.Errorf("remote script: holders of vnet7 = %+v, want %+v", h, want)
	}
	got, err := Discover(ctx, Options{Filter: func(name string) bool { return name == ns }})
	if err != nil {
		t.Fatal(err)
	}
	var text bytes.Buffer
	if err := WriteText(&text, got); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "qemu-system-x86") {
		t.Errorf("the text rendering does not name the tap's holder:\n%s", text.String())
	}
}
