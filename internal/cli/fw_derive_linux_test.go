package cli

import (
	"encoding/json"
	"net"
	"net/netip"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/jumpgate/jumpgate/internal/fw"
)

// TestFwDerivedPolicy runs `jumpgate fw plan|apply|flush` without a policy
// file on the lab of examples/lab.yaml (made with `jumpgate net apply`)
// after traffic has flowed: the policy binds each of virbr6's guest ports
// to the MAC and IP its guest was seen with, and the applied rules let the
// guests' own traffic through while a forged source address is dropped.
func TestFwDerivedPolicy(t *testing.T) {
	t.Parallel()
	c := newNetCLI(t)
	labFile := filepath.Join("..", "..", "examples", "lab.yaml")
	if out, errOut, code := c.change("apply", labFile); code != 0 {
		t.Fatalf("net apply: exit %d\n%s%s", code, out, errOut)
	}
	hyper2, vm1, vm2 := c.prefix+"hyper2", c.prefix+"vm1", c.prefix+"vm2"
	ping := func(ns string, args ...string) error {
		return exec.Command("ip", append([]string{"netns", "exec", ns, "ping", "-c", "1", "-W", "2"}, args...)...).Run()
	}
	for _, ip := range []string{"198.18.6.11", "198.18.6.12"} {
		if err := ping(hyper2, ip); err != nil {
			t.Fatalf("hyper2 pings %s: %v", ip, err)
		}
	}
	mac := func(ns string) net.HardwareAddr {
		out, err := exec.Command("ip", "-n", ns, "-j", "link", "show", "eth0").Output()
		if err != nil {
			t.Fatal(err)
		}
		var links []struct {
			Address string `json:"address"`
		}
		if err := json.Unmarshal(out, &links); err != nil || len(links) != 1 {
			t.Fatalf("ip link of %s: %v %s", ns, err, out)
		}
		m, err := net.ParseMAC(links[0].Address)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}

	out, errOut, code := c.run("fw", "plan", "--netns", hyper2, "--print-policy")
	if code != 0 {
		t.Fatalf("fw plan --print-policy: exit %d\n%s", code, errOut)
	}
	if errOut != "" {
		t.Errorf("warnings deriving the policy:\n%s", errOut)
	}
	p, err := fw.ParsePolicy("derived.yaml", []byte(out))
	if err != nil {
		t.Fatalf("the printed policy does not parse: %v\n%s", err, out)
	}
	want := map[string]fw.Station{
		"vnet0": {MAC: mac(vm1), IPs: []netip.Addr{netip.MustParseAddr("198.18.6.11")}},
		"vnet1": {MAC: mac(vm2), IPs: []netip.Addr{netip.MustParseAddr("198.18.6.12")}},
	}
	if len(p.Bridges) != 1 || p.Bridges[0].Name != "virbr6" || len(p.Bridges[0].Ports) != len(want) {
		t.Fatalf("derived policy, want virbr6 with vnet0 and vnet1:\n%s", out)
	}
	for _, port := range p.Bridges[0].Ports {
		w, ok := want[port.Name]
		if !ok || port.Role != fw.RoleGuest || len(port.Bind) != 1 {
			t.Errorf("port %s: role %v, bind %+v; want a guest bound to %v", port.Name, port.Role, port.Bind, w)
			continue
		}
		got := port.Bind[0]
		got.IPs = slices.DeleteFunc(got.IPs, func(a netip.Addr) bool { return a.IsLinkLocalUnicast() })
		if got.MAC.String() != w.MAC.String() || !slices.Equal(got.IPs, w.IPs) {
			t.Errorf("port %s bound to %s %v, want %s %v", port.Name, got.MAC, got.IPs, w.MAC, w.IPs)
		}
	}

	out, errOut, code = c.run("fw", "plan", "--netns", hyper2)
	if code != 0 || !strings.HasPrefix(out, "table bridge jumpgate {") || !strings.Contains(out, mac(vm1).String()) {
		t.Fatalf("fw plan: exit %d, rules:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if !strings.Contains(errOut, "1 bridges, 2 guest ports (2 stations), 0 border ports") {
		t.Errorf("fw plan summary:\n%s", errOut)
	}

	// The rules, derived from clean traffic, drop a forged source; once
	// they are flushed the same forgery gets through, so it was the rules.
	if _, errOut, code := c.run("fw", "apply", "--netns", hyper2); code != 0 || !strings.Contains(errOut, "applied: ") {
		t.Fatalf("fw apply: exit %d\n%s", code, errOut)
	}
	if out, err := exec.Command("ip", "-n", vm1, "addr", "add", "198.18.6.99/24", "dev", "eth0").CombinedOutput(); err != nil {
		t.Fatalf("add the forged address: %v\n%s", err, out)
	}
	if err := ping(vm1, "-I", "198.18.6.99", "198.18.6.1"); err == nil {
		t.Error("with the derived rules, vm1 reaches hyper2 from the forged 198.18.6.99")
	}
	for _, pair := range [][2]string{{vm1, "198.18.6.1"}, {vm1, "198.18.6.12"}, {vm2, "198.18.6.11"}} {
		if err := ping(pair[0], "-I", "eth0", pair[1]); err != nil {
			t.Errorf("with the derived rules, %s cannot reach %s with its own address: %v", pair[0], pair[1], err)
		}
	}
	if _, errOut, code := c.run("fw", "flush", "--netns", hyper2); code != 0 || !strings.Contains(errOut, "removed table bridge jumpgate") {
		t.Fatalf("fw flush: exit %d\n%s", code, errOut)
	}
	if err := ping(vm1, "-I", "198.18.6.99", "198.18.6.1"); err != nil {
		t.Errorf("without the rules, the forged source does not get through either, so the test shows nothing: %v", err)
	}
	if tables, err := exec.Command("ip", "netns", "exec", hyper2, "nft", "list", "tables").Output(); err != nil || strings.Contains(string(tables), "jumpgate") {
		t.Errorf("after flush, nft list tables: %s %v", tables, err)
	}
	if out, errOut, code := c.change("destroy", labFile); code != 0 {
		t.Errorf("net destroy: exit %d\n%s%s", code, out, errOut)
	}
}
