package cli

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jumpgate/jumpgate/internal/lab/labtest"
	"github.com/jumpgate/jumpgate/internal/topo"
)

// TestTopoOVS: Open vSwitch is not installed here, so an ovs-vsctl of the
// test's own on PATH (the only thing on it) prints recorded `ovs-vsctl
// show` output. jumpgate
// topo shows its bridges when the tool exists, says nothing when it does
// not, and warns when it fails.
func TestTopoOVS(t *testing.T) {
	t.Parallel()
	bin := labtest.Binary(t)
	recorded, err := filepath.Abs("../topo/testdata/ovs-vsctl-show.txt")
	if err != nil {
		t.Fatal(err)
	}
	tool := func(script string) string {
		dir := t.TempDir()
		if script != "" {
			if err := os.WriteFile(filepath.Join(dir, "ovs-vsctl"), []byte("#!/bin/sh\n"+script), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	tests := []struct {
		name     string
		path     string
		wantOVS  []string // bridge names
		wantText []string
		wantWarn string
	}{
		{"installed", tool(`[ "$1" = show ] || exit 2; while IFS= read -r l; do printf '%s\n' "$l"; done < '` + recorded + "'\n"), []string{"br-int", "br ext"},
			[]string{"ovs bridge br-int\n", "  port vnet3 tag 10\n", "  port patch-ext type patch peer patch-int\n"}, ""},
		{"not installed", tool(""), nil, nil, ""},
		{"failing", tool("echo 'ovs-vsctl: unix:/var/run/openvswitch/db.sock: database connection failed' >&2; exit 1\n"), nil, nil,
			"database connection failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			run := func(format string) (string, string) {
				cmd := exec.Command(bin, "topo", "--netns", "no-such-namespace-*", "--format", format)
				cmd.Env = []string{"PATH=" + tt.path, "HOME=" + t.TempDir()}
				var o, e bytes.Buffer
				cmd.Stdout, cmd.Stderr = &o, &e
				if err := cmd.Run(); err != nil {
					t.Fatalf("jumpgate topo --format %s: %v\n%s", format, err, e.String())
				}
				return o.String(), e.String()
			}
			js, stderr := run("json")
			top, err := topo.ReadJSON(strings.NewReader(js))
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, b := range top.OVS {
				names = append(names, b.Name)
			}
			if strings.Join(names, ",") != strings.Join(tt.wantOVS, ",") {
				t.Errorf("ovs bridges %q, want %q", names, tt.wantOVS)
			}
			warned := strings.Join(top.Warnings, "\n")
			if tt.wantWarn == "" && (warned != "" || stderr != "") {
				t.Errorf("warnings %q, stderr %q; want none", warned, stderr)
			}
			if tt.wantWarn != "" && (!strings.Contains(warned, tt.wantWarn) || !strings.Contains(stderr, tt.wantWarn)) {
				t.Errorf("warnings %q, stderr %q; want %q in both", warned, stderr, tt.wantWarn)
			}
			text, _ := run("text")
			for _, w := range tt.wantText {
				if !strings.Contains(text, w) {
					t.Errorf("text lacks %q:\n%s", w, text)
				}
			}
			if tt.wantOVS == nil && strings.Contains(text, "ovs bridge") {
				t.Errorf("text shows ovs bridges:\n%s", text)
			}
		})
	}
}
