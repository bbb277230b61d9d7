package cli

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/jumpgate/jumpgate/internal/iostreams"
	"github.com/jumpgate/jumpgate/internal/sshtest"
)

func TestFwCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("version: 1\nbridges:\n  - name: br0\n    ports:\n      - name: tap0\n        role: guest\n        bind:\n          - mac: nope\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	const example = "../../examples/fw-two-bridges.yaml"
	port := strconv.Itoa(sshtest.FreePort(t)) // nothing listens there
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  []string
		wantErr  []string
	}{
		{"plan prints the rules and a summary", []string{"fw", "plan", "--policy", example}, 0,
			[]string{"table bridge jumpgate {\n", "chain in_vnet_vm1 {", "iifname \"v6-wire\" jump border_v6_wire"},
			[]string{"2 bridges, 3 guest ports (3 stations), 3 border ports"}},
		{"print-policy prints the policy", []string{"fw", "plan", "--policy", example, "--print-policy"}, 0,
			[]string{"version: 1\n", "name: vnet-vm1", `ips: ["198.18.0.21", "2001:db8:6::21"]`}, nil},
		{"bad policy names file, line and field", []string{"fw", "plan", "--policy", bad}, exitUsage,
			nil, []string{"jumpgate: error: " + bad + ":8: bridges[0].ports[0].bind[0].mac: \"nope\" is not an Ethernet address", "hint: see docs/fw-policy.md"}},
		{"missing policy file", []string{"fw", "apply", "--policy", filepath.Join(dir, "none.yaml")}, exitUsage,
			nil, []string{"read policy:", "no such file"}},
		{"unknown subcommand", []string{"fw", "show"}, exitUsage, nil, []string{`unknown fw command "show"`}},
		{"no subcommand", []string{"fw"}, exitUsage, nil, []string{"Usage: jumpgate fw COMMAND"}},
		{"flush takes no policy", []string{"fw", "flush", "--policy", example}, exitUsage, nil, []string{"unknown flag: --policy"}},
		{"a policy is one host's", []string{"fw", "plan", "--policy", example, "hyper1"}, exitUsage, nil,
			[]string{"--policy names one namespace's ports, not a fleet's", "hint: drop --policy"}},
		{"unreachable host has its section", []string{"fw", "plan", "-F", os.DevNull, "-p", port, "127.0.0.1"}, exitConnection,
			[]string{"# host 127.0.0.1: cannot be discovered: "}, []string{"fw plan: none of the 1 hosts could be reached"}},
		{"no hosts in the file", []string{"fw", "apply", "--hosts-file", os.DevNull}, exitUsage, nil, []string{"fw apply: no hosts to reach"}},
		{"help", []string{"fw", "--help"}, 0, []string{"plan", "apply", "flush"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ios, out, errOut := iostreams.Test("")
			e := &env{io: ios, getenv: func(string) string { return "" }, argv0: "jumpgate"}
			code := Run(context.Background(), e, tt.args)
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d; stderr:\n%s", code, tt.wantCode, errOut)
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(out.String(), w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(errOut.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut)
				}
			}
		})
	}
}
