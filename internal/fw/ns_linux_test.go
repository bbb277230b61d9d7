package fw

// Namespace tests on the real kernel: two bridges in one namespace linked
// by a veth pair, the namespace's own stack attached through another veth
// (the "host"), three guest namespaces on veths. Addresses only in
// 198.18.0.0/24, no default routes. Every attack is first shown to work
// without our rules, so that a pass with them means something.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/jumpgate/jumpgate/internal/nsexec"
	"github.com/jumpgate/jumpgate/internal/nstest"
)

type guest struct {
	ns, port string
	mac      net.HardwareAddr
	ip       net.IP
}

type fwLab struct {
	hyper      string // namespace with the bridges
	g1, g2, g3 guest  // g1 on brA, g2 and g3 on brB
}

func randSuffix(t *testing.T) string {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// newNamedNS creates /run/netns/name, removed in t.Cleanup.
func newNamedNS(t *testing.T, name string) netns.NsHandle {
	t.Helper()
	h, err := nsexec.NewNamed(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		h.Close()
		if err := netns.DeleteNamed(name); err != nil {
			t.Errorf("delete namespace %s: %v", name, err)
		}
	})
	return h
}

// inNS runs f on a thread inside namespace name; sockets f opens stay in
// that namespace and may be used from any goroutine afterwards.
func inNS(name string, f func() error) error {
	return nsexec.Do(filepath.Join("/run/netns", name), f)
}

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func newFWLab(t *testing.T) *fwLab {
	t.Helper()
	nstest.RequireRoot(t)
	sfx := randSuffix(t)
	l := &fwLab{hyper: "jgfw-h-" + sfx}
	hyperNS := newNamedNS(t, l.hyper)
	hh, err := netlink.NewHandleAt(hyperNS)
	must(t, "netlink handle", err)
	t.Cleanup(hh.Close)

	up := func(h *netlink.Handle, name string) netlink.Link {
		t.Helper()
		lk, err := h.LinkByName(name)
		must(t, "find "+name, err)
		must(t, "up "+name, h.LinkSetUp(lk))
		return lk
	}
	bridge := func(name string) *netlink.Bridge {
		la := netlink.NewLinkAttrs()
		la.Name = name
		br := &netlink.Bridge{LinkAttrs: la}
		must(t, "add bridge "+name, hh.LinkAdd(br))
		up(hh, name)
		return br
	}
	brA, brB := bridge("brA"), bridge("brB")
	veth := func(name, peer string, master *netlink.Bridge) {
		la := netlink.NewLinkAttrs()
		la.Name = name
		must(t, "add veth "+name, hh.LinkAdd(&netlink.Veth{LinkAttrs: la, PeerName: peer}))
		lk := up(hh, name)
		if master != nil {
			must(t, "enslave "+name, hh.LinkSetMaster(lk, master))
		}
	}
	veth("a-b", "b-a", brA)
	pk, _ := hh.LinkByName("b-a")
	must(t, "enslave b-a", hh.LinkSetMaster(pk, brB))
	up(hh, "b-a")
	veth("a-host", "host0", brA)
	host := up(hh, "host0")
	must(t, "host address", hh.AddrAdd(host, &netlink.Addr{IPNet: &net.IPNet{IP: net.IPv4(198, 18, 0, 1), Mask: net.CIDRMask(24, 32)}}))

	mk := func(n int, br *netlink.Bridge) guest {
		g := guest{
			ns:   fmt.Sprintf("jgfw-g%d-%s", n, sfx),
			port: fmt.Sprintf("g%dp", n),
			mac:  net.HardwareAddr{0x02, 0x6a, 0x67, 0, 0, byte(n)},
			ip:   net.IPv4(198, 18, 0, byte(10+n)).To4(),
		}
		gns := newNamedNS(t, g.ns)
		gh, err := netlink.NewHandleAt(gns)
		must(t, "netlink handle", err)
		t.Cleanup(gh.Close)
		veth(g.port, "eth0", br)
		peer, err := hh.LinkByName("eth0")
		must(t, "find guest end", err)
		must(t, "move guest end", hh.LinkSetNsFd(peer, int(gns)))
		lk, err := gh.LinkByName("eth0")
		must(t, "find eth0 in guest", err)
		must(t, "guest mac", gh.LinkSetHardwareAddr(lk, g.mac))
		must(t, "guest address", gh.AddrAdd(lk, &netlink.Addr{IPNet: &net.IPNet{IP: g.ip, Mask: net.CIDRMask(24, 32)}}))
		up(gh, "eth0")
		up(gh, "lo")
		return g
	}
	l.g1, l.g2, l.g3 = mk(1, brA), mk(2, brB), mk(3, brB)
	return l
}

// policy is the lab's policy, written as a user would.
func (l *fwLab) policy(t *testing.T) *Policy {
	t.Helper()
	station := func(g guest) string {
		return fmt.Sprintf("      - name: %s\n        role: guest\n        bind:\n          - mac: %q\n            ips: [%q]\n", g.port, g.mac, g.ip)
	}
	src := "version: 1\nbridges:\n  - name: brA\n    ports:\n" + station(l.g1) +
		"      - {name: a-b, role: border, peer: brB}\n      - {name: a-host, role: border, peer: host}\n" +
		"  - name: brB\n    ports:\n" + station(l.g2) + station(l.g3) +
		"      - {name: b-a, role: border, peer: brA}\n"
	p, err := ParsePolicy("lab.yaml", []byte(src))
	must(t, "parse lab policy", err)
	return p
}

// ping sends ICMP echo requests from guest ns to dst until one is answered.
func ping(from string, dst net.IP) error {
	var c net.PacketConn
	if err := inNS(from, func() (err error) {
		c, err = net.ListenPacket("ip4:icmp", "0.0.0.0")
		return err
	}); err != nil {
		return err
	}
	defer c.Close()
	id := uint16(os.Getpid())
	buf := make([]byte, 1500)
	for seq := uint16(1); seq <= 3; seq++ {
		msg := []byte{8, 0, 0, 0, byte(id >> 8), byte(id), byte(seq >> 8), byte(seq), 'j', 'g'}
		binary.BigEndian.PutUint16(msg[2:], checksum(msg))
		if _, err := c.WriteTo(msg, &net.IPAddr{IP: dst}); err != nil {
			return err
		}
		deadline := time.Now().Add(time.Second)
		for {
			c.SetReadDeadline(deadline)
			n, addr, err := c.ReadFrom(buf)
			if err != nil {
				break // timeout: next sequence number
			}
			if n >= 8 && buf[0] == 0 && addr.(*net.IPAddr).IP.Equal(dst) && binary.BigEndian.Uint16(buf[4:]) == id {
				return nil
			}
		}
	}
	return fmt.Errorf("no echo reply from %s", dst)
}

func checksum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return ^uint16(s)
}

// sendFrames sends raw Ethernet frames out of eth0 in guest ns.
func sendFrames(ns string, frames ...[]byte) error {
	return inNS(ns, func() error {
		ifi, err := net.InterfaceByName("eth0")
		if err != nil {
			return err
		}
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		sa := &unix.SockaddrLinklayer{Ifindex: ifi.Index, Halen: 6}
		for _, f := range frames {
			if err := unix.Sendto(fd, f, 0, sa); err != nil {
				return err
			}
		}
		return nil
	})
}

// arpReply is an ARP reply from mac claiming ip, sent to victim.
func arpReply(mac net.HardwareAddr, ip net.IP, victim guest) []byte {
	f := append([]byte{}, victim.mac...)
	f = append(f, mac...)
	f = append(f, 0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 2)
	f = append(f, mac...)
	f = append(f, ip.To4()...)
	f = append(f, victim.mac...)
	return append(f, victim.ip...)
}

// udpFrame is a UDP packet from src (forged) to victim port 9999, sent in
// a frame with the attacker's true MAC.
func udpFrame(mac net.HardwareAddr, src net.IP, victim guest) []byte {
	payload := []byte("forged")
	udp := []byte{0x9c, 0x40, 0x27, 0x0f, 0, byte(8 + len(payload)), 0, 0}
	udp = append(udp, payload...)
	ip := []byte{0x45, 0, 0, byte(20 + len(udp)), 0, 1, 0, 0, 64, 17, 0, 0}
	ip = append(ip, src.To4()...)
	ip = append(ip, victim.ip...)
	binary.BigEndian.PutUint16(ip[10:], checksum(ip))
	f := append(append(append([]byte{}, victim.mac...), mac...), 0x08, 0x00)
	return append(append(f, ip...), udp...)
}

// neighMAC returns the MAC guest ns's ARP cache holds for ip, or nil.
func neighMAC(t *testing.T, ns string, ip net.IP) net.HardwareAddr {
	t.Helper()
	h, err := netns.GetFromName(ns)
	must(t, "open namespace", err)
	defer h.Close()
	nh, err := netlink.NewHandleAt(h)
	must(t, "netlink handle", err)
	defer nh.Close()
	neighs, err := nh.NeighList(0, unix.AF_INET)
	must(t, "neighbour list", err)
	for _, n := range neighs {
		if n.IP.Equal(ip) {
			return n.HardwareAddr
		}
	}
	return nil
}

func forgetNeigh(t *testing.T, ns string, ip net.IP) {
	t.Helper()
	cmd := exec.Command("ip", "-n", ns, "neigh", "flush", "to", ip.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ip neigh flush: %v: %s", err, out)
	}
}

// poisons reports whether attacker, claiming claimed's IP in ARP replies
// to victim, makes victim's cache map that IP to the attacker's MAC.
func (l *fwLab) poisons(t *testing.T, attacker, claimed, victim guest) bool {
	t.Helper()
	forgetNeigh(t, victim.ns, claimed.ip)
	must(t, "victim pings the claimed guest first", ping(victim.ns, claimed.ip))
	if got := neighMAC(t, victim.ns, claimed.ip); !bytes.Equal(got, claimed.mac) {
		t.Fatalf("before the attack victim maps %s to %s, want %s", claimed.ip, got, claimed.mac)
	}
	// An existing entry is overridden once it is older than locktime (1 s).
	for range 12 {
		must(t, "send forged ARP", sendFrames(attacker.ns, arpReply(attacker.mac, claimed.ip, victim)))
		time.Sleep(200 * time.Millisecond)
	}
	poisoned := bytes.Equal(neighMAC(t, victim.ns, claimed.ip), attacker.mac)
	forgetNeigh(t, victim.ns, claimed.ip) // so that later tests start clean
	return poisoned
}

// spoofArrives reports whether a UDP packet forged by attacker with
// claimed's source IP reaches victim.
func (l *fwLab) spoofArrives(t *testing.T, attacker, claimed, victim guest) bool {
	t.Helper()
	var c net.PacketConn
	must(t, "listen", inNS(victim.ns, func() (err error) {
		c, err = net.ListenPacket("udp4", "0.0.0.0:9999")
		return err
	}))
	defer c.Close()
	for range 3 {
		must(t, "send forged UDP", sendFrames(attacker.ns, udpFrame(attacker.mac, claimed.ip, victim)))
	}
	c.SetReadDeadline(time.Now().Add(time.Second))
	buf := make([]byte, 64)
	n, _, err := c.ReadFrom(buf)
	return err == nil && string(buf[:n]) == "forged"
}

func (l *fwLab) nft(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("ip", append([]string{"netns", "exec", l.hyper, "nft"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("nft %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestFirewallNamespaces(t *testing.T) {
	l := newFWLab(t)
	ctx := context.Background()
	target := Target{NetNS: "/run/netns/" + l.hyper}
	rs, err := Generate(l.policy(t))
	must(t, "generate", err)

	t.Run("attacks work without rules", func(t *testing.T) {
		if !l.poisons(t, l.g2, l.g1, l.g3) {
			t.Fatal("forged ARP did not poison the victim even without rules: the test shows nothing")
		}
		if !l.spoofArrives(t, l.g2, l.g1, l.g3) {
			t.Fatal("forged UDP did not arrive even without rules: the test shows nothing")
		}
	})
	must(t, "apply", Apply(ctx, target, rs))
	t.Cleanup(func() { Flush(ctx, target) })

	t.Run("legitimate traffic flows across the bridges", func(t *testing.T) {
		for _, p := range [][2]guest{{l.g1, l.g3}, {l.g3, l.g1}, {l.g2, l.g3}, {l.g1, l.g2}} {
			if err := ping(p[0].ns, p[1].ip); err != nil {
				t.Errorf("ping %s → %s: %v", p[0].port, p[1].port, err)
			}
		}
	})
	t.Run("forged ARP on the same bridge does not poison", func(t *testing.T) {
		if l.poisons(t, l.g2, l.g1, l.g3) {
			t.Error("g3 maps g1's IP to g2's MAC after g2's forged ARP replies")
		}
	})
	t.Run("forged ARP across the linked bridges does not poison", func(t *testing.T) {
		if l.poisons(t, l.g1, l.g2, l.g3) {
			t.Error("g3 maps g2's IP to g1's MAC after g1's forged ARP replies")
		}
	})
	t.Run("forged IP source is dropped", func(t *testing.T) {
		if l.spoofArrives(t, l.g2, l.g1, l.g3) {
			t.Error("g3 received a UDP packet g2 sent with g1's source address")
		}
		if out := l.nft(t, "list", "chain", "bridge", TableName, "in_g2p"); !strings.Contains(out, "ip saddr != @ip4_g2p counter packets 3 ") {
			t.Errorf("in_g2p's ip saddr rule did not count the 3 forged packets:\n%s", out)
		}
	})
	t.Run("installed table is the plan", func(t *testing.T) {
		got := joinWrapped(l.nft(t, "-s", "list", "table", "bridge", TableName))
		if got != rs.Text() {
			t.Errorf("nft lists\n%s\nplan says\n%s", got, rs.Text())
		}
	})
	t.Run("apply again replaces the table", func(t *testing.T) {
		must(t, "apply again", Apply(ctx, target, rs))
		if got := joinWrapped(l.nft(t, "-s", "list", "table", "bridge", TableName)); got != rs.Text() {
			t.Errorf("after a second apply nft lists\n%s", got)
		}
	})
	t.Run("flush removes only our table", func(t *testing.T) {
		l.nft(t, "add", "table", "bridge", "other")
		l.nft(t, "add", "chain", "bridge", "other", "c", "{ type filter hook forward priority 0; }")
		l.nft(t, "add", "table", "inet", "jumpgate") // same name, other family
		had, err := Flush(ctx, target)
		must(t, "flush", err)
		if !had {
			t.Error("Flush said there was no table")
		}
		out := l.nft(t, "list", "tables")
		if strings.Contains(out, "table bridge "+TableName) {
			t.Errorf("our table is still there:\n%s", out)
		}
		if !strings.Contains(out, "table bridge other") || !strings.Contains(out, "table inet jumpgate") {
			t.Errorf("flush removed other tables:\n%s", out)
		}
		had, err = Flush(ctx, target)
		if err != nil || had {
			t.Errorf("second Flush = %v, %v; want false, nil", had, err)
		}
		if !l.poisons(t, l.g2, l.g1, l.g3) {
			t.Error("after flush the attack should work again (rules really gone)")
		}
	})
}

// joinWrapped undoes nft's wrapping of long set element lists.
func joinWrapped(s string) string {
	lines := strings.Split(s, "\n")
	var out []string
	for _, l := range lines {
		if n := len(out); n > 0 && strings.HasSuffix(out[n-1], ",") {
			out[n-1] += " " + strings.TrimSpace(l)
			continue
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}
