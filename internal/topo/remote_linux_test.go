package topo

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestRemoteScriptToolFailures runs the remote discovery script here, with a
// virsh of the test's own first on PATH: a virsh that exists but cannot
// reach libvirtd must read as one warning with its status and message, not
// as domains or networks made of its error text.
func TestRemoteScriptToolFailures(t *testing.T) {
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("no iproute2")
	}
	tests := []struct {
		name     string
		virsh    string // body of the fake virsh
		domains  []string
		warnings []string
	}{
		{
			name:     "no libvirtd",
			virsh:    "echo 'error: failed to connect to the hypervisor' >&2; exit 1",
			warnings: []string{libvirtDownWarning},
		},
		{
			name: "networks refused",
			virsh: `case "$*" in
"-q list --all") echo ' 3    vm1   running' ;;
"-q list --all --name") echo vm1 ;;
"-q domiflist vm1") echo ' vnet0   bridge   virbr0   virtio   52:54:00:00:00:01' ;;
*) echo "error: $* refused" >&2; exit 2 ;;
esac`,
			domains:  []string{"vm1"},
			warnings: []string{"virsh -q net-list --all: exit status 2: error: -q net-list --all refused"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "virsh"), []byte("#!/bin/sh\n"+tc.virsh+"\n"), 0o755); err != nil {
				t.Fatal(err)
			}
			cmd := exec.CommandContext(context.Background(), "sh", "-c", RemoteScript)
			cmd.Env = append(os.Environ(), "PATH="+dir+":"+os.Getenv("PATH"))
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("script: %v", err)
			}
			top, err := ParseBundle(out)
			if err != nil {
				t.Fatal(err)
			}
			var warnings []string
			for _, w := range top.Warnings {
				if strings.Contains(w, "virsh") || strings.Contains(w, "libvirt") {
					warnings = append(warnings, w)
				}
			}
			if strings.Join(warnings, "\n") != strings.Join(tc.warnings, "\n") {
				t.Errorf("virsh warnings:\n%q\nwant\n%q", warnings, tc.warnings)
			}
			var domains []string
			if top.Libvirt != nil {
				for _, d := range top.Libvirt.Domains {
					domains = append(domains, d.Name)
				}
				if len(top.Libvirt.Networks) != 0 {
					t.Errorf("networks %v from a net-list that failed", top.Libvirt.Networks)
				}
			}
			if strings.Join(domains, ",") != strings.Join(tc.domains, ",") {
				t.Errorf("domains %q, want %q", domains, tc.domains)
			}
		})
	}
}
