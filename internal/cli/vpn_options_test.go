package cli

import (
	"net/netip"
	"slices"
	"testing"
)

// --local-addr and --remote-addr take both families, repeated or comma
// separated; --route and --remote-route take IPv6 too.
func TestVPNTunnelOptionsAddresses(t *testing.T) {
	t.Parallel()
	o := vpnOptions{l3: true, localAddr: []string{"198.19.252.1/30", "2001:2:252::1/64"}, remoteAddr: []string{"2001:2:252::2/64"},
		routes: []string{"2001:2:9::1/64"}, remoteRoutes: []string{"198.18.2.0/24"}, transport: "auto", helper: "auto"}
	vo, err := o.tunnelOptions()
	if err != nil {
		t.Fatal(err)
	}
	p := netip.MustParsePrefix
	if !slices.Equal(vo.Local, []netip.Prefix{p("198.19.252.1/30"), p("2001:2:252::1/64")}) ||
		!slices.Equal(vo.Remote, []netip.Prefix{p("2001:2:252::2/64")}) ||
		!slices.Equal(vo.Routes, []netip.Prefix{p("2001:2:9::/64")}) || !slices.Equal(vo.RemoteRoutes, []netip.Prefix{p("198.18.2.0/24")}) {
		t.Errorf("options: %+v", vo)
	}
	for _, bad := range []string{"2001:2::1", "::ffff:198.19.252.1/126", "fe80::1%eth0/64", "lan1"} {
		o := vpnOptions{l2: true, remoteBridge: "wire", localAddr: []string{bad}, transport: "auto", helper: "auto"}
		if _, err := o.tunnelOptions(); err == nil {
			t.Errorf("--local-addr %s accepted", bad)
		}
	}
}
