package lab

// A real libvirtd in hyper2 with one small guest, for trying HOST/DOMAIN
// targets, the console and topo without owning a hypervisor.
//
//	startLibvirt  checks the packages, writes the guest's initramfs
//	              (busybox, e1000.ko and this static jumpgate as its SSH
//	              server), starts libvirtd in hyper2's mount namespace
//	              (tmpfs over its state, a copy of /etc/libvirt), creates
//	              a libvirt network and the guest, and waits for the
//	              guest's server to accept
//
// Everything runs inside hyper2's namespaces, so Down's sweep of the lab's
// processes ends libvirtd, dnsmasq and qemu too, and their mounts go with
// the mount namespace; the files live in the state directory.

import (
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// Guest is the libvirt guest of a lab made with [Options.Libvirt].
type Guest struct {
	Host    string `json:"host"`    // the hypervisor: hyper2
	Domain  string `json:"domain"`  // libvirt's domain name: guest
	Network string `json:"network"` // libvirt's network: guests, on bridge virbr7
	Addr    string `json:"addr"`    // its DHCP address
	Virt    string `json:"virt"`    // kvm, or qemu when KVM does not run guests
}

// Target is the guest as jumpgate names it: hyper2/guest.
func (g *Guest) Target() string { return g.Host + "/" + g.Domain }

const (
	guestHost    = "hyper2"
	guestDomain  = "guest"
	guestNetwork = "guests"
)

// libvirtNeeds are the files a lab's libvirt guest needs, and the Debian
// packages that provide them (scripts/deps.sh installs them).
func libvirtNeeds() []struct{ path, pkg string } {
	return []struct{ path, pkg string }{
		{"/usr/sbin/libvirtd", "libvirt-daemon-system"},
		{"/usr/bin/virsh", "libvirt-clients"},
		{"/usr/bin/qemu-system-x86_64", "qemu-system-x86"},
		{"/usr/sbin/dnsmasq", "dnsmasq-base"},
		{"/bin/busybox", "busybox-static"},
	}
}

// MissingError lists the packages a lab's libvirt guest lacks.
type MissingError struct{ Packages []string }

func (e *MissingError) Error() string {
	return "the libvirt guest needs " + strings.Join(e.Packages, ", ")
}

// GuestKernel returns the host's kernel and the e1000 module that goes
// with it, which the guest boots with; a *MissingError names what lacks.
func GuestKernel() (kernel, e1000 string, err error) {
	var missing []string
	for _, n := range libvirtNeeds() {
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
		return "", "", &MissingError{missing}
	}
	return kernel, e1000, nil
}

// ErrNotStatic is a jumpgate binary that needs a dynamic loader, which the
// guest does not have.
var ErrNotStatic = errors.New("the jumpgate binary is dynamically linked; the guest runs it without a libc")

func staticBinary(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("jumpgate binary %s: %w", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s: %w", path, ErrNotStatic)
		}
	}
	return nil
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

// writeInitramfs writes an uncompressed newc cpio archive the kernel
// unpacks as the guest's root file system.
func writeInitramfs(path, binary, e1000, hostKey, authorizedKeys string) error {
	var w cpioWriter
	for _, d := range []string{"bin", "dev", "proc", "sys", "etc", "root", "tmp", "run"} {
		w.add(d, 0o040755, nil, 0)
	}
	w.add("dev/console", 0o020600, nil, 5<<8|1)
	for _, f := range []struct {
		name, src string
		mode      uint32
	}{
		{"bin/busybox", "/bin/busybox", 0o100755},
		{"jumpgate", binary, 0o100755},
		{"e1000.ko", e1000, 0o100644},
		{"etc/ssh_host_ed25519_key", hostKey, 0o100600},
		{"etc/authorized_keys", authorizedKeys, 0o100600},
	} {
		b, err := os.ReadFile(f.src)
		if err != nil {
			return fmt.Errorf("guest initramfs: %w", err)
		}
		w.add(f.name, f.mode, b, 0)
	}
	w.add("init", 0o100755, []byte(guestInit), 0)
	w.add("udhcpc.sh", 0o100755, []byte(udhcpcScript), 0)
	w.add("etc/passwd", 0o100644, []byte("root:x:0:0:root:/root:/bin/sh\n"), 0)
	w.add("etc/group", 0o100644, []byte("root:x:0:\n"), 0)
	w.add("TRAILER!!!", 0, nil, 0)
	if err := os.WriteFile(path, w.buf.Bytes(), 0o600); err != nil {
		return fmt.Errorf("guest initramfs: %w", err)
	}
	return nil
}

// cpioWriter writes the "newc" format the kernel's initramfs takes.
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

// qemuConf runs qemu without systemd, cgroups delegation or a security
// driver, as root.
const qemuConf = `
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
namespaces = [ ]
stdio_handler = "file"
`

const libvirtdScript = `
for d in /run/libvirt /var/lib/libvirt /var/cache/libvirt /var/log/libvirt; do mount -t tmpfs -o mode=0755 tmpfs $d; done
mount --bind "$1" /etc/libvirt
/usr/sbin/libvirtd -d -p "$2"
i=0; while [ ! -S /run/libvirt/libvirt-sock ]; do i=$((i+1)); [ $i -lt 150 ] || { echo libvirtd did not start; exit 1; }; sleep 0.2; done
`

// guestMAC is fixed, and with it the guest's address: a guest booted
// again under TCG must not leave libvirt naming the first one's lease.
const guestMAC = "52:54:00:c6:12:07"

const netXML = `<network><name>` + guestNetwork + `</name><bridge name='virbr7'/>
<ip address='198.18.7.1' netmask='255.255.255.0'><dhcp><range start='198.18.7.100' end='198.18.7.150'/>
<host mac='` + guestMAC + `' ip='198.18.7.100'/></dhcp></ip></network>
`

const domainXML = `<domain type='%s'>
  <name>` + guestDomain + `</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type>
    <kernel>%s</kernel><initrd>%s</initrd>
    <cmdline>console=tty0 console=ttyS0 panic=-1</cmdline>
  </os>
  <on_reboot>destroy</on_reboot>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <interface type='network'><mac address='` + guestMAC + `'/><source network='` + guestNetwork + `'/><model type='e1000'/></interface>
    <serial type='file'><source path='%s'/><target port='0'/></serial>
    <graphics type='spice' autoport='yes' listen='127.0.0.1'/>
    <video><model type='vga'/></video>
  </devices>
</domain>
`

func (l *Lab) libvirtDir() string { return filepath.Join(l.dir, "libvirt") }

// GuestConsoleLog is the guest's serial console, as qemu writes it.
func (l *Lab) GuestConsoleLog() string { return filepath.Join(l.libvirtDir(), "guest-console.log") }

// Guest is the lab's libvirt guest, or nil.
func (l *Lab) Guest() *Guest { return l.m.Guest }

// run runs a shell script (with args) in hyper2, returning its output.
func (l *Lab) hyperSh(ctx context.Context, script string, args ...string) (string, error) {
	cmd := l.Command(ctx, guestHost, append([]string{"/bin/sh", "-ec", script, "sh"}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// Virsh runs virsh against the lab's libvirtd in hyper2.
func (l *Lab) Virsh(ctx context.Context, args ...string) (string, error) {
	return l.hyperSh(ctx, `exec /usr/bin/virsh -c qemu:///system "$@"`, args...)
}

// kvmSilence is how long a KVM guest may print nothing before it boots
// again under TCG: a VM may open /dev/kvm and still not run a guest
// (nested virtualisation without support), and a KVM guest's first lines
// come within seconds.
const kvmSilence = 20 * time.Second

// guestAddr finds the address the guest's init prints once DHCP is done
// ("jumpgate-guest: 2: eth0    inet 198.18.7.100/24 ...").
func guestAddr(console []byte) string {
	_, line, ok := bytes.Cut(console, []byte("jumpgate-guest: "))
	if !ok {
		return ""
	}
	line, _, _ = bytes.Cut(line, []byte("\n"))
	_, addr, ok := bytes.Cut(line, []byte(" inet "))
	if !ok {
		return ""
	}
	addr, _, ok = bytes.Cut(addr, []byte("/"))
	if ip := net.ParseIP(string(addr)); !ok || ip == nil {
		return ""
	}
	return string(addr)
}

// startLibvirt starts libvirtd in hyper2 and boots the guest on it.
func (l *Lab) startLibvirt(ctx context.Context, binary string) error {
	t := time.Now()
	kernel, e1000, err := GuestKernel()
	if err != nil {
		return err
	}
	if err := staticBinary(binary); err != nil {
		return err
	}
	dir := l.libvirtDir()
	if err := os.Mkdir(dir, 0o700); err != nil {
		return fmt.Errorf("libvirt state: %w", err)
	}
	hostKey := filepath.Join(dir, "ssh_host_ed25519_key")
	pub, err := writeKey(hostKey, "root@"+guestDomain)
	if err != nil {
		return err
	}
	initrd := filepath.Join(dir, "initrd.cpio")
	if err := writeInitramfs(initrd, binary, e1000, hostKey, l.authorizedKeys()); err != nil {
		return err
	}
	etc := filepath.Join(dir, "etc-libvirt")
	if out, err := exec.Command("cp", "-a", "/etc/libvirt", etc).CombinedOutput(); err != nil {
		return fmt.Errorf("copy /etc/libvirt: %v: %s", err, out)
	}
	f, err := os.OpenFile(filepath.Join(etc, "qemu.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("libvirt configuration: %w", err)
	}
	_, err = f.WriteString(qemuConf)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("libvirt configuration: %w", err)
	}
	// The machine's own networks and domains stay out of the lab.
	os.RemoveAll(filepath.Join(etc, "qemu", "networks"))
	os.RemoveAll(filepath.Join(etc, "qemu", "autostart"))
	if err := os.MkdirAll("/run/libvirt", 0o755); err != nil { // a mount point
		return fmt.Errorf("libvirt: %w", err)
	}
	if out, err := l.hyperSh(ctx, libvirtdScript, etc, filepath.Join(dir, "libvirtd.pid")); err != nil {
		return fmt.Errorf("start libvirtd in %s: %v: %s", guestHost, err, out)
	}
	if err := os.WriteFile(filepath.Join(dir, "net.xml"), []byte(netXML), 0o600); err != nil {
		return err
	}
	if out, err := l.Virsh(ctx, "net-create", filepath.Join(dir, "net.xml")); err != nil {
		return fmt.Errorf("libvirt network: %v: %s", err, out)
	}
	g := &Guest{Host: guestHost, Domain: guestDomain, Network: guestNetwork, Virt: "qemu"}
	if f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0); err == nil {
		f.Close()
		g.Virt = "kvm"
	}
	if err := l.bootGuest(ctx, g, kernel, initrd); err != nil {
		return err
	}
	l.logf("lab %s: libvirt guest %s (%s) at %s in %v", l.m.Name, g.Target(), g.Virt, g.Addr, time.Since(t).Round(time.Millisecond))
	l.m.Guest = g
	kh, err := os.OpenFile(l.KnownHosts(), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("known_hosts: %w", err)
	}
	_, err = fmt.Fprintf(kh, "%s %s", g.Target(), ssh.MarshalAuthorizedKey(pub))
	if cerr := kh.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("known_hosts: %w", err)
	}
	if err := os.WriteFile(l.SSHConfig(), []byte(l.sshConfig()), 0o600); err != nil {
		return fmt.Errorf("write ssh_config: %w", err)
	}
	return l.save()
}

// bootGuest creates the domain, falling back to TCG when KVM stays
// silent, and waits until the guest's server accepts.
func (l *Lab) bootGuest(ctx context.Context, g *Guest, kernel, initrd string) error {
	console := l.GuestConsoleLog()
	create := func() error {
		p := filepath.Join(l.libvirtDir(), "guest.xml")
		if err := os.WriteFile(p, fmt.Appendf(nil, domainXML, g.Virt, kernel, initrd, console), 0o600); err != nil {
			return err
		}
		if out, err := l.Virsh(ctx, "create", p); err != nil {
			log, _ := l.hyperSh(ctx, "cat /var/log/libvirt/qemu/guest.log 2>/dev/null || true")
			return fmt.Errorf("create guest (%s): %v: %s\n%s", g.Virt, err, out, log)
		}
		return nil
	}
	l.logf("lab %s: booting %s (%s)", l.m.Name, g.Target(), g.Virt)
	start := time.Now()
	if err := create(); err != nil {
		return err
	}
	if g.Virt == "kvm" {
		for time.Since(start) < kvmSilence && ctx.Err() == nil {
			if st, err := os.Stat(console); err == nil && st.Size() > 0 {
				break
			}
			time.Sleep(500 * time.Millisecond)
		}
		if st, err := os.Stat(console); err != nil || st.Size() == 0 {
			l.logf("lab %s: KVM opened, but the guest printed nothing in %v; booting it again under TCG", l.m.Name, kvmSilence)
			l.Virsh(ctx, "destroy", guestDomain)
			os.Remove(console)
			g.Virt = "qemu"
			if err := create(); err != nil {
				return err
			}
		}
	}
	for {
		b, _ := os.ReadFile(console)
		if g.Addr == "" {
			g.Addr = guestAddr(b)
		}
		if g.Addr != "" {
			dctx, cancel := context.WithTimeout(ctx, time.Second)
			c, err := l.DialContext(dctx, guestHost, "tcp", net.JoinHostPort(g.Addr, "22"))
			cancel()
			if err == nil {
				c.Close()
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("guest not up: %w; its console:\n%s", ctx.Err(), tail(console, 20))
		case <-time.After(time.Second):
		}
	}
}
