package topo

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// virshNoDaemon is what virsh prints when libvirt's client is installed
// and no daemon listens (Debian's libvirt-clients, 9.0).
const virshNoDaemon = "error: failed to connect to the hypervisor\n" +
	"error: Failed to connect socket to '/var/run/libvirt/libvirt-sock': No such file or directory"

// TestLibvirtWithoutDaemonIsOneLine checks that a host with virsh but no
// libvirtd gets one short warning, locally and over SSH, not virsh's
// stderr on every run.
func TestLibvirtWithoutDaemonIsOneLine(t *testing.T) {
	t.Parallel()
	check := func(t *testing.T, warnings []string) {
		t.Helper()
		if len(warnings) != 1 || warnings[0] != libvirtDownWarning {
			t.Fatalf("warnings = %q, want only %q", warnings, libvirtDownWarning)
		}
		if len(warnings[0]) > 80 {
			t.Errorf("warning is %d bytes long", len(warnings[0]))
		}
	}
	t.Run("local", func(t *testing.T) {
		t.Parallel()
		run := func(_ context.Context, name string, args ...string) ([]byte, error) {
			if name != "virsh" {
				return nil, errNotInstalled
			}
			return nil, errors.New("virsh " + strings.Join(args, " ") + ": exit status 1: " + virshNoDaemon)
		}
		top := &Topology{}
		discoverExtras(context.Background(), top, run)
		check(t, top.Warnings)
		if top.Libvirt != nil {
			t.Errorf("Libvirt = %+v without a daemon", top.Libvirt)
		}
	})
	t.Run("remote", func(t *testing.T) {
		t.Parallel()
		b := "\n@@jumpgate-topo host\nh\n\n@@jumpgate-topo ns \n\n@@jumpgate-topo link\n[]\n\n@@jumpgate-topo error virsh -q list --all: exit status 1\n" +
			virshNoDaemon + "\n\n@@jumpgate-topo end\n"
		top, err := ParseBundle([]byte(b))
		if err != nil {
			t.Fatal(err)
		}
		check(t, top.Warnings)
	})
	t.Run("this-host", func(t *testing.T) {
		t.Parallel()
		if _, err := exec.LookPath("virsh"); err != nil {
			t.Skip("no virsh here")
		}
		if _, err := os.Stat("/var/run/libvirt/libvirt-sock"); err == nil {
			t.Skip("libvirtd runs here")
		}
		top := &Topology{}
		discoverExtras(context.Background(), top, ExecRunner)
		check(t, top.Warnings)
	})
}
