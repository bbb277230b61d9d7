package fleet

// A fleet lab: a laptop namespace and N hosts, each a network namespace
// running Debian's sshd in mount and UTS namespaces of its own (its
// hostname, and a /run/netns of its own, so that `ip netns` on one host
// lists only that host's namespaces, as on separate machines). Nothing is
// named in the machine's /run/netns: the namespaces live as long as the
// test's handles and the servers, so a failed test leaves nothing behind.
//
//	laptop ─ front 198.18.64.0/24 ─ gw1, h01…      (direct)
//	         gw1 ─ back 198.18.65.0/24 ─ gw2, h…    (through gw1)
//	         gw2 ─ deep 198.18.66.0/24 ─ h…         (through gw1, gw2)
//
// h01 holds a VM namespace vm1 on bridge br0; h01 and h02 are joined by
// VXLAN 42; h03 and h04 hold the two ends of a layer-3 tunnel.

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/crypto/ssh"
	"golang.org/x/sys/unix"

	"github.com/jumpgate/jumpgate/internal/nsexec"
	"github.com/jumpgate/jumpgate/internal/nstest"
	"github.com/jumpgate/jumpgate/internal/sshtest"
)

type labHost struct {
	name, addr, jump string
	ns               netns.NsHandle
	netnsDir         string // the host's own /run/netns
	sshd             *exec.Cmd
	exited           chan struct{}
}

type fleetLab struct {
	dir    string
	laptop netns.NsHandle
	hosts  []*labHost
	mounts []string // bind mounts to undo
}

// segment says where the i-th of n hosts (gateways excluded) sits.
func segment(i, n int) (bridge int, jump string) {
	switch {
	case i < n/3:
		return 0, ""
	case i < 2*n/3:
		return 1, "gw1"
	}
	return 2, "gw1,gw2"
}

// newFleetLab builds a lab of n hosts (gw1 and gw2 among them) and removes
// it when tb ends.
func newFleetLab(tb testing.TB, n int) *fleetLab {
	tb.Helper()
	nstest.RequireRoot(tb)
	sshtest.RequireOpenSSH(tb)
	l := &fleetLab{dir: tb.TempDir()}
	tb.Cleanup(l.down)
	if err := l.up(n); err != nil {
		tb.Fatalf("fleet lab: %v", err)
	}
	return l
}

func (l *fleetLab) up(n int) error {
	var err error
	if l.laptop, err = nsexec.New(); err != nil {
		return err
	}
	names := []string{"gw1", "gw2"}
	for i := range n - 2 {
		names = append(names, fmt.Sprintf("h%02d", i+1))
	}
	// Per bridge: the namespace holding it, its subnet, the next free address.
	type seg struct {
		owner  netns.NsHandle
		prefix string
		next   int
	}
	segs := []*seg{{prefix: "198.18.64.", next: 10}, {prefix: "198.18.65.", next: 10}, {prefix: "198.18.66.", next: 10}}
	segs[0].owner = l.laptop
	for i, name := range names {
		h := &labHost{name: name, netnsDir: filepath.Join(l.dir, "hosts", name, "netns")}
		if err := os.MkdirAll(h.netnsDir, 0o700); err != nil {
			return err
		}
		if h.ns, err = nsexec.New(); err != nil {
			return err
		}
		l.hosts = append(l.hosts, h)
		var s int
		switch {
		case name == "gw1":
			s, h.addr = 0, "198.18.64.2"
		case name == "gw2":
			s, h.jump, h.addr = 1, "gw1", "198.18.65.2"
		default:
			s, h.jump = segment(i-2, n-2)
			h.addr = fmt.Sprintf("%s%d", segs[s].prefix, segs[s].next)
			segs[s].next++
		}
		if name == "gw1" {
			segs[1].owner = h.ns
		}
		if name == "gw2" {
			segs[2].owner = h.ns
		}
		if err := cable(segs[s].owner, fmt.Sprintf("p%d", i), h.ns, "eth0", h.addr+"/24", fmt.Sprintf("br%d", s)); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	for i, s := range segs {
		if err := addBridge(s.owner, fmt.Sprintf("br%d", i), s.prefix+"1/24"); err != nil {
			return err
		}
	}
	if err := l.extras(); err != nil {
		return err
	}
	if err := l.writeConfig(); err != nil {
		return err
	}
	return l.startServers()
}

func (l *fleetLab) host(name string) *labHost {
	for _, h := range l.hosts {
		if h.name == name {
			return h
		}
	}
	return nil
}

// cable makes a veth pair: aName in a (enslaved to bridge, created when
// missing), bName in b with addr.
func cable(a netns.NsHandle, aName string, b netns.NsHandle, bName, addr, bridge string) error {
	ha, err := netlink.NewHandleAt(a)
	if err != nil {
		return err
	}
	defer ha.Close()
	hb, err := netlink.NewHandleAt(b)
	if err != nil {
		return err
	}
	defer hb.Close()
	br, err := ha.LinkByName(bridge)
	if err != nil {
		la := netlink.NewLinkAttrs()
		la.Name = bridge
		if err := ha.LinkAdd(&netlink.Bridge{LinkAttrs: la}); err != nil {
			return fmt.Errorf("add bridge %s: %w", bridge, err)
		}
		if br, err = ha.LinkByName(bridge); err != nil {
			return err
		}
	}
	la := netlink.NewLinkAttrs()
	la.Name = aName
	la.MasterIndex = br.Attrs().Index
	if err := ha.LinkAdd(&netlink.Veth{LinkAttrs: la, PeerName: bName, PeerNamespace: netlink.NsFd(int(b))}); err != nil {
		return fmt.Errorf("add veth %s: %w", aName, err)
	}
	if err := up(ha, aName, ""); err != nil {
		return err
	}
	if err := up(hb, "lo", ""); err != nil {
		return err
	}
	return up(hb, bName, addr)
}

// addBridge gives the bridge in ns its address and brings it and lo up.
func addBridge(ns netns.NsHandle, name, addr string) error {
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return err
	}
	defer h.Close()
	if err := up(h, "lo", ""); err != nil {
		return err
	}
	return up(h, name, addr)
}

func up(h *netlink.Handle, name, addr string) error {
	link, err := h.LinkByName(name)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if addr != "" {
		a, err := netlink.ParseAddr(addr)
		if err != nil {
			return err
		}
		if err := h.AddrAdd(link, a); err != nil {
			return fmt.Errorf("%s: add %s: %w", name, addr, err)
		}
	}
	return h.LinkSetUp(link)
}

// extras adds what the joined graph must show: a VM namespace, a VXLAN
// segment and a tunnel.
func (l *fleetLab) extras() error {
	h01, h02, h03, h04 := l.host("h01"), l.host("h02"), l.host("h03"), l.host("h04")
	if h04 == nil {
		return nil
	}
	vm, err := nsexec.New()
	if err != nil {
		return err
	}
	defer vm.Close() // the bind mount keeps it
	path := filepath.Join(h01.netnsDir, "vm1")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		return err
	}
	if err := unix.Mount(fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), int(vm)), path, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("name vm1: %w", err)
	}
	l.mounts = append(l.mounts, path)
	if err := cable(h01.ns, "vnet0", vm, "eth0", "198.18.67.11/24", "vmbr0"); err != nil {
		return err
	}
	if err := addBridge(h01.ns, "vmbr0", "198.18.67.1/24"); err != nil {
		return err
	}
	for _, p := range [][2]*labHost{{h01, h02}, {h02, h01}} {
		h, err := netlink.NewHandleAt(p[0].ns)
		if err != nil {
			return err
		}
		la := netlink.NewLinkAttrs()
		la.Name = "vx42"
		err = h.LinkAdd(&netlink.Vxlan{LinkAttrs: la, VxlanId: 42, Group: net.ParseIP(p[1].addr), Port: 4789})
		h.Close()
		if err != nil {
			return fmt.Errorf("vxlan on %s: %w", p[0].name, err)
		}
	}
	for i, h := range []*labHost{h03, h04} {
		err := nsexec.DoHandle(h.ns, func() error {
			la := netlink.NewLinkAttrs()
			la.Name = "jgtun0"
			if err := netlink.LinkAdd(&netlink.Tuntap{LinkAttrs: la, Mode: netlink.TUNTAP_MODE_TUN, Flags: netlink.TUNTAP_NO_PI}); err != nil {
				return err
			}
			link, err := netlink.LinkByName("jgtun0")
			if err != nil {
				return err
			}
			a, _ := netlink.ParseAddr(fmt.Sprintf("198.19.252.%d/30", i+1))
			return netlink.AddrAdd(link, a)
		})
		if err != nil {
			return fmt.Errorf("tunnel on %s: %w", h.name, err)
		}
	}
	return nil
}

func (l *fleetLab) configPath() string { return filepath.Join(l.dir, "ssh_config") }

func writeKey(path string) (ssh.PublicKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		return nil, err
	}
	return ssh.NewPublicKey(pub)
}

// writeConfig writes one host key (every host's), the client's key, and
// the ssh_config, sshd_config and known_hosts that name them.
//
// The servers run as Debian's sshd_config has them where it matters to
// the CPU of a connection: PAM on, and the RSA and ECDSA host keys Debian
// generates loaded too (on this machine PAM costs a connection ~8 ms of
// CPU, the two keys ~5 ms, docs/scale.md); the client checks the ED25519 one.
func (l *fleetLab) writeConfig() error {
	hostPub, err := writeKey(filepath.Join(l.dir, "host_key"))
	if err != nil {
		return err
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	rk, err := rsa.GenerateKey(rand.Reader, 3072)
	if err != nil {
		return err
	}
	for name, k := range map[string]crypto.PrivateKey{"host_key_ecdsa": ec, "host_key_rsa": rk} {
		block, err := ssh.MarshalPrivateKey(k, "")
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(l.dir, name), pem.EncodeToMemory(block), 0o600); err != nil {
			return err
		}
	}
	clientPub, err := writeKey(filepath.Join(l.dir, "id_ed25519"))
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(l.dir, "authorized_keys"), ssh.MarshalAuthorizedKey(clientPub), 0o600); err != nil {
		return err
	}
	var names []string
	var cfg strings.Builder
	for _, h := range l.hosts {
		names = append(names, h.name, h.addr)
		fmt.Fprintf(&cfg, "Host %s\n  HostName %s\n", h.name, h.addr)
		if h.jump != "" {
			fmt.Fprintf(&cfg, "  ProxyJump %s\n", h.jump)
		}
	}
	fmt.Fprintf(&cfg, "Host *\n  User root\n  IdentityFile %s\n  IdentitiesOnly yes\n  UserKnownHostsFile %s\n  StrictHostKeyChecking yes\n  BatchMode yes\n",
		filepath.Join(l.dir, "id_ed25519"), filepath.Join(l.dir, "known_hosts"))
	kh := strings.Join(names, ",") + " " + string(ssh.MarshalAuthorizedKey(hostPub))
	if err := os.WriteFile(filepath.Join(l.dir, "known_hosts"), []byte(kh), 0o600); err != nil {
		return err
	}
	sshd := strings.Join([]string{
		"Port 22", "ListenAddress 0.0.0.0", "HostKey " + filepath.Join(l.dir, "host_key_rsa"),
		"HostKey " + filepath.Join(l.dir, "host_key_ecdsa"), "HostKey " + filepath.Join(l.dir, "host_key"),
		"AuthorizedKeysFile " + filepath.Join(l.dir, "authorized_keys"), "PermitRootLogin prohibit-password",
		"PasswordAuthentication no", "KbdInteractiveAuthentication no", "UsePAM yes", "StrictModes no",
		"AllowTcpForwarding yes", "PrintMotd no", "PrintLastLog no", "UseDNS no", "MaxStartups 200:30:400",
		"MaxSessions 200", "PidFile none", "LogLevel INFO",
	}, "\n") + "\n"
	if err := os.WriteFile(filepath.Join(l.dir, "sshd_config"), []byte(sshd), 0o600); err != nil {
		return err
	}
	return os.WriteFile(l.configPath(), []byte(cfg.String()), 0o600)
}

// serverScript gives the server its own /run/netns and hostname; a lab
// host is no hypervisor, so the machine's virsh is hidden from it, and
// root's ~/.bashrc is Debian's (comments only, $3), not this machine's:
// Debian's bash reads ~/.bashrc for every command sshd runs, and a
// developer's (pyenv init here) cost 165 ms of CPU per host, four times
// sshd and the script together (docs/scale.md).
const serverScript = `mount --rbind "$1" /run/netns && hostname "$2" &&
{ ! [ -e /usr/bin/virsh ] || mount --bind /dev/null /usr/bin/virsh; } &&
{ ! [ -e /root/.bashrc ] || mount --bind "$3" /root/.bashrc; } && shift 3 && exec "$@"`

// stockBashrc stands for Debian's /root/.bashrc (base-files' dot.bashrc),
// whose lines are all commented out.
const stockBashrc = "# ~/.bashrc: executed by bash(1) for non-login shells.\n"

func nsPath(ns netns.NsHandle) string { return fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), int(ns)) }

func (l *fleetLab) startServers() error {
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		return err
	}
	bashrc := filepath.Join(l.dir, "bashrc")
	if err := os.WriteFile(bashrc, []byte(stockBashrc), 0o644); err != nil {
		return err
	}
	sshd, err := exec.LookPath("sshd")
	if err != nil {
		sshd = "/usr/sbin/sshd"
	}
	for _, h := range l.hosts {
		logf, err := os.Create(filepath.Join(l.dir, h.name+".log"))
		if err != nil {
			return err
		}
		cmd := exec.Command("nsenter", "--net="+nsPath(h.ns), "--", "unshare", "--mount", "--uts", "--propagation", "slave", "--",
			"/bin/sh", "-c", serverScript, "sh", h.netnsDir, h.name, bashrc, sshd, "-D", "-e", "-f", filepath.Join(l.dir, "sshd_config"))
		cmd.Stdout, cmd.Stderr = logf, logf
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		err = cmd.Start()
		logf.Close()
		if err != nil {
			return fmt.Errorf("start sshd on %s: %w", h.name, err)
		}
		h.sshd, h.exited = cmd, make(chan struct{})
		go func() { cmd.Wait(); close(h.exited) }()
	}
	deadline := time.Now().Add(20 * time.Second)
	for _, h := range l.hosts {
		for {
			b, _ := os.ReadFile(filepath.Join(l.dir, h.name+".log"))
			if bytes.Contains(b, []byte("Server listening on")) {
				break
			}
			select {
			case <-h.exited:
				return fmt.Errorf("sshd on %s exited:\n%s", h.name, b)
			default:
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("sshd on %s not listening:\n%s", h.name, b)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	return nil
}

// stop ends host's server, as a host going down would.
func (h *labHost) stop() {
	if h.sshd != nil {
		h.sshd.Process.Kill()
		<-h.exited
		h.sshd = nil
	}
}

func (l *fleetLab) down() {
	for _, h := range l.hosts {
		h.stop()
	}
	for _, m := range l.mounts {
		unix.Unmount(m, unix.MNT_DETACH)
	}
	for _, h := range l.hosts {
		h.ns.Close()
	}
	if l.laptop.IsOpen() {
		l.laptop.Close()
	}
}

// topo runs `jumpgate topo -F CONFIG ARGS...` in the laptop and returns
// its standard output, standard error and exit status.
func (l *fleetLab) topo(ctx context.Context, bin string, args ...string) (stdout, stderr []byte, code int, err error) {
	cmd := exec.CommandContext(ctx, "nsenter", append([]string{"--net=" + nsPath(l.laptop), "--", bin, "topo", "-F", l.configPath()}, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+l.dir, "XDG_RUNTIME_DIR="+l.dir)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return out.Bytes(), errb.Bytes(), ee.ExitCode(), nil
	}
	return out.Bytes(), errb.Bytes(), 0, err
}
