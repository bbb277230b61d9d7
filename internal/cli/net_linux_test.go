package cli

// End-to-end tests of `jumpgate net`: the built binary runs inside a
// namespace of the test's own (nsenter --net), so the file's "host" links
// land there and never on the machine; every namespace the file makes gets
// the test's unique --prefix, so the test runs beside any other.

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/jumpgate/jumpgate/internal/lab/labtest"
	"github.com/jumpgate/jumpgate/internal/nstest"
)

var updateNet = flag.Bool("update-net", false, "rewrite the golden files of the jumpgate net tests")

// netCLI is one test's private corner of the kernel: a prefix, a host
// namespace named with it and a state directory.
type netCLI struct {
	t        *testing.T
	bin      string
	prefix   string // "jnXXXXXX-"
	host     string // the namespace the binary runs in
	stateDir string
}

func newNetCLI(t *testing.T) *netCLI {
	t.Helper()
	nstest.RequireRoot(t)
	if _, err := exec.LookPath("nsenter"); err != nil {
		t.Fatalf("nsenter (util-linux) is needed: %v", err)
	}
	b := make([]byte, 3)
	rand.Read(b)
	prefix := "jn" + hex.EncodeToString(b) + "-"
	c := &netCLI{t: t, bin: labtest.Binary(t), prefix: prefix, host: prefix + "host", stateDir: t.TempDir()}
	if out, err := exec.Command("ip", "netns", "add", c.host).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v\n%s", c.host, err, out)
	}
	t.Cleanup(c.cleanup)
	return c
}

// cleanup ends the link emulators the state files list (by PID) and
// removes every namespace carrying the prefix, whatever the test left.
func (c *netCLI) cleanup() {
	sts, _ := filepath.Glob(filepath.Join(c.stateDir, "*.json"))
	for _, s := range sts {
		var st struct {
			Emulators []struct{ PID int } `json:"emulators"`
		}
		if b, err := os.ReadFile(s); err == nil && json.Unmarshal(b, &st) == nil {
			for _, e := range st.Emulators {
				if e.PID > 0 {
					syscall.Kill(e.PID, syscall.SIGKILL)
				}
			}
		}
	}
	for _, ns := range c.namespaces() {
		exec.Command("ip", "netns", "del", ns).Run()
	}
}

// namespaces lists the namespaces with the test's prefix.
func (c *netCLI) namespaces() []string {
	ents, _ := os.ReadDir("/run/netns")
	var out []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), c.prefix) {
			out = append(out, e.Name())
		}
	}
	slices.Sort(out)
	return out
}

// run runs jumpgate inside the test's host namespace.
func (c *netCLI) run(args ...string) (stdout, stderr string, code int) {
	c.t.Helper()
	cmd := exec.Command("nsenter", append([]string{"--net=/run/netns/" + c.host, "--", c.bin}, args...)...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		c.t.Fatalf("run jumpgate %v: %v", args, err)
	}
	return o.String(), e.String(), code
}

// change runs a plan/apply/destroy with the test's prefix and state dir.
func (c *netCLI) change(sub, file string) (stdout, stderr string, code int) {
	c.t.Helper()
	return c.run("net", sub, "--prefix", c.prefix, "--state-dir", c.stateDir, file)
}

// snapshot is what iproute2 says of every namespace of the test: links
// with details, addresses and routes of every table, as JSON. It also
// checks that no link of the machine's own namespace carries the prefix in
// its alias (jumpgate-net:PREFIX…), that is, that nothing leaked out.
func (c *netCLI) snapshot() string {
	c.t.Helper()
	var b strings.Builder
	for _, ns := range c.namespaces() {
		b.WriteString("== netns " + ns + "\n")
		for _, args := range [][]string{
			{"-d", "-j", "link", "show"},
			{"-j", "addr", "show"},
			{"-j", "route", "show", "table", "all"},
			{"-j", "-6", "route", "show", "table", "all"},
		} {
			out, err := exec.Command("ip", append([]string{"-n", ns}, args...)...).Output()
			if err != nil {
				c.t.Fatalf("ip -n %s %v: %v", ns, args, err)
			}
			b.WriteString(strings.Join(args, " ") + ": " + stableJSON(c.t, out) + "\n")
		}
	}
	root, err := exec.Command("ip", "-d", "-j", "link", "show").Output()
	if err != nil {
		c.t.Fatal(err)
	}
	if bytes.Contains(root, []byte(c.prefix)) {
		c.t.Errorf("a link in the machine's own namespace carries the test's prefix %s:\n%s", c.prefix, root)
	}
	return b.String()
}

// stableJSON drops from iproute2's JSON what moves on its own in a link
// that nobody touches: timers, carrier and STP port states, addresses
// still in duplicate address detection.
func stableJSON(t *testing.T, b []byte) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("iproute2 JSON: %v\n%s", err, b)
	}
	var strip func(v any)
	strip = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if strings.HasSuffix(k, "_timer") || k == "tentative" || k == "operstate" || k == "state" ||
					k == "flags" || strings.HasPrefix(k, "topology_change") {
					delete(v, k)
					continue
				}
				strip(x)
			}
		case []any:
			for _, x := range v {
				strip(x)
			}
		}
	}
	// IPv6 link-local addresses and routes (and the multicast route) come
	// a moment after a link does: with its carrier, and once duplicate
	// address detection is done.
	var linkLocal func(v any) any
	linkLocal = func(v any) any {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				v[k] = linkLocal(x)
			}
		case []any:
			v = slices.DeleteFunc(v, func(x any) bool {
				m, ok := x.(map[string]any)
				if !ok {
					return false
				}
				dst, _ := m["dst"].(string)
				local, _ := m["local"].(string)
				return strings.HasPrefix(local, "fe80:") || strings.HasPrefix(dst, "fe80:") || dst == "ff00::/8"
			})
			for i := range v {
				v[i] = linkLocal(v[i])
			}
			return v
		}
		return v
	}
	v = linkLocal(v)
	strip(v)
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

var pidRE = regexp.MustCompile(`pid \d+`)

// normalise makes output comparable across runs.
func (c *netCLI) normalise(s string) string {
	s = strings.ReplaceAll(s, c.prefix, "PREFIX-")
	s = strings.ReplaceAll(s, c.stateDir, "STATE")
	return pidRE.ReplaceAllString(s, "pid N")
}

func goldenNet(t *testing.T, name string, got string) {
	t.Helper()
	path := filepath.Join("testdata", "net", name)
	if *updateNet {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (regenerate with -update-net): %v", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (regenerate with -update-net if intended):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// TestNetCommandRoundTrip drives plan, apply, apply again, plan again and
// destroy through the binary for each example: plan changes nothing,
// apply makes what plan listed, the second apply changes nothing and says
// so, destroy leaves every namespace of the test exactly as iproute2 saw
// it before. The transcripts of lab and seed are golden.
func TestNetCommandRoundTrip(t *testing.T) {
	for _, ex := range []string{"lab", "seed", "wan", "peer-host"} {
		t.Run(ex, func(t *testing.T) {
			t.Parallel()
			c := newNetCLI(t)
			file := filepath.Join("..", "..", "examples", ex+".yaml")
			if ex == "peer-host" {
				file = filepath.Join("testdata", "net", ex+".yaml")
			}
			before := c.snapshot()
			var transcript strings.Builder
			step := func(sub string, wantCode int) string {
				t.Helper()
				out, errOut, code := c.change(sub, file)
				if code != wantCode {
					t.Fatalf("jumpgate net %s %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", sub, file, code, wantCode, out, errOut)
				}
				transcript.WriteString("$ jumpgate net " + sub + " --prefix PREFIX- " + ex + ".yaml\n" + c.normalise(out))
				if errOut != "" {
					transcript.WriteString("stderr: " + c.normalise(errOut))
				}
				return out
			}

			plan := step("plan", 0)
			if after := c.snapshot(); after != before {
				t.Fatalf("plan changed the kernel:\n%s", diffLines(before, after))
			}
			planned := countSteps(plan)
			if planned == 0 {
				t.Fatalf("plan of a fresh topology lists no changes:\n%s", plan)
			}
			apply := step("apply", 0)
			if !strings.Contains(apply, "applied "+strconv.Itoa(planned)+" changes\n") {
				t.Errorf("apply does not say it made the %d planned changes:\n%s", planned, apply)
			}
			applied := c.snapshot()
			if ex == "peer-host" {
				if out, err := exec.Command("ip", "-n", c.host, "link", "show", "px0").CombinedOutput(); err != nil {
					t.Errorf("the host end px0 is not in the namespace jumpgate ran in: %v\n%s", err, out)
				}
			}
			if applied == before {
				t.Fatal("apply changed nothing")
			}
			if again := step("apply", 0); !strings.HasSuffix(again, "no changes\n") || strings.Contains(again, "applied") {
				t.Errorf("second apply does not say it changed nothing:\n%s", again)
			}
			if after := c.snapshot(); after != applied {
				t.Errorf("second apply changed the kernel:\n%s", diffLines(applied, after))
			}
			if again := step("plan", 0); !strings.HasSuffix(again, "no changes\n") {
				t.Errorf("plan after apply lists changes:\n%s", again)
			}
			step("destroy", 0)
			if after := c.snapshot(); after != before {
				t.Errorf("destroy left the kernel different from before apply:\n%s", diffLines(before, after))
			}
			if left, _ := filepath.Glob(filepath.Join(c.stateDir, "*")); len(left) != 0 {
				t.Errorf("destroy left state files: %v", left)
			}
			if ex == "peer-host" {
				if out, err := exec.Command("ip", "-n", c.host, "link", "show", "px0").CombinedOutput(); err == nil {
					t.Errorf("destroy left the host end px0:\n%s", out)
				}
			}
			if again := step("destroy", 0); !strings.HasSuffix(again, "no changes\n") {
				t.Errorf("second destroy did something:\n%s", again)
			}
			if ex != "wan" { // whether wan needs the emulator depends on the kernel's netem
				goldenNet(t, ex+".golden", transcript.String())
			} else if !strings.Contains(plan, "link emulator") && !strings.Contains(plan, "netem") {
				t.Errorf("wan's plan shapes its line with neither netem nor the link emulator:\n%s", plan)
			}
		})
	}
}

// countSteps counts the lines of a plan that are changes (+, ~, -).
func countSteps(plan string) int {
	n := 0
	for _, l := range strings.Split(plan, "\n") {
		if len(l) > 2 && strings.ContainsRune("+~-", rune(l[0])) && l[1] == ' ' {
			n++
		}
	}
	return n
}

// diffLines shows the lines of b that a lacks and the other way round.
func diffLines(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out strings.Builder
	for _, l := range al {
		if !slices.Contains(bl, l) {
			out.WriteString("- " + l + "\n")
		}
	}
	for _, l := range bl {
		if !slices.Contains(al, l) {
			out.WriteString("+ " + l + "\n")
		}
	}
	return out.String()
}

// TestNetCommandRollback: an apply whose last step fails (a route through
// a gateway on no connected network) exits 1, reports what it rolled
// back, and leaves every namespace as it was.
func TestNetCommandRollback(t *testing.T) {
	t.Parallel()
	c := newNetCLI(t)
	file := filepath.Join(t.TempDir(), "halfway.yaml")
	src := `version: 1
name: halfway
namespaces: [{name: a}, {name: b}]
bridges: [{name: br0, namespace: a, addresses: [198.18.40.1/24]}]
veths:
  - a: {name: p0, namespace: a, bridge: br0}
    b: {name: eth0, namespace: b, addresses: [198.18.40.2/24]}
  - a: {name: up0, addresses: [198.18.41.1/30]}
    b: {name: up0, namespace: a, addresses: [198.18.41.2/30]}
routes:
  - {namespace: b, to: 198.18.42.0/24, via: 198.18.99.1}
`
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	before := c.snapshot()
	out, errOut, code := c.change("apply", file)
	if code != 1 {
		t.Fatalf("apply: exit %d, want 1\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	for _, w := range []string{"rolled back: namespace " + c.prefix + "a", "rolled back: veth host/up0", "rolled back: bridge a/br0"} {
		if !strings.Contains(out, w) {
			t.Errorf("stdout lacks %q:\n%s", w, out)
		}
	}
	for _, w := range []string{"jumpgate: error: apply \"route 198.18.42.0/24", "jumpgate: hint: nothing this apply made is left"} {
		if !strings.Contains(errOut, w) {
			t.Errorf("stderr lacks %q:\n%s", w, errOut)
		}
	}
	if after := c.snapshot(); after != before {
		t.Errorf("the failed apply left:\n%s", diffLines(before, after))
	}
}

// TestNetCommandErrors: bad files and bad usage fail with exit 2 and a
// message naming file, line, column and field, before touching anything.
func TestNetCommandErrors(t *testing.T) {
	t.Parallel()
	c := newNetCLI(t)
	bad := "../netcfg/testdata/bad/"
	tests := []struct {
		name    string
		args    []string
		wantErr []string
	}{
		{"unknown field", []string{"net", "apply", bad + "unknown-field.yaml"},
			[]string{"jumpgate: error: " + bad + "unknown-field.yaml:4:5: bridges[0].stpp: unknown field (known: addresses, ageing, host, name, namespace, stp, vlan_filtering)\n", "jumpgate: hint: see docs/net-schema.md"}},
		{"undeclared namespace", []string{"net", "plan", bad + "undeclared-ns.yaml"},
			[]string{"jumpgate: error: " + bad + "undeclared-ns.yaml:3:8: veths[0].a.namespace: namespace \"nowhere\" is not declared"}},
		{"bad rate", []string{"net", "destroy", bad + "bad-rate.yaml"},
			[]string{"jumpgate: error: " + bad + "bad-rate.yaml:5:19: veths[0].shape.rate: \"10mbps\" is not a rate"}},
		{"yaml syntax", []string{"net", "export", "--systemd", t.TempDir(), bad + "syntax.yaml"},
			[]string{"jumpgate: error: " + bad + "syntax.yaml:2:10: yaml: sequence end token ']' not found\n"}},
		{"missing file", []string{"net", "apply", "nowhere.yaml"}, []string{"jumpgate: error: read network file: open nowhere.yaml: no such file"}},
		{"two files", []string{"net", "apply", "a.yaml", "b.yaml"}, []string{"expected one FILE, got 2 arguments"}},
		{"export needs a dir", []string{"net", "export", "../../examples/seed.yaml"}, []string{"--systemd DIR is required"}},
		{"unknown command", []string{"net", "up", "x.yaml"}, []string{`unknown net command "up"`}},
	}
	before := c.snapshot()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := c.run(tt.args...)
			if code != exitUsage {
				t.Errorf("exit %d, want %d", code, exitUsage)
			}
			if out != "" {
				t.Errorf("stdout is not empty:\n%s", out)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut)
				}
			}
		})
	}
	if after := c.snapshot(); after != before {
		t.Errorf("a failed command changed the kernel:\n%s", diffLines(before, after))
	}
}

// TestNetCommandExport writes the networkd files of each example into a
// directory and compares the listing, the warnings and every file with
// testdata/net/export-EXAMPLE.golden.
func TestNetCommandExport(t *testing.T) {
	c := &netCLI{t: t, bin: labtest.Binary(t)}
	for _, ex := range []string{"seed", "lab", "wan"} {
		t.Run(ex, func(t *testing.T) {
			dir := t.TempDir()
			cmd := exec.Command(c.bin, "net", "export", "--systemd", dir, "../../examples/"+ex+".yaml")
			var o, e bytes.Buffer
			cmd.Stdout, cmd.Stderr = &o, &e
			if err := cmd.Run(); err != nil {
				t.Fatalf("export: %v\n%s", err, e.String())
			}
			var got strings.Builder
			got.WriteString(strings.ReplaceAll(o.String(), dir, "DIR"))
			got.WriteString(e.String())
			ents, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			listed := strings.Count(o.String(), "wrote ")
			if len(ents) != listed {
				t.Errorf("%d files in the directory, %d listed", len(ents), listed)
			}
			for _, f := range ents {
				ext := filepath.Ext(f.Name())
				if ext != ".netdev" && ext != ".network" {
					t.Errorf("unexpected file %s", f.Name())
				}
				b, err := os.ReadFile(filepath.Join(dir, f.Name()))
				if err != nil {
					t.Fatal(err)
				}
				got.WriteString("== " + f.Name() + "\n" + string(b))
			}
			goldenNet(t, "export-"+ex+".golden", got.String())
		})
	}
}
