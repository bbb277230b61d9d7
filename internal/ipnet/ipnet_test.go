package ipnet

import (
	"net/netip"
	"testing"
)

func TestFromPrefix(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"10.0.0.1/24", "10.0.0.1/24"},
		{"10.0.0.0/8", "10.0.0.0/8"},
		{"192.0.2.7/32", "192.0.2.7/32"},
		{"0.0.0.0/0", "0.0.0.0/0"},
		{"fd00::1/64", "fd00::1/64"},
		{"::/0", "::/0"},
	}
	for _, tt := range tests {
		n := FromPrefix(netip.MustParsePrefix(tt.in))
		if got := n.String(); got != tt.want {
			t.Errorf("FromPrefix(%s) = %s, want %s", tt.in, got, tt.want)
		}
		if ones, bits := n.Mask.Size(); bits != len(n.IP)*8 || ones != netip.MustParsePrefix(tt.in).Bits() {
			t.Errorf("FromPrefix(%s): mask %d/%d for a %d-byte address", tt.in, ones, bits, len(n.IP))
		}
	}
}
