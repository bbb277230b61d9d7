package nstest

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

func TestNewGivesFreshNamespace(t *testing.T) {
	h := New(t)
	t.Parallel()
	links, err := h.LinkList()
	if err != nil {
		t.Fatalf("link list: %v", err)
	}
	if len(links) != 1 || links[0].Attrs().Name != "lo" {
		t.Errorf("links in a fresh namespace = %d (first %q), want only lo", len(links), links[0].Attrs().Name)
	}
	// A link made through the handle lives there, not here.
	la := netlink.NewLinkAttrs()
	la.Name = "nstestbr0"
	if err := h.LinkAdd(&netlink.Bridge{LinkAttrs: la}); err != nil {
		t.Fatalf("add bridge: %v", err)
	}
	if _, err := netlink.LinkByName("nstestbr0"); err == nil {
		t.Errorf("link made in the test namespace shows up in the process's namespace")
	}
	// The goroutine that called New is back in its original namespace.
	cur, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	defer cur.Close()
	root, err := netns.GetFromPid(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	if !cur.Equal(root) {
		t.Errorf("calling thread left in another namespace")
	}
}

const gateEnv = "JUMPGATE_NSTEST_GATE_HELPER"

// TestGateHelper runs in a child without CAP_NET_ADMIN.
func TestGateHelper(t *testing.T) {
	if os.Getenv(gateEnv) == "" {
		t.Skip("helper process of TestGateWithoutCapability")
	}
	New(t)
	t.Log("GATE PASSED")
}

// TestGateWithoutCapability drops CAP_NET_ADMIN in a child (setpriv) and
// checks that the gate skips, or fails when RequireRootEnv=1.
func TestGateWithoutCapability(t *testing.T) {
	RequireRoot(t)
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("setpriv (util-linux) not installed")
	}
	t.Parallel()
	tests := []struct {
		name, require string
		wantFail      bool
		want          string
	}{
		{"skips", "0", false, "requires CAP_NET_ADMIN"},
		{"fails in CI", "1", true, "forbids skipping"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(setpriv, "--inh-caps=-net_admin", "--bounding-set=-net_admin", "--",
				os.Args[0], "-test.run", "^TestGateHelper$", "-test.v", "-test.count", "1")
			cmd.Env = append(os.Environ(), gateEnv+"=1", RequireRootEnv+"="+tt.require)
			out, err := cmd.CombinedOutput()
			if (err != nil) != tt.wantFail || !strings.Contains(string(out), tt.want) || strings.Contains(string(out), "GATE PASSED") {
				t.Errorf("err %v, output:\n%s\nwant fail=%v and %q", err, out, tt.wantFail, tt.want)
			}
		})
	}
}
