package netcfg

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jumpgate/jumpgate/internal/lab"
	"github.com/jumpgate/jumpgate/internal/lab/labtest"
)

// TestTwoHostsVXLANLab applies examples/two-hosts.yaml from the lab's
// laptop with the jumpgate binary, as a user would: hyper1 and hyper2 (each
// a namespace running Debian's sshd) get a bridge and a VM namespace, the
// bridges joined by VXLAN across the hyper1–hyper2 cable. The VMs reach
// each other at layer 2 (each learns the other's MAC, and hyper1's VXLAN
// learns it behind hyper2), a second apply changes nothing, and destroy
// leaves nothing on either host.
func TestTwoHostsVXLANLab(t *testing.T) {
	l := labtest.New(t, lab.Options{Server: lab.OpenSSH})
	bin := labtest.Binary(t)
	file, err := filepath.Abs("../../examples/two-hosts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	prefix := "net-" + l.Name() + "-" // the lab's own namespaces start with its name
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	net := func(sub string) (string, error) {
		cmd := l.Command(ctx, "laptop", bin, "net", sub, "--prefix", prefix, "-F", l.SSHConfig(), file)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		t.Logf("jumpgate net %s:\n%s%s", sub, out.String(), errb.String())
		return out.String(), err
	}
	on := func(host string, argv ...string) string {
		t.Helper()
		out, err := l.Command(ctx, host, argv...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %s: %v\n%s", host, strings.Join(argv, " "), err, out)
		}
		return string(out)
	}
	t.Cleanup(func() {
		if t.Failed() {
			_, _ = net("destroy")
		}
	})

	if _, err := net("apply"); err != nil {
		t.Fatalf("apply: %v", err)
	}
	mtu := on("hyper1", "ip", "-n", prefix+"vma", "-o", "link", "show", "eth0")
	if !strings.Contains(mtu, "mtu 1450") {
		t.Errorf("VM's eth0 on hyper1 should carry the segment's MTU 1450 (1500 - 50):\n%s", mtu)
	}
	on("hyper1", "ip", "netns", "exec", prefix+"vma", "ping", "-c", "2", "-W", "2", "198.18.100.2")

	mac := func(host, ns string) string {
		var ls []struct {
			Address string `json:"address"`
		}
		if err := json.Unmarshal([]byte(on(host, "ip", "-n", ns, "-j", "link", "show", "eth0")), &ls); err != nil || len(ls) != 1 {
			t.Fatalf("read MAC of %s/%s/eth0: %v", host, ns, err)
		}
		return ls[0].Address
	}
	macB := mac("hyper2", prefix+"vmb")
	if neigh := on("hyper1", "ip", "-n", prefix+"vma", "neigh", "show", "198.18.100.2"); !strings.Contains(neigh, macB) {
		t.Errorf("vma did not learn vmb's MAC %s at layer 2: %q", macB, neigh)
	}
	if fdb := on("hyper1", "bridge", "fdb", "show", "dev", "vx100"); !strings.Contains(fdb, macB+" dst 198.18.2.2") {
		t.Errorf("hyper1's vx100 did not learn vmb's MAC %s behind 198.18.2.2:\n%s", macB, fdb)
	}

	out, err := net("apply")
	if err != nil || !strings.Contains(out, "no changes") {
		t.Errorf("second apply: %v, want no changes:\n%s", err, out)
	}
	if _, err := net("destroy"); err != nil {
		t.Fatalf("destroy: %v", err)
	}
	for _, host := range []string{"hyper1", "hyper2"} {
		links := on(host, "ip", "-o", "link", "show")
		for _, name := range []string{"seg100", "vx100", "vma0", "vmb0", AliasPrefix} {
			if strings.Contains(links, name) {
				t.Errorf("%s: %s left after destroy:\n%s", host, name, links)
			}
		}
		if nss := on(host, "ip", "netns", "list"); strings.Contains(nss, prefix) {
			t.Errorf("%s: namespaces left after destroy:\n%s", host, nss)
		}
	}
	if ents, _ := os.ReadDir("/run/netns"); len(ents) > 0 {
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), prefix+"vm") {
				t.Errorf("namespace %s left in this machine's /run/netns", e.Name())
			}
		}
	}
}
