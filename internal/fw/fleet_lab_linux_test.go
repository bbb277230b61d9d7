package fw

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jumpgate/jumpgate/internal/lab"
	"github.com/jumpgate/jumpgate/internal/lab/labtest"
)

// TestFleetLab plans, applies and flushes the rules of the lab's hyper1
// and hyper2 (namespaces running Debian's sshd) from its laptop, with the
// jumpgate binary, as a user would: examples/two-hosts.yaml puts a VM on a
// bridge on each host, the bridges joined by VXLAN 100. Only hyper1 has an
// address on its bridge, so only hyper1 resolves the VMs' IPs: hyper2's
// section binds its own VM to the IP hyper1 saw, and each host's tunnel
// port lets through only the far VM and the far bridge. Applied, the VMs
// still reach each other; a station the plan never saw, added behind
// hyper2's bridge, does not reach hyper1's VM until the rules are flushed.
func TestFleetLab(t *testing.T) {
	l := labtest.New(t, lab.Options{Server: lab.OpenSSH})
	bin := labtest.Binary(t)
	file, err := filepath.Abs("../../examples/two-hosts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	prefix := "fw-" + l.Name() + "-"
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel) // after the cleanups below, which still need ctx
	// jumpgate runs "jumpgate CMD SUB -F CONFIG ARGS..." on the laptop.
	jumpgate := func(args ...string) (string, string, int) {
		args = append(args[:2:2], append([]string{"-F", l.SSHConfig()}, args[2:]...)...)
		cmd := l.Command(ctx, "laptop", append([]string{bin}, args...)...)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("jumpgate %s: %v", strings.Join(args, " "), err)
		}
		t.Logf("jumpgate %s: exit %d\n%s%s", strings.Join(args, " "), code, out.String(), errb.String())
		return out.String(), errb.String(), code
	}
	on := func(host string, argv ...string) (string, error) {
		out, err := l.Command(ctx, host, argv...).CombinedOutput()
		return string(out), err
	}
	must := func(host string, argv ...string) string {
		t.Helper()
		out, err := on(host, argv...)
		if err != nil {
			t.Fatalf("%s: %s: %v\n%s", host, strings.Join(argv, " "), err, out)
		}
		return out
	}
	netFile := func(sub string) int {
		_, _, code := jumpgate("net", sub, "--prefix", prefix, file)
		return code
	}
	t.Cleanup(func() { netFile("destroy") })
	if code := netFile("apply"); code != 0 {
		t.Fatalf("net apply: exit %d", code)
	}
	must("hyper1", "ip", "addr", "add", "198.18.100.251/24", "dev", "seg100")
	for _, ip := range []string{"198.18.100.1", "198.18.100.2"} {
		must("hyper1", "ping", "-c", "1", "-W", "2", ip)
	}
	mac := func(host, ns, dev string) string {
		var ls []struct {
			Address string `json:"address"`
		}
		args := []string{"ip", "-j", "link", "show", dev}
		if ns != "" {
			args = append([]string{"ip", "-n", ns}, args[1:]...)
		}
		if err := json.Unmarshal([]byte(must(host, args...)), &ls); err != nil || len(ls) != 1 {
			t.Fatalf("read MAC of %s %s %s: %v", host, ns, dev, err)
		}
		return ls[0].Address
	}
	macA, macB := mac("hyper1", prefix+"vma", "eth0"), mac("hyper2", prefix+"vmb", "eth0")
	br2 := mac("hyper2", "", "seg100")

	out, _, code := jumpgate("fw", "plan", "hyper1", "hyper2")
	if code != 0 {
		t.Fatalf("fw plan: exit %d", code)
	}
	s1, s2, ok := strings.Cut(out, "\n# host hyper2\n")
	if !ok || !strings.HasPrefix(s1, "# host hyper1\n") {
		t.Fatalf("fw plan: want a section per host, hyper1's then hyper2's:\n%s", out)
	}
	set := func(section, name string) string {
		m := regexp.MustCompile(`set ` + name + ` \{\n\t\ttype \w+\n\t\telements = \{ ([^}]*) \}`).FindStringSubmatch(section)
		if m == nil {
			t.Errorf("no set %s with elements in:\n%s", name, section)
			return ""
		}
		return m[1]
	}
	for _, want := range []string{`iifname "vma0" jump in_vma0`, `iifname "vx100" jump border_vx100`} {
		if !strings.Contains(s1, want) {
			t.Errorf("hyper1's section lacks %q", want)
		}
	}
	if got := set(s1, "remote_mac_vx100"); !strings.Contains(got, macB) || !strings.Contains(got, br2) || strings.Contains(got, macA) {
		t.Errorf("hyper1's vx100 lets through %s, want vmb's %s and hyper2's bridge's %s only", got, macB, br2)
	}
	for _, want := range []string{`iifname "vmb0" jump in_vmb0`, `iifname "vx100" jump border_vx100`} {
		if !strings.Contains(s2, want) {
			t.Errorf("hyper2's section lacks %q", want)
		}
	}
	if got := set(s2, "ip4_vmb0"); got != "198.18.100.2" {
		t.Errorf("hyper2 binds vmb to %q, want 198.18.100.2 (which only hyper1 resolved)", got)
	}
	if got := set(s2, "remote_mac_vx100"); !strings.Contains(got, macA) {
		t.Errorf("hyper2's vx100 lets through %s, want vma's %s among them", got, macA)
	}
	if pol, _, _ := jumpgate("fw", "plan", "--print-policy", "hyper1", "hyper2"); !strings.Contains(pol, "peer: remote\n        closed: true\n        remote:\n") ||
		!strings.Contains(pol, `- mac: "`+macB+`"`+"\n            ips: [\"198.18.100.2\"]") {
		t.Errorf("hyper1's policy should list vmb with its IP behind a closed vx100:\n%s", pol)
	}

	if _, _, code := jumpgate("fw", "apply", "hyper1", "hyper2"); code != 0 {
		t.Fatalf("fw apply: exit %d", code)
	}
	for _, h := range []string{"hyper1", "hyper2"} {
		if got := must(h, "nft", "list", "chain", "bridge", TableName, "border_vx100"); !strings.Contains(got, "ether saddr != @remote_mac_vx100") {
			t.Errorf("%s: installed border_vx100 lacks the remote MAC check:\n%s", h, got)
		}
	}
	must("hyper1", "ip", "netns", "exec", prefix+"vma", "ping", "-c", "2", "-W", "2", "198.18.100.2")

	// A station nobody planned for, behind hyper2's bridge.
	must("hyper2", "ip", "link", "add", "sp0", "type", "veth", "peer", "name", "sp1")
	t.Cleanup(func() { on("hyper2", "ip", "link", "del", "sp0") })
	must("hyper2", "ip", "link", "set", "sp0", "master", "seg100", "up")
	must("hyper2", "ip", "addr", "add", "198.18.100.99/24", "dev", "sp1")
	must("hyper2", "ip", "link", "set", "sp1", "up")
	stray := func() error {
		must("hyper2", "ip", "neigh", "flush", "dev", "sp1")
		_, err := on("hyper2", "ping", "-I", "sp1", "-c", "2", "-W", "1", "198.18.100.1")
		return err
	}
	if stray() == nil {
		t.Error("a station the plan never saw reached vma through hyper1's vx100")
	}
	if got := must("hyper1", "nft", "list", "chain", "bridge", TableName, "border_vx100"); !regexp.MustCompile(`ether saddr != @remote_mac_vx100 counter packets [1-9]`).MatchString(got) {
		t.Errorf("hyper1's remote MAC check counted nothing:\n%s", got)
	}

	_, errOut, code := jumpgate("fw", "flush", "hyper1", "hyper2")
	if code != 0 || strings.Count(errOut, "removed table bridge "+TableName) != 2 {
		t.Errorf("fw flush: exit %d, want both tables removed:\n%s", code, errOut)
	}
	if err := stray(); err != nil {
		t.Errorf("after flush the stray station should reach vma (the rules were what stopped it): %v", err)
	}
}
