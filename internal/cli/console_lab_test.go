package cli

// A real libvirtd inside the lab's hyper2: a tiny guest (Debian's kernel,
// an initramfs of busybox and a static `jumpgate serve`) on a libvirt
// network gets its address by DHCP; `jumpgate ssh hyper2/guest` reaches it
// through libvirt's lease, `jumpgate console --print hyper2/guest` serves
// its Spice display on a local socket, and `jumpgate topo hyper2` shows it.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image/color"
	"image/png"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jumpgate/jumpgate/internal/lab"
	"github.com/jumpgate/jumpgate/internal/lab/labtest"
	"github.com/jumpgate/jumpgate/internal/nstest"
)

func TestLibvirtGuestLab(t *testing.T) {
	if testing.Short() {
		t.Skip("boots a VM; skipped under -short")
	}
	nstest.RequireRoot(t)
	if _, _, err := lab.GuestKernel(); err != nil {
		msg := err.Error() + " (run scripts/deps.sh)"
		if os.Getenv(nstest.RequireRootEnv) == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	bootStart := time.Now()
	l := labtest.New(t, lab.Options{Libvirt: true})
	g := l.Guest()
	t.Logf("guest (%s) at %s, up %v after lab up began", g.Virt, g.Addr, time.Since(bootStart).Round(100*time.Millisecond))
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(l.GuestConsoleLog())
			t.Logf("guest console:\n%s", b)
		}
	})
	bin := labtest.Binary(t)
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	jg := func(ctx context.Context, args ...string) *exec.Cmd {
		return l.Command(ctx, "laptop", append([]string{bin}, args...)...)
	}
	// The lab's ssh_config and known_hosts name the guest: nothing else
	// is needed, as for a newcomer.
	sshOpts := []string{"ssh", "-F", l.SSHConfig(), "-o", "ControlMaster=no", "-o", "BatchMode=yes"}

	t.Run("ssh HOST/DOMAIN", func(t *testing.T) {
		var out, errb bytes.Buffer
		cmd := jg(ctx, append(sshOpts, "hyper2/guest", "hostname")...)
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("jumpgate ssh hyper2/guest: %v: %s", err, errb.String())
		}
		if got := strings.TrimSpace(out.String()); got != "guest" {
			t.Errorf("hostname = %q, want guest", got)
		}
		// Now from the cache, and as a jump host named in the config
		// (sshconf reads a literal "-J hyper2/guest" as OpenSSH's
		// host/port form and refuses it).
		cfg := filepath.Join(dir, "ssh_config")
		known := filepath.Join(dir, "known_hosts")
		os.WriteFile(cfg, []byte("Include "+l.SSHConfig()+"\n\nHost g\n  HostName hyper2/guest\n  User root\n"+
			"  IdentityFile "+l.IdentityFile()+"\n  UserKnownHostsFile "+known+"\n  StrictHostKeyChecking accept-new\n"), 0o644)
		out.Reset()
		opts := append([]string{"ssh", "-F", cfg}, sshOpts[3:]...)
		opts = append(opts, "-i", l.IdentityFile(), "-o", "UserKnownHostsFile="+known, "-o", "StrictHostKeyChecking=accept-new")
		cmd = jg(ctx, append(opts, "-J", "g", "127.0.0.1", "echo", "via-guest")...)
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil || strings.TrimSpace(out.String()) != "via-guest" {
			t.Errorf("-J g (HostName hyper2/guest): %v %q %s", err, out.String(), errb.String())
		}
	})

	t.Run("unknown domain lists domains", func(t *testing.T) {
		var errb bytes.Buffer
		cmd := jg(ctx, append(sshOpts, "hyper2/nope", "true")...)
		cmd.Stderr = &errb
		err := cmd.Run()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 255 {
			t.Fatalf("exit %v, want 255; stderr %s", err, errb.String())
		}
		for _, want := range []string{`no libvirt domain "nope" on hyper2`, "guest (running)"} {
			if !strings.Contains(errb.String(), want) {
				t.Errorf("stderr %q lacks %q", errb.String(), want)
			}
		}
	})

	// As it is, through zlib@openssh.com, and through the zstd peer.
	for _, compress := range []string{"", "-C", "--compress=zstd"} {
		t.Run("console --print "+compress+" answers as Spice", func(t *testing.T) {
			cctx, ccancel := context.WithCancel(ctx)
			defer ccancel()
			args := []string{"console", "-F", l.SSHConfig(), "-o", "ControlMaster=no", "-o", "BatchMode=yes", "--print", "hyper2/guest"}
			if compress != "" {
				args = append(args, compress)
			}
			cmd := jg(cctx, args...)
			var errb bytes.Buffer
			cmd.Stderr = &errb
			stdout, _ := cmd.StdoutPipe()
			cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			line, err := bufio.NewReader(stdout).ReadString('\n')
			if err != nil {
				cmd.Wait()
				t.Fatalf("no URI: %v; stderr %s", err, errb.String())
			}
			uri := strings.TrimSpace(line)
			sock, ok := strings.CutPrefix(uri, "spice+unix://")
			if !ok {
				t.Fatalf("URI %q", uri)
			}
			fi, err := os.Stat(sock)
			if err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("socket %s: %v %v", sock, fi.Mode(), err)
			}
			if di, err := os.Stat(filepath.Dir(sock)); err != nil || di.Mode().Perm() != 0o700 {
				t.Errorf("socket dir: %v %v", di.Mode(), err)
			}
			if magic := spiceLink(t, sock); magic != "REDQ" {
				t.Errorf("Spice answered %q, want REDQ", magic)
			}
			cmd.Process.Signal(os.Interrupt)
			if err := cmd.Wait(); err != nil {
				t.Errorf("console after interrupt: %v; stderr %s", err, errb.String())
			}
			if _, err := os.Stat(filepath.Dir(sock)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("socket dir left behind: %v", err)
			}
		})
	}

	t.Run("console --screenshot", func(t *testing.T) {
		p := filepath.Join(dir, "screen.png")
		var errb bytes.Buffer
		cmd := jg(ctx, "console", "-F", l.SSHConfig(), "-o", "ControlMaster=no", "-o", "BatchMode=yes", "--screenshot", p, "hyper2/guest")
		cmd.Stderr = &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("console --screenshot: %v\n%s", err, errb.String())
		}
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		img, err := png.Decode(f)
		if err != nil {
			t.Fatalf("screenshot: %v", err)
		}
		// The guest's VGA text console shows the kernel's messages.
		colours := map[color.Color]bool{}
		b := img.Bounds()
		for y := b.Min.Y; y < b.Max.Y; y += 2 {
			for x := b.Min.X; x < b.Max.X; x += 2 {
				colours[img.At(x, y)] = true
			}
		}
		if b.Dx() < 320 || len(colours) < 2 {
			t.Errorf("screenshot %v with %d colours: the guest's screen is not in it", b, len(colours))
		}
	})

	t.Run("remote-viewer shows the console", func(t *testing.T) {
		viewer, err1 := exec.LookPath("remote-viewer")
		xvfb, err2 := exec.LookPath("Xvfb")
		if err1 != nil || err2 != nil {
			msg := "remote-viewer or Xvfb missing (scripts/deps.sh installs virt-viewer, xvfb)"
			if os.Getenv(nstest.RequireRootEnv) == "1" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
		shot := remoteViewerShot(t, ctx, xvfb, func(ctx context.Context, display string) *exec.Cmd {
			cmd := jg(ctx, "console", "-F", l.SSHConfig(), "-o", "ControlMaster=no", "-o", "BatchMode=yes", "--viewer", viewer, "hyper2/guest")
			cmd.Env = append(os.Environ(), "DISPLAY="+display, "HOME=/root")
			return cmd
		})
		if shot == nil {
			return
		}
		// The guest's VGA text console (kernel messages) makes the
		// window more than one colour.
		colours := map[[3]uint8]bool{}
		for i := 0; i+2 < len(shot.Pix); i += 4 {
			colours[[3]uint8{shot.Pix[i], shot.Pix[i+1], shot.Pix[i+2]}] = true
		}
		if len(colours) < 3 {
			t.Errorf("screenshot has %d colours; the viewer shows nothing", len(colours))
		}
	})

	t.Run("topo shows the domain", func(t *testing.T) {
		var out, errb bytes.Buffer
		cmd := jg(ctx, "topo", "-F", l.SSHConfig(), "-o", "ControlMaster=no", "--format", "json", "hyper2")
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("topo: %v\n%s", err, errb.String())
		}
		var topo struct {
			Libvirt struct {
				Domains []struct {
					Name, State string
					Interfaces  []struct{ Target, Type, Source string }
				}
				Networks []struct {
					Name   string
					Bridge string
				}
			}
		}
		if err := json.Unmarshal(out.Bytes(), &topo); err != nil {
			t.Fatal(err)
		}
		var found bool
		for _, d := range topo.Libvirt.Domains {
			if d.Name == "guest" && d.State == "running" && len(d.Interfaces) == 1 &&
				d.Interfaces[0].Source == g.Network && strings.HasPrefix(d.Interfaces[0].Target, "vnet") {
				found = true
			}
		}
		if !found {
			t.Errorf("domain guest on network %s not in %+v", g.Network, topo.Libvirt.Domains)
		}
		found = false
		for _, n := range topo.Libvirt.Networks {
			found = found || n.Name == g.Network && n.Bridge == "virbr7"
		}
		if !found {
			t.Errorf("network %s on virbr7 not in %+v", g.Network, topo.Libvirt.Networks)
		}
	})
}

// spiceLink sends a Spice link message for the main channel and returns
// the first four bytes of the server's reply ("REDQ", SPICE_MAGIC).
func spiceLink(t *testing.T, sock string) string {
	c, err := net.DialTimeout("unix", sock, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	var msg bytes.Buffer
	msg.WriteString("REDQ")
	le := func(v uint32) { msg.Write([]byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)}) }
	le(2)  // major version
	le(2)  // minor version
	le(18) // size of the link message below
	le(0)  // connection id: a new session
	msg.Write([]byte{1, 0})
	le(0)  // common capabilities
	le(0)  // channel capabilities
	le(18) // capabilities offset
	if _, err := c.Write(msg.Bytes()); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 4)
	if _, err := io.ReadFull(c, b); err != nil {
		t.Fatalf("read Spice reply: %v", err)
	}
	return string(b)
}
