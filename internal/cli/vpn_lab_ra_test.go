package cli

// A router on the far segment for the layer-2 lab tests: IPv6 router
// advertisements (RFC 4861 section 4.2) sent from a lab host through a raw
// ICMPv6 socket. Written here rather than run as radvd or dnsmasq --enable-ra
// because those pace unsolicited advertisements seconds apart (RFC 4861's
// MIN_DELAY_BETWEEN_RAS is 3 s) and answer solicitations the near side sent
// before the test set accept_ra: a test that sends on demand needs no
// package, no configuration file and no daemon to stop.

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/jumpgate/jumpgate/internal/nsexec"
)

// routerAdvert builds a router advertisement for prefix (on-link and for
// stateless autoconfiguration) from a router whose link-layer address is
// mac. Its router lifetime is 0: no host takes a default route from it.
func routerAdvert(mac net.HardwareAddr, prefix netip.Prefix) []byte {
	b := []byte{
		134, 0, 0, 0, // type, code, checksum (the kernel fills it for ICMPv6 raw sockets)
		64, 0, 0, 0, // cur hop limit, flags, router lifetime 0
		0, 0, 0, 0, // reachable time
		0, 0, 0, 0, // retrans timer
		1, 1, // source link-layer address option, 8 bytes
	}
	b = append(b, mac[:6]...)
	b = append(b, 3, 4, byte(prefix.Bits()), 0xc0) // prefix information, 32 bytes; flags L and A
	b = binary.BigEndian.AppendUint32(b, 600)      // valid lifetime, s
	b = binary.BigEndian.AppendUint32(b, 600)      // preferred lifetime, s
	b = append(b, 0, 0, 0, 0)
	a := prefix.Masked().Addr().As16()
	return append(b, a[:]...)
}

// advertise sends a router advertisement for prefix to all nodes on
// host's iface every 200 ms until the returned stop is called or the test
// ends.
func (v *vpnLab) advertise(t testing.TB, host, iface string, prefix netip.Prefix) (stop func()) {
	t.Helper()
	var fd, index int
	var ra []byte
	// The lab names its namespaces as `ip netns` does.
	err := nsexec.Do("/run/netns/"+v.l.Netns(host), func() error {
		ifc, err := net.InterfaceByName(iface)
		if err != nil {
			return err
		}
		index, ra = ifc.Index, routerAdvert(ifc.HardwareAddr, prefix)
		// The socket stays in host's namespace once the thread leaves it.
		if fd, err = unix.Socket(unix.AF_INET6, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_ICMPV6); err != nil {
			return err
		}
		// Receivers drop advertisements that may have crossed a router.
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_HOPS, 255); err != nil {
			unix.Close(fd)
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatalf("raw ICMPv6 socket on %s's %s: %v", host, iface, err)
	}
	// ff02::1 on iface; the kernel picks iface's link-local address as the
	// source, which receivers require.
	to := &unix.SockaddrInet6{Addr: [16]byte{0: 0xff, 1: 0x02, 15: 1}, ZoneId: uint32(index)}
	quit, done := make(chan struct{}), make(chan error, 1)
	go func() {
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			if err := unix.Sendto(fd, ra, 0, to); err != nil {
				done <- fmt.Errorf("send router advertisement from %s: %w", host, err)
				return
			}
			select {
			case <-quit:
				done <- nil
				return
			case <-tick.C:
			}
		}
	}()
	stop = sync.OnceFunc(func() {
		close(quit)
		if err := <-done; err != nil {
			t.Error(err)
		}
		unix.Close(fd)
	})
	t.Cleanup(stop)
	return stop
}

// waitSLAAC waits until iface on host has an address in prefix that it
// configured itself from an advertisement (ip marks it dynamic) and that
// has passed duplicate detection, and returns it.
func (v *vpnLab) waitSLAAC(t testing.TB, host, iface string, prefix netip.Prefix) string {
	t.Helper()
	for range 100 {
		for _, line := range strings.Split(v.hostOutput(t, host, "ip", "-6", "-o", "addr", "show", "dev", iface, "-tentative"), "\n") {
			f := strings.Fields(line)
			if len(f) < 4 || f[2] != "inet6" || !strings.Contains(line, " dynamic ") {
				continue
			}
			if a, err := netip.ParsePrefix(f[3]); err == nil && prefix.Contains(a.Addr()) && a.Bits() == prefix.Bits() {
				return a.Addr().String()
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no address in %s configured from the router advertisement on %s's %s:\n%s\n%s", prefix, host, iface,
		v.hostOutput(t, host, "ip", "-6", "addr", "show", "dev", iface), v.hostOutput(t, host, "ip", "-6", "neigh", "show", "dev", iface))
	return ""
}
