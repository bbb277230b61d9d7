package netcfg

import "testing"

func TestValidIfName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"br0", true},
		{"virbr6", true},
		{"a.b_c-D9", true},
		{"123456789012345", true},
		{"1234567890123456", false},
		{"", false},
		{".", false},
		{"..", false},
		{"...", true},
		{"br 0", false},
		{"br/0", false},
		{"br0\n", false},
		{"brü", false},
	} {
		if got := validIfName(tc.name); got != tc.ok {
			t.Errorf("validIfName(%q) = %v, want %v", tc.name, got, tc.ok)
		}
	}
}
