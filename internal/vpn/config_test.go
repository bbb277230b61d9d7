package vpn

import (
	"net/netip"
	"testing"
)

func TestValidateAddresses(t *testing.T) {
	t.Parallel()
	v4, v6 := netip.MustParsePrefix("198.19.252.1/30"), netip.MustParsePrefix("2001:2:252::1/64")
	for _, tc := range []struct {
		name string
		c    Config
		ok   bool
	}{
		{"both families", Config{Mode: L3, MTU: 1500, Addrs: []netip.Prefix{v4, v6}}, true},
		{"IPv6 only", Config{Mode: L3, MTU: 1280, Addrs: []netip.Prefix{v6}}, true},
		{"IPv6 below its minimum MTU", Config{Mode: L3, MTU: 1200, Addrs: []netip.Prefix{v6}}, false},
		{"IPv6 route below its minimum MTU", Config{Mode: L3, MTU: 1200, Addrs: []netip.Prefix{v4}, Routes: []netip.Prefix{netip.MustParsePrefix("2001:2:9::/64")}}, false},
		{"no address", Config{Mode: L3, MTU: 1500}, false},
		{"L2 without", Config{Mode: L2, MTU: 1500}, true},
	} {
		if err := tc.c.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

func TestAddrText(t *testing.T) {
	t.Parallel()
	if got := addrText("198.18.3.99/24", []string{"198.18.3.99/24", "2001:2:3::99/64"}); got != "198.18.3.99/24,2001:2:3::99/64" {
		t.Errorf("both families: %q", got)
	}
	if got := addrText("198.18.3.99/24", nil); got != "198.18.3.99/24" {
		t.Errorf("an older record: %q", got)
	}
}
