package cli

// Lab tests of jumpgate vpn: the built binary on the laptop against hyper1
// served by Debian's sshd (PermitTunnel yes on port 22; a second sshd with
// PermitTunnel no on 2222 for peer mode) and by `jumpgate serve
// --permit-tunnel` on 2223 and `--permit-tunnel=ethernet` on 2224. Traffic crosses the tunnel as TCP (sshd's
// banner), ICMP (ping) and UDP (iperf3 -u); every subtest compares the
// links of both ends before and after.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jumpgate/jumpgate/internal/lab"
	"github.com/jumpgate/jumpgate/internal/lab/labtest"
	"github.com/jumpgate/jumpgate/internal/nstest"
	"github.com/jumpgate/jumpgate/internal/sshtest"
	"github.com/jumpgate/jumpgate/internal/vpn"
)

type vpnLab struct {
	l       *lab.Lab
	bin     string
	cfg     string
	dhcpLog string
	// runtimeDir is the laptop's XDG_RUNTIME_DIR, where tunnels advertise
	// themselves for vpn status.
	runtimeDir string
	// stockSSHD is the pid of hyper1's sshd with PermitTunnel no (peer
	// mode's far end).
	stockSSHD int
}

func newVPNLab(t testing.TB) *vpnLab {
	sshtest.RequireOpenSSH(t, "ssh", "sshd")
	if _, err := exec.LookPath("iperf3"); err != nil {
		if os.Getenv(nstest.RequireRootEnv) == "1" {
			t.Fatal("iperf3 is not installed (scripts/deps.sh installs it)")
		}
		t.Skip("iperf3 is not installed")
	}
	v := &vpnLab{l: labtest.New(t, lab.Options{Server: lab.OpenSSH}), bin: labtest.Binary(t)}
	v.cfg = v.l.SSHConfig()
	v.runtimeDir = t.TempDir()
	dir := filepath.Join(v.l.Dir(), "hosts", "hyper1")
	conf, err := os.ReadFile(filepath.Join(dir, "sshd_config"))
	if err != nil {
		t.Fatal(err)
	}
	// A stock sshd: PermitTunnel no, on port 2222.
	stock := strings.NewReplacer("Port 22\n", "Port 2222\n", "PermitTunnel yes", "PermitTunnel no",
		"server.pid", "server-2222.pid").Replace(string(conf))
	stockConf := filepath.Join(dir, "sshd_config_2222")
	if err := os.WriteFile(stockConf, []byte(stock), 0o600); err != nil {
		t.Fatal(err)
	}
	v.stockSSHD = v.startPID(t, "hyper1", "/usr/sbin/sshd", "-D", "-e", "-f", stockConf)
	serve := []string{v.bin, "serve", "--host-key", filepath.Join(dir, "ssh_host_ed25519_key"),
		"--authorized-keys", filepath.Join(v.l.Dir(), "authorized_keys")}
	v.start(t, append(serve, "--permit-tunnel", "--listen", "0.0.0.0:2223")...)
	v.start(t, append(serve, "--permit-tunnel=ethernet", "--listen", "0.0.0.0:2224")...)
	for _, port := range []string{"2222", "2223", "2224"} {
		v.waitPort(t, "laptop", "198.18.1.2:"+port)
	}
	return v
}

// start runs a server on hyper1 until the test ends.
func (v *vpnLab) start(t testing.TB, argv ...string) { v.startOn(t, "hyper1", argv...) }

// startOn runs a server on host until the test ends.
func (v *vpnLab) startOn(t testing.TB, host string, argv ...string) { v.startPID(t, host, argv...) }

// startPID is startOn returning the server's pid (nsenter execs it).
func (v *vpnLab) startPID(t testing.TB, host string, argv ...string) int {
	ctx, cancel := context.WithCancel(context.Background())
	cmd := v.l.Command(ctx, host, argv...)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); cmd.Wait() })
	return cmd.Process.Pid
}

// waitPort waits until host reaches addr over TCP.
func (v *vpnLab) waitPort(t testing.TB, host, addr string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		c, err := v.l.DialContext(ctx, host, "tcp", addr)
		cancel()
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s cannot reach %s: %v", host, addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// banner reads the SSH banner of addr from the laptop: TCP across the
// tunnel both ways.
func (v *vpnLab) banner(t testing.TB, addr string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	c, err := v.l.DialContext(ctx, "laptop", "tcp", addr)
	if err != nil {
		t.Errorf("dial %s from the laptop: %v", addr, err)
		return ""
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(15 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Errorf("read banner of %s: %v", addr, err)
	}
	return line
}

// links lists host's interface names.
func (v *vpnLab) links(t testing.TB, host string) []string {
	t.Helper()
	out, err := v.l.Command(context.Background(), host, "ip", "-o", "link", "show").Output()
	if err != nil {
		t.Fatalf("ip link on %s: %v", host, err)
	}
	var names []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if f := strings.Fields(l); len(f) > 1 {
			names = append(names, strings.SplitN(strings.TrimSuffix(f[1], ":"), "@", 2)[0])
		}
	}
	slices.Sort(names)
	return names
}

func (v *vpnLab) hostOutput(t testing.TB, host string, argv ...string) string {
	t.Helper()
	out, err := v.l.Command(context.Background(), host, argv...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s on %s: %v\n%s", argv, host, err, out)
	}
	return string(out)
}

// vpnProc is a running jumpgate vpn (or ssh -w) on the laptop.
type vpnProc struct {
	cmd   *exec.Cmd
	lines chan string
	done  chan struct{}

	mu     sync.Mutex
	stderr strings.Builder
}

// errText is what the process wrote to stderr so far.
func (p *vpnProc) errText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// startVPN starts `jumpgate vpn args…` on the laptop and waits for its up
// line, which it returns.
func (v *vpnLab) startVPN(t testing.TB, args ...string) (*vpnProc, string) {
	t.Helper()
	return v.startVPNEnv(t, nil, args...)
}

// startVPNEnv is startVPN with env added to jumpgate's environment.
func (v *vpnLab) startVPNEnv(t testing.TB, env []string, args ...string) (*vpnProc, string) {
	t.Helper()
	p := v.runEnv(t, env, append([]string{v.bin, "vpn", "-F", v.cfg}, args...)...)
	deadline := time.After(90 * time.Second)
	for {
		select {
		case l, ok := <-p.lines:
			if !ok {
				<-p.done
				t.Fatalf("jumpgate vpn %v ended before the tunnel was up: %v\n%s", args, p.cmd.ProcessState, p.errText())
			}
			if strings.Contains(l, "tunnel up") {
				return p, l
			}
		case <-deadline:
			t.Fatalf("jumpgate vpn %v: no up line in time\n%s", args, p.errText())
		}
	}
}

func (v *vpnLab) run(t testing.TB, argv ...string) *vpnProc {
	t.Helper()
	return v.runEnv(t, nil, argv...)
}

// runEnv starts argv on the laptop with env added to its environment.
func (v *vpnLab) runEnv(t testing.TB, env []string, argv ...string) *vpnProc {
	t.Helper()
	p := &vpnProc{lines: make(chan string, 100), done: make(chan struct{})}
	p.cmd = v.l.Command(context.Background(), "laptop", argv...)
	p.cmd.Env = labEnv(append([]string{"XDG_RUNTIME_DIR=" + v.runtimeDir}, env...)...)
	pr, pw := io.Pipe()
	p.cmd.Stderr = pw
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			p.mu.Lock()
			p.stderr.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			select {
			case p.lines <- sc.Text():
			default:
			}
		}
		close(p.lines)
	}()
	go func() {
		p.cmd.Wait()
		pw.Close()
		close(p.done)
	}()
	t.Cleanup(func() { p.stop(t, syscall.SIGKILL) })
	return p
}

// stop signals the process and waits for it to end.
func (p *vpnProc) stop(t testing.TB, sig syscall.Signal) {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(60 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
		t.Errorf("%v did not end within 60s of %v", p.cmd.Args, sig)
	}
}

// expectLinks polls until host's links are want again.
func (v *vpnLab) expectLinks(t testing.TB, host string, want []string) {
	t.Helper()
	var got []string
	for range 100 {
		if got = v.links(t, host); slices.Equal(got, want) {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Errorf("links on %s after the tunnel: %v, before: %v", host, got, want)
}

var upLine = regexp.MustCompile(`^jumpgate: (l[23]) tunnel up: (\S+) .*<-> hyper1 (\S+).*, transport (\S+)( \(tso\))?, mtu (\d+)$`)

func TestVPNLab(t *testing.T) {
	v := newVPNLab(t)
	v.start(t, "iperf3", "-s")
	leases := v.dhcpServer(t)
	laptop0, hyper0 := v.links(t, "laptop"), v.links(t, "hyper1")
	check := func(t *testing.T) {
		v.expectLinks(t, "laptop", laptop0)
		v.expectLinks(t, "hyper1", hyper0)
	}

	t.Run("l3 native against sshd", func(t *testing.T) {
		p, line := v.startVPN(t, "hyper1", "--l3", "--nat", "--route", "198.18.2.0/24")
		m := upLine.FindStringSubmatch(line)
		if m == nil || m[4] != "tun@openssh.com" || !strings.HasPrefix(m[3], "tun") || m[5] == "" {
			t.Errorf("up line %q: want transport tun@openssh.com (tso) to a tunN", line)
		}
		// The kernel's segments must fit one message; larger ones would
		// all be cut, which the copies below would not notice.
		if m != nil {
			want := fmt.Sprintf("gso_max_size %d ", vpn.NativeGSOMaxSize)
			if out := v.hostOutput(t, "laptop", "ip", "-d", "link", "show", m[2]); !strings.Contains(out, want) {
				t.Errorf("%s has no %q:\n%s", m[2], want, out)
			}
		}
		if b := v.banner(t, "198.19.252.2:22"); !strings.HasPrefix(b, "SSH-2.0-OpenSSH") {
			t.Errorf("banner across the tunnel: %q", b)
		}
		v.ping(t, "laptop", "198.19.252.2")
		v.udp(t, "198.19.252.2")
		// To hyper1 itself TCP segments cross whole; to hyper2, which
		// hyper1 routes to, they are cut to the MTU first (a whole one
		// would be dropped there as too big to forward).
		v.tcpBulk(t, "hyper1", "198.19.252.2")
		v.tcpBulk(t, "hyper2", "198.18.2.2")
		p.stop(t, syscall.SIGINT)
		check(t)
	})

	t.Run("l3 native kill -9", func(t *testing.T) {
		p, _ := v.startVPN(t, "hyper1", "--l3")
		v.ping(t, "laptop", "198.19.252.2")
		// sshd removes its tun when the connection drops; the keeper
		// shell sees EOF.
		p.stop(t, syscall.SIGKILL)
		check(t)
	})

	t.Run("l3 peer against stock sshd with nat", func(t *testing.T) {
		args := []string{"-p", "2222", "-o", "HostKeyAlias=hyper1", "hyper1", "--l3", "--nat", "--route", "198.18.2.0/24"}
		p, line := v.startVPN(t, args...)
		if m := upLine.FindStringSubmatch(line); m == nil || m[4] != "peer" || m[5] == "" {
			t.Errorf("up line %q: want transport peer (tso)", line)
		}
		if !strings.Contains(p.errText(), "copying jumpgate") {
			t.Errorf("first peer-mode run did not announce the copy:\n%s", p.errText())
		}
		if b := v.banner(t, "198.19.252.2:22"); !strings.HasPrefix(b, "SSH-2.0-OpenSSH") {
			t.Errorf("banner of hyper1 across the tunnel: %q", b)
		}
		// hyper2 has no route back to the tunnel: only NAT gets it there.
		if b := v.banner(t, "198.18.2.2:22"); !strings.HasPrefix(b, "SSH-2.0-OpenSSH") {
			t.Errorf("banner of hyper2 through NAT: %q", b)
		}
		v.ping(t, "laptop", "198.19.252.2")
		v.ping(t, "laptop", "198.18.2.2")
		v.udp(t, "198.19.252.2")
		v.tcpBulk(t, "hyper1", "198.19.252.2")
		if out := v.hostOutput(t, "hyper1", "nft", "list", "tables"); !strings.Contains(out, "jumpgate_") {
			t.Errorf("no NAT table on hyper1 while up: %q", out)
		}
		p.stop(t, syscall.SIGTERM)
		check(t)
		if out := v.hostOutput(t, "hyper1", "nft", "list", "tables"); strings.Contains(out, "jumpgate_") {
			t.Errorf("NAT table left on hyper1: %q", out)
		}
		if fwd := v.hostOutput(t, "hyper1", "cat", "/proc/sys/net/ipv4/ip_forward"); strings.TrimSpace(fwd) != "0" {
			t.Errorf("ip_forward on hyper1 is %q after the tunnel, want 0 as before", fwd)
		}

		// The helper is cached: the second run copies nothing.
		p, _ = v.startVPN(t, "-p", "2222", "-o", "HostKeyAlias=hyper1", "hyper1", "--l3")
		if strings.Contains(p.errText(), "copying") {
			t.Errorf("second run copied the helper again:\n%s", p.errText())
		}
		// kill -9 of the near side: the far helper sees its channel close.
		p.stop(t, syscall.SIGKILL)
		v.expectLinks(t, "hyper1", hyper0)
		// The near device went with the process; nothing else was made.
		v.expectLinks(t, "laptop", laptop0)
	})

	t.Run("l2 peer joins wire", func(t *testing.T) {
		p, line := v.startVPN(t, "-p", "2222", "-o", "HostKeyAlias=hyper1", "hyper1", "--l2",
			"--remote-bridge", "wire", "--local-bridge", "virtual", "--local-addr", "198.18.3.99/24")
		if m := upLine.FindStringSubmatch(line); m == nil || m[1] != "l2" || m[4] != "peer" || m[5] == "" {
			t.Errorf("up line %q: want l2, transport peer (tso)", line)
		}
		// lan1 sits on wire, where hyper1 has no address: layer 2 only.
		if b := v.banner(t, "198.18.3.11:22"); !strings.HasPrefix(b, "SSH-2.0-OpenSSH") {
			t.Errorf("banner of lan1 across the bridge: %q", b)
		}
		lan1MAC := regexp.MustCompile(`link/ether (\S+)`).FindStringSubmatch(v.hostOutput(t, "lan1", "ip", "-o", "link", "show", "eth0"))
		if out := v.hostOutput(t, "laptop", "ip", "neigh", "show", "198.18.3.11"); lan1MAC == nil || !strings.Contains(out, "lladdr "+lan1MAC[1]) {
			t.Errorf("lan1's MAC %v not resolved on the laptop: %q", lan1MAC, out)
		}
		// The office DHCP server on lan1's side leases the laptop's
		// bridge an address, as in the seed's netboot.
		ip := v.dhcp(t, "virtual")
		if out := v.hostOutput(t, "lan1", "cat", leases); !strings.Contains(out, " "+ip+" ") {
			t.Errorf("dnsmasq's leases do not hold %s:\n%s", ip, out)
		}
		v.ping(t, "laptop", "198.18.3.11", "-I", ip)
		v.tcpBulk(t, "lan1", "198.18.3.11")
		p.stop(t, syscall.SIGINT)
		check(t)
	})

	t.Run("l2 kill -9 leaves no bridge", func(t *testing.T) {
		p, _ := v.startVPN(t, "-p", "2222", "-o", "HostKeyAlias=hyper1", "hyper1", "--l2",
			"--remote-bridge", "wire", "--local-bridge", "virtual")
		if !slices.Contains(v.links(t, "laptop"), "virtual") {
			t.Fatalf("no bridge virtual on the laptop while up: %v", v.links(t, "laptop"))
		}
		// The tap dies with the process; the bridge it made is the
		// watcher's to remove, and the far end the helper's.
		p.stop(t, syscall.SIGKILL)
		check(t)
	})

	t.Run("l2 native joins wire", func(t *testing.T) {
		p, line := v.startVPN(t, "hyper1", "--l2",
			"--remote-bridge", "wire", "--local-bridge", "virtual", "--local-addr", "198.18.3.99/24")
		m := upLine.FindStringSubmatch(line)
		if m == nil || m[1] != "l2" || m[4] != "tun@openssh.com" || !strings.HasPrefix(m[3], "tap") || m[5] == "" {
			t.Fatalf("up line %q: want l2, transport tun@openssh.com (tso) to a tapN", line)
		}
		if strings.Contains(p.errText(), "copying") {
			t.Errorf("the native transport copied a helper:\n%s", p.errText())
		}
		// sshd's own tap, joined to wire by the keeper.
		if out := v.hostOutput(t, "hyper1", "ip", "-o", "link", "show", "dev", m[3]); !strings.Contains(out, "master wire ") {
			t.Errorf("%s on hyper1 is not on wire: %q", m[3], out)
		}
		if b := v.banner(t, "198.18.3.11:22"); !strings.HasPrefix(b, "SSH-2.0-OpenSSH") {
			t.Errorf("banner of lan1 across the bridge: %q", b)
		}
		v.ping(t, "laptop", "198.18.3.11")
		// 64 KiB segments from the laptop's tap, cut to the MTU here;
		// whole frames the other way.
		v.tcpBulk(t, "lan1", "198.18.3.11")
		p.stop(t, syscall.SIGINT)
		check(t)
	})

	t.Run("l2 native kill -9 of either side", func(t *testing.T) {
		for _, side := range []string{"near", "far"} {
			p, _ := v.startVPN(t, "hyper1", "--l2",
				"--remote-bridge", "wire", "--local-bridge", "virtual", "--local-addr", "198.18.3.99/24")
			v.ping(t, "laptop", "198.18.3.11")
			if side == "near" {
				// The tap goes with the process, the bridge with the
				// watcher, and sshd's tap when sshd sees the connection
				// drop.
				p.stop(t, syscall.SIGKILL)
			} else {
				// sshd's tap goes with its process; jumpgate sees the
				// connection drop and removes its end.
				v.killSessions(t, "hyper1")
				select {
				case <-p.done:
				case <-time.After(30 * time.Second):
					t.Errorf("jumpgate vpn still running 30 s after the far sshd was killed:\n%s", p.errText())
				}
			}
			check(t)
		}
	})

	t.Run("openssh ssh -o Tunnel=ethernet -w against jumpgate serve", func(t *testing.T) {
		unit := 70 + int(time.Now().UnixNano()%20)
		dev, w := "tap"+strconv.Itoa(unit), fmt.Sprintf("%d:%d", unit, unit)
		ssh := []string{"ssh", "-F", v.cfg, "-p", "2224", "-o", "HostKeyAlias=hyper1", "-o", "ExitOnForwardFailure=yes"}
		p := v.run(t, append(ssh, "-o", "Tunnel=ethernet", "-w", w, "-N", "hyper1")...)
		deadline := time.Now().Add(60 * time.Second)
		for !slices.Contains(v.links(t, "laptop"), dev) || !slices.Contains(v.links(t, "hyper1"), dev) {
			if time.Now().After(deadline) {
				t.Fatalf("%s not on both ends:\n%s", dev, p.errText())
			}
			time.Sleep(100 * time.Millisecond)
		}
		v.hostOutput(t, "hyper1", "ip", "link", "set", dev, "master", "wire", "up")
		v.hostOutput(t, "laptop", "sh", "-c", "ip addr add 198.18.3.98/24 dev "+dev+" && ip link set "+dev+" up")
		if b := v.banner(t, "198.18.3.11:22"); !strings.HasPrefix(b, "SSH-2.0-OpenSSH") {
			t.Errorf("banner of lan1 across ssh -o Tunnel=ethernet: %q", b)
		}
		v.ping(t, "laptop", "198.18.3.11")
		// Downloads fill ssh's window: no frame may be cut at its end.
		v.tcpBulk(t, "lan1", "198.18.3.11")
		p.stop(t, syscall.SIGTERM)
		check(t)

		// --permit-tunnel ethernet refuses a point-to-point tunnel.
		q := v.run(t, append(ssh, "-w", w, "-N", "hyper1")...)
		select {
		case <-q.done:
			if q.cmd.ProcessState.Success() {
				t.Errorf("ssh -w (point-to-point) against --permit-tunnel ethernet succeeded:\n%s", q.errText())
			}
		case <-time.After(30 * time.Second):
			t.Errorf("ssh -w (point-to-point) against --permit-tunnel ethernet still running:\n%s", q.errText())
		}
		check(t)
	})

	// IPv6 beside IPv4, in 2001:2::/48 (RFC 5180's benchmarking block),
	// with no default route anywhere: what crosses is on-link or routed
	// through the tunnel.
	t.Run("ipv6 l3 native and peer", func(t *testing.T) {
		for _, tc := range []struct{ transport, port string }{{"tun@openssh.com", "22"}, {"peer", "2222"}} {
			p, line := v.startVPN(t, "-p", tc.port, "-o", "HostKeyAlias=hyper1", "hyper1", "--l3",
				"--local-addr", "198.19.252.1/30,2001:2:252::1/64", "--remote-addr", "198.19.252.2/30,2001:2:252::2/64",
				"--route", "2001:2:9::/64", "--remote-route", "2001:2:8::/64")
			m := upLine.FindStringSubmatch(line)
			if m == nil || m[4] != tc.transport || !strings.Contains(line, "2001:2:252::1/64") || !strings.Contains(line, "2001:2:252::2/64") {
				t.Fatalf("up line %q: want transport %s and both families on both ends", line, tc.transport)
			}
			v.ping(t, "laptop", "198.19.252.2")
			v.ping(t, "laptop", "2001:2:252::2")
			if mbit := v.iperf(t, "2001:2:252::2"); mbit <= 0 {
				t.Errorf("TCP over IPv6 through %s: %.0f Mbit/s", tc.transport, mbit)
			}
			if out := v.hostOutput(t, "laptop", "ip", "-6", "route", "show", "2001:2:9::/64"); !strings.Contains(out, "dev "+m[2]) {
				t.Errorf("--route 2001:2:9::/64 on the laptop: %q", out)
			}
			if out := v.hostOutput(t, "hyper1", "ip", "-6", "route", "show", "2001:2:8::/64"); !strings.Contains(out, "dev "+m[3]) {
				t.Errorf("--remote-route 2001:2:8::/64 on hyper1: %q", out)
			}
			recs := v.status(t)
			if len(recs) != 1 || !slices.Equal(recs[0].Addresses, []string{"198.19.252.1/30", "2001:2:252::1/64"}) ||
				!slices.Equal(recs[0].RemoteAddresses, []string{"198.19.252.2/30", "2001:2:252::2/64"}) {
				t.Errorf("vpn status: %+v", recs)
			}
			p.stop(t, syscall.SIGINT)
			check(t)
		}
	})

	t.Run("ipv6 l2 native and peer", func(t *testing.T) {
		// 2001:2:4::/64 is the prefix lan1 advertises as a router.
		for _, a := range []string{"2001:2:3::11/64", "2001:2:4::11/64"} {
			v.hostOutput(t, "lan1", "ip", "addr", "add", a, "dev", "eth0", "nodad")
			t.Cleanup(func() {
				v.l.Command(context.Background(), "lan1", "ip", "addr", "del", a, "dev", "eth0").Run()
			})
		}
		raPrefix := netip.MustParsePrefix("2001:2:4::/64")
		lan1MAC := regexp.MustCompile(`link/ether (\S+)`).FindStringSubmatch(v.hostOutput(t, "lan1", "ip", "-o", "link", "show", "eth0"))
		if lan1MAC == nil {
			t.Fatal("lan1's eth0 has no MAC address")
		}
		v.startOn(t, "lan1", "iperf3", "-s")
		lan1LL := regexp.MustCompile(`inet6 (fe80::\S+)/64`).FindStringSubmatch(v.hostOutput(t, "lan1", "ip", "-6", "-o", "addr", "show", "dev", "eth0", "scope", "link"))
		if lan1LL == nil {
			t.Fatal("lan1 has no link-local address")
		}
		for _, tc := range []struct {
			transport string
			env, args []string
		}{
			{"tun@openssh.com", nil, []string{"hyper1"}},
			{"peer", nil, []string{"-p", "2222", "-o", "HostKeyAlias=hyper1", "hyper1"}},
		} {
			p, line := v.startVPNEnv(t, tc.env, append(tc.args, "--l2", "--remote-bridge", "wire", "--local-bridge", "virtual",
				"--local-addr", "198.18.3.99/24,2001:2:3::99/64")...)
			if m := upLine.FindStringSubmatch(line); m == nil || m[4] != tc.transport {
				t.Fatalf("up line %q: want transport %s", line, tc.transport)
			}
			// Neighbour discovery and link-local addresses cross the
			// bridge as ARP does.
			v.ping(t, "laptop", "2001:2:3::11")
			v.waitLinkLocal(t, "laptop", "virtual")
			v.ping(t, "laptop", lan1LL[1]+"%virtual")
			v.ping(t, "laptop", "198.18.3.11")
			if mbit := v.iperf(t, "2001:2:3::11"); mbit <= 0 {
				t.Errorf("TCP over IPv6 through %s: %.0f Mbit/s", tc.transport, mbit)
			}
			// Router advertisements from the far segment reach the
			// laptop's bridge, which (accepting them as a host would)
			// takes an address in the prefix and lan1 as a router
			// neighbour; the bridge goes with the tunnel, and its
			// settings and addresses with it.
			v.hostOutput(t, "laptop", "sh", "-c",
				"echo 2 >/proc/sys/net/ipv6/conf/virtual/accept_ra && echo 1 >/proc/sys/net/ipv6/conf/virtual/autoconf")
			stopRA := v.advertise(t, "lan1", "eth0", raPrefix)
			slaac := v.waitSLAAC(t, "laptop", "virtual", raPrefix)
			if out := v.hostOutput(t, "laptop", "ip", "-6", "neigh", "show", "dev", "virtual", lan1LL[1]); !strings.Contains(out, "lladdr "+lan1MAC[1]+" router") {
				t.Errorf("lan1 (%s, %s) is no router neighbour of the laptop's bridge: %q", lan1LL[1], lan1MAC[1], out)
			}
			v.ping(t, "laptop", "2001:2:4::11", "-I", slaac)
			if out := v.hostOutput(t, "laptop", "ip", "-6", "route", "show", "default"); out != "" {
				t.Errorf("a default route from an advertisement with router lifetime 0: %q", out)
			}
			stopRA()
			p.stop(t, syscall.SIGINT)
			check(t)
		}
	})

	t.Run("l3 native against jumpgate serve", func(t *testing.T) {
		p, line := v.startVPN(t, "-p", "2223", "-o", "HostKeyAlias=hyper1", "hyper1", "--l3", "--transport", "tun@openssh.com")
		if m := upLine.FindStringSubmatch(line); m == nil || m[4] != "tun@openssh.com" {
			t.Errorf("up line %q", line)
		}
		if b := v.banner(t, "198.19.252.2:22"); !strings.HasPrefix(b, "SSH-2.0-OpenSSH") {
			t.Errorf("banner across the tunnel: %q", b)
		}
		v.tcpBulk(t, "hyper1", "198.19.252.2")
		p.stop(t, syscall.SIGINT)
		check(t)
	})

	t.Run("openssh ssh -w against jumpgate serve", func(t *testing.T) {
		unit := 70 + int(time.Now().UnixNano()%20)
		dev := "tun" + strconv.Itoa(unit)
		p := v.run(t, "ssh", "-F", v.cfg, "-p", "2223", "-o", "HostKeyAlias=hyper1", "-o", "ExitOnForwardFailure=yes",
			"-w", fmt.Sprintf("%d:%d", unit, unit), "-N", "hyper1")
		deadline := time.Now().Add(60 * time.Second)
		for !slices.Contains(v.links(t, "laptop"), dev) || !slices.Contains(v.links(t, "hyper1"), dev) {
			if time.Now().After(deadline) {
				t.Fatalf("%s not on both ends:\n%s", dev, p.errText())
			}
			time.Sleep(100 * time.Millisecond)
		}
		v.hostOutput(t, "laptop", "sh", "-c", "ip addr add 198.19.255.1/30 dev "+dev+" && ip link set "+dev+" up")
		v.hostOutput(t, "hyper1", "sh", "-c", "ip addr add 198.19.255.2/30 dev "+dev+" && ip link set "+dev+" up")
		if b := v.banner(t, "198.19.255.2:22"); !strings.HasPrefix(b, "SSH-2.0-OpenSSH") {
			t.Errorf("banner across ssh -w: %q", b)
		}
		p.stop(t, syscall.SIGTERM)
		check(t)
	})
}

// killSessions kills -9 the session processes host's sshd forked for its
// connections ("sshd: user…", and what they run lives on only until its
// pipes close), leaving the listener: the far side of a native tunnel.
func (v *vpnLab) killSessions(t testing.TB, host string) {
	t.Helper()
	root := v.l.ServerPID(host)
	parent := map[int]int{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// The command name may hold spaces: fields follow its ")".
		if f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:])); len(f) > 1 {
			parent[pid], _ = strconv.Atoi(f[1])
		}
	}
	var killed []int
	for pid := range parent {
		under := false
		for p := parent[pid]; p > 1; p = parent[p] {
			if p == root {
				under = true
				break
			}
		}
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if under && strings.HasPrefix(string(cmdline), "sshd: ") {
			syscall.Kill(pid, syscall.SIGKILL)
			killed = append(killed, pid)
		}
	}
	if root == 0 || len(killed) == 0 {
		t.Fatalf("no session of %s's sshd (pid %d) to kill", host, root)
	}
}

// waitLinkLocal waits until iface on host has a link-local IPv6 address
// that is no longer tentative (duplicate detection done), to ping from.
func (v *vpnLab) waitLinkLocal(t testing.TB, host, iface string) {
	t.Helper()
	for range 100 {
		if strings.Contains(v.hostOutput(t, host, "ip", "-6", "-o", "addr", "show", "dev", iface, "scope", "link", "-tentative"), "inet6") {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Errorf("%s on %s has no usable link-local address", iface, host)
}
