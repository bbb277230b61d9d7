package fw

import (
	"context"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/jumpgate/jumpgate/internal/nstest"
)

// TestApplyAtomic: a rule set the kernel refuses in the very last message
// of the batch (a jump to a chain that does not exist) fails as a whole.
// The table installed before is still there, rule for rule: the delete and
// rebuild that came earlier in the same transaction never took effect.
func TestApplyAtomic(t *testing.T) {
	t.Parallel()
	nstest.RequireRoot(t)
	ns := "jgfa" + randSuffix(t)
	newNamedNS(t, ns)
	target := Target{NetNS: "/run/netns/" + ns}
	ctx := context.Background()
	nft := func(args ...string) (string, error) {
		out, err := exec.Command("ip", append([]string{"netns", "exec", ns, "nft"}, args...)...).CombinedOutput()
		return string(out), err
	}
	data, err := os.ReadFile("testdata/one-bridge.yaml")
	must(t, "read policy", err)
	p, err := ParsePolicy("one-bridge.yaml", data)
	must(t, "parse policy", err)
	good, err := Generate(p)
	must(t, "generate", err)
	must(t, "apply", Apply(ctx, target, good))
	before, err := nft("-s", "list", "table", "bridge", TableName)
	if err != nil {
		t.Fatalf("nft list: %v\n%s", err, before)
	}

	bad := *good
	bad.Chains = slices.Clone(good.Chains)
	last := &bad.Chains[len(bad.Chains)-1]
	last.Rules = append(slices.Clone(last.Rules), Rule{verdict: "jump no_such_chain"})
	if err := Apply(ctx, target, &bad); err == nil {
		t.Fatal("the kernel accepted a jump to a chain that does not exist")
	} else if !strings.Contains(err.Error(), "install table bridge "+TableName) {
		t.Errorf("error %v does not say what failed", err)
	}
	after, err := nft("-s", "list", "table", "bridge", TableName)
	if err != nil {
		t.Fatalf("the failed apply removed our table: %v\n%s", err, after)
	}
	if after != before {
		t.Errorf("the failed apply changed the table:\n%s\nwas:\n%s", after, before)
	}

	// A first apply that fails leaves no table at all.
	must(t, "flush", func() error { _, err := Flush(ctx, target); return err }())
	if err := Apply(ctx, target, &bad); err == nil {
		t.Fatal("the kernel accepted the bad rule set on a first apply")
	}
	if out, _ := nft("list", "tables"); strings.Contains(out, TableName) {
		t.Errorf("a failed first apply left a table:\n%s", out)
	}
}
