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
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jumpgate/jumpgate/internal/lab"
	"github.com/jumpgate/jumpgate/internal/lab/labtest"
	"github.com/jumpgate/jumpgate/internal/nstest"
	"github.com/jumpgate/jumpgate/internal/procstat"
)

// libvirtNeeds are the files the guest test needs, and the Debian
// packages that provide them (scripts/deps.sh installs them).
var libvirtNeeds = []struct{ path, pkg string }{
	{"/usr/sbin/libvirtd", "libvirt-daemon-system"},
	{"/usr/bin/virsh", "libvirt-clients"},
	{"/usr/bin/qemu-system-x86_64", "qemu-system-x86"},
	{"/usr/sbin/dnsmasq", "dnsmasq-base"},
	{"/bin/busybox", "busybox-static"},
}

func requireLibvirt(t *testing.T) (kernel, e1000 string) {
	t.Helper()
	if testing.Short() {
		t.Skip("boots a VM; skipped under -short")
	}
	nstest.RequireRoot(t)
	var missing []string
	for _, n := range libvirtNeeds {
		if _, err := os.Stat(n.path); err != nil {
			missing = append(missing, n.pkg)
		}
	}
	kernels, _ := filepath.Glob("/boot/vmlinuz-*")
	if len(kernels) == 0 {
		missing = append(missing, "linux-image-amd64")
	} else {
		kernel = kernels[len(kernels)-1]
		ver := strings.TrimPrefix(filepath.Base(kernel), "vmlinuz-")
		e1000 = "/lib/modules/" + ver + "/kernel/drivers/net/ethernet/intel/e1000/e1000.ko"
		if _, err := os.Stat(e1000); err != nil {
			missing = append(missing, "linux-image-"+ver+" (e1000.ko)")
		}
	}
	if len(missing) > 0 {
		msg := "libvirt guest test needs " + strings.Join(missing, ", ") + " (run scripts/deps.sh)"
		if os.Getenv(nstest.RequireRootEnv) == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return kernel, e1000
}

const guestInit = `#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
hostname guest
insmod /e1000.ko
ip link set lo up
ip link set eth0 up
udhcpc -i eth0 -s /udhcpc.sh -t 60 -T 1 -n -q
echo "jumpgate-guest: $(ip -4 -o addr show eth0)"
/jumpgate serve --listen :22 --host-key /etc/ssh_host_ed25519_key --init --authorized-keys /etc/authorized_keys
echo "jumpgate-guest: serve exited $?"
poweroff -f
`

const udhcpcScript = `#!/bin/sh
case "$1" in
bound|renew) ip addr flush dev "$interface"; ip addr add "$ip/$mask" dev "$interface" ;;
esac
`

// buildGuestInitramfs writes an uncompressed newc cpio archive the kernel
// unpacks as its root file system.
func buildGuestInitramfs(t *testing.T, dir, e1000, authorizedKey string) string {
	t.Helper()
	jg := filepath.Join(dir, "jumpgate-static")
	cmd := exec.Command("go", "build", "-o", jg, "./cmd/jumpgate")
	cmd.Dir = moduleDir(t)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("static jumpgate: %v\n%s", err, b)
	}
	var w cpioWriter
	for _, d := range []string{"bin", "dev", "proc", "sys", "etc", "root", "tmp", "run"} {
		w.add(d, 0o040755, nil, 0)
	}
	w.add("dev/console", 0o020600, nil, 5<<8|1)
	w.addFile(t, "bin/busybox", "/bin/busybox", 0o100755)
	w.addFile(t, "jumpgate", jg, 0o100755)
	w.addFile(t, "e1000.ko", e1000, 0o100644)
	w.add("init", 0o100755, []byte(guestInit), 0)
	w.add("udhcpc.sh", 0o100755, []byte(udhcpcScript), 0)
	w.add("etc/passwd", 0o100644, []byte("root:x:0:0:root:/root:/bin/sh\n"), 0)
	w.add("etc/group", 0o100644, []byte("root:x:0:\n"), 0)
	w.add("etc/authorized_keys", 0o100600, []byte(authorizedKey), 0)
	w.add("TRAILER!!!", 0, nil, 0)
	p := filepath.Join(dir, "initrd.cpio")
	if err := os.WriteFile(p, w.buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

type cpioWriter struct {
	buf bytes.Buffer
	ino int
}

func (w *cpioWriter) add(name string, mode uint32, data []byte, rdev int) {
	w.ino++
	nlink := 1
	if mode&0o170000 == 0o040000 {
		nlink = 2
	}
	fmt.Fprintf(&w.buf, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		w.ino, mode, 0, 0, nlink, 0, len(data), 0, 0, rdev>>8, rdev&0xff, len(name)+1, 0)
	w.buf.WriteString(name + "\x00")
	w.pad()
	w.buf.Write(data)
	w.pad()
}

func (w *cpioWriter) pad() {
	for w.buf.Len()%4 != 0 {
		w.buf.WriteByte(0)
	}
}

func (w *cpioWriter) addFile(t *testing.T, name, src string, mode uint32) {
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	w.add(name, mode, b, 0)
}

func moduleDir(t *testing.T) string {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil || strings.TrimSpace(string(out)) == "" {
		t.Fatalf("go env GOMOD: %v", err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

// libvirtHyper runs a private libvirtd inside hyper2's mount namespace:
// tmpfs over its state directories and a copy of /etc/libvirt with a
// qemu.conf for running without systemd, cgroups delegation or a
// security driver.
type libvirtHyper struct {
	t   *testing.T
	l   *lab.Lab
	dir string
}

func (h *libvirtHyper) sh(ctx context.Context, script string) (string, error) {
	cmd := h.l.Command(ctx, "hyper2", "/bin/sh", "-ec", script)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func (h *libvirtHyper) virsh(ctx context.Context, args ...string) (string, error) {
	cmd := h.l.Command(ctx, "hyper2", append([]string{"/usr/bin/virsh", "-c", "qemu:///system"}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

const qemuConf = `
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
namespaces = [ ]
stdio_handler = "file"
`

func (h *libvirtHyper) start(ctx context.Context) {
	t := h.t
	etc := filepath.Join(h.dir, "etc-libvirt")
	if out, err := exec.Command("cp", "-a", "/etc/libvirt", etc).CombinedOutput(); err != nil {
		t.Fatalf("copy /etc/libvirt: %v\n%s", err, out)
	}
	f, err := os.OpenFile(filepath.Join(etc, "qemu.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(qemuConf)
	f.Close()
	// The system's own networks stay out of the lab.
	os.RemoveAll(filepath.Join(etc, "qemu", "networks"))
	os.MkdirAll("/run/libvirt", 0o755) // a mount point; empty on the host
	pid := filepath.Join(h.dir, "libvirtd.pid")
	t.Cleanup(func() { h.stop(pid) })
	script := fmt.Sprintf(`
for d in /run/libvirt /var/lib/libvirt /var/cache/libvirt /var/log/libvirt; do mount -t tmpfs -o mode=0755 tmpfs $d; done
mount --bind %s /etc/libvirt
/usr/sbin/libvirtd -d -p %s
i=0; while [ ! -S /run/libvirt/libvirt-sock ]; do i=$((i+1)); [ $i -lt 150 ] || { echo libvirtd did not start; exit 1; }; sleep 0.2; done
`, etc, pid)
	if out, err := h.sh(ctx, script); err != nil {
		b, _ := os.ReadFile(filepath.Join(h.dir, "libvirtd.log"))
		t.Fatalf("start libvirtd in hyper2: %v\n%s\n%s", err, out, b)
	}
}

// stop ends the guest, the network's dnsmasq and libvirtd, which would
// otherwise keep hyper2's namespaces alive after the lab is gone.
func (h *libvirtHyper) stop(pidFile string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h.virsh(ctx, "destroy", "guest")
	h.virsh(ctx, "net-destroy", "jg")
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if pid <= 0 {
		return
	}
	syscall.Kill(pid, syscall.SIGTERM)
	for range 100 {
		if st, err := procstat.Read(pid); err != nil || st.State == 'Z' {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	syscall.Kill(pid, syscall.SIGKILL)
}

func TestLibvirtGuestLab(t *testing.T) {
	kernel, e1000 := requireLibvirt(t)
	l := labtest.New(t, lab.Options{})
	bin := labtest.Binary(t)
	dir, err := os.MkdirTemp("/run", "jumpgate-libvirt-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	pub, err := os.ReadFile(l.IdentityFile() + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	initrd := buildGuestInitramfs(t, dir, e1000, string(pub))

	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	h := &libvirtHyper{t: t, l: l, dir: dir}
	h.start(ctx)

	netXML := filepath.Join(dir, "net.xml")
	os.WriteFile(netXML, []byte(`<network><name>jg</name><bridge name='virbr7'/>
<ip address='198.18.7.1' netmask='255.255.255.0'><dhcp><range start='198.18.7.100' end='198.18.7.150'/></dhcp></ip></network>
`), 0o644)
	if out, err := h.virsh(ctx, "net-create", netXML); err != nil {
		t.Fatalf("net-create: %v\n%s", err, out)
	}
	virtType := "qemu"
	if f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0); err == nil {
		f.Close()
		virtType = "kvm"
	}
	console := filepath.Join(dir, "guest-console.log")
	domXML := filepath.Join(dir, "guest.xml")
	writeXML := func(virtType string) {
		os.WriteFile(domXML, []byte(fmt.Sprintf(`<domain type='%s'>
  <name>guest</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type>
    <kernel>%s</kernel><initrd>%s</initrd>
    <cmdline>console=tty0 console=ttyS0 panic=-1</cmdline>
  </os>
  <on_reboot>destroy</on_reboot>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <interface type='network'><source network='jg'/><model type='e1000'/></interface>
    <serial type='file'><source path='%s'/><target port='0'/></serial>
    <graphics type='spice' autoport='yes' listen='127.0.0.1'/>
    <video><model type='vga'/></video>
  </devices>
</domain>
`, virtType, kernel, initrd, console)), 0o644)
	}
	create := func() {
		writeXML(virtType)
		if out, err := h.virsh(ctx, "create", domXML); err != nil {
			b, _ := h.sh(ctx, "cat /var/log/libvirt/qemu/guest.log 2>/dev/null || true")
			t.Fatalf("create guest (%s): %v\n%s\n%s", virtType, err, out, b)
		}
	}
	bootStart := time.Now()
	create()
	// A VM may open /dev/kvm and still not run a guest (nested
	// virtualisation without support): the kernel then prints nothing at
	// all. Its first lines come within seconds with KVM, so after 20 s of
	// silence the guest boots again under TCG.
	if virtType == "kvm" {
		for time.Since(bootStart) < 20*time.Second {
			if st, err := os.Stat(console); err == nil && st.Size() > 0 {
				break
			}
			time.Sleep(500 * time.Millisecond)
		}
		if st, err := os.Stat(console); err != nil || st.Size() == 0 {
			t.Logf("KVM opened, but the guest printed nothing in 20 s; booting it again under TCG")
			h.virsh(ctx, "destroy", "guest")
			os.Remove(console)
			virtType = "qemu"
			bootStart = time.Now()
			create()
		}
	}
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(console)
			t.Logf("guest console:\n%s", b)
		}
	})

	known := filepath.Join(dir, "known_hosts")
	jg := func(ctx context.Context, args ...string) *exec.Cmd {
		return l.Command(ctx, "laptop", append([]string{bin}, args...)...)
	}
	sshOpts := []string{"ssh", "-F", l.SSHConfig(), "-o", "ControlMaster=no", "-o", "BatchMode=yes",
		"-i", l.IdentityFile(), "-o", "UserKnownHostsFile=" + known, "-o", "StrictHostKeyChecking=accept-new"}

	t.Run("ssh HOST/DOMAIN", func(t *testing.T) {
		var out, errb bytes.Buffer
		for {
			out.Reset()
			errb.Reset()
			cmd := jg(ctx, append(sshOpts, "hyper2/guest", "hostname")...)
			cmd.Stdout, cmd.Stderr = &out, &errb
			if cmd.Run() == nil {
				break
			}
			if ctx.Err() != nil || time.Since(bootStart) > 4*time.Minute {
				t.Fatalf("jumpgate ssh hyper2/guest never succeeded: %s", errb.String())
			}
			time.Sleep(2 * time.Second)
		}
		t.Logf("guest (%s) reachable %v after virsh create", virtType, time.Since(bootStart).Round(100*time.Millisecond))
		if got := strings.TrimSpace(out.String()); got != "guest" {
			t.Errorf("hostname = %q, want guest", got)
		}
		// Now from the cache, and as a jump host named in the config
		// (sshconf reads a literal "-J hyper2/guest" as OpenSSH's
		// host/port form and refuses it).
		cfg := filepath.Join(dir, "ssh_config")
		os.WriteFile(cfg, []byte("Include "+l.SSHConfig()+"\n\nHost g\n  HostName hyper2/guest\n  User root\n"+
			"  IdentityFile "+l.IdentityFile()+"\n  UserKnownHostsFile "+known+"\n  StrictHostKeyChecking yes\n"), 0o644)
		out.Reset()
		opts := append([]string{"ssh", "-F", cfg}, sshOpts[3:]...)
		cmd := jg(ctx, append(opts, "-J", "g", "127.0.0.1", "echo", "via-guest")...)
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

	t.Run("console --print answers as Spice", func(t *testing.T) {
		cctx, ccancel := context.WithCancel(ctx)
		defer ccancel()
		cmd := jg(cctx, "console", "-F", l.SSHConfig(), "-o", "ControlMaster=no", "-o", "BatchMode=yes", "--print", "hyper2/guest")
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
				d.Interfaces[0].Source == "jg" && strings.HasPrefix(d.Interfaces[0].Target, "vnet") {
				found = true
			}
		}
		if !found {
			t.Errorf("domain guest on network jg not in %+v", topo.Libvirt.Domains)
		}
		found = false
		for _, n := range topo.Libvirt.Networks {
			found = found || n.Name == "jg" && n.Bridge == "virbr7"
		}
		if !found {
			t.Errorf("network jg on virbr7 not in %+v", topo.Libvirt.Networks)
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
