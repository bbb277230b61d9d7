package lab

import "testing"

func TestValidName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"jumpgate", true},
		{"a", true},
		{"bench-mux2", true},
		{"a234567890123456789012345678901", true},   // 31 bytes
		{"a2345678901234567890123456789012", false}, // 32 bytes
		{"", false},
		{"1lab", false},
		{"-lab", false},
		{"Lab", false},
		{"la_b", false},
		{"la b", false},
		{"lab\n", false},
		{"läb", false},
	} {
		if got := validName(tc.name); got != tc.ok {
			t.Errorf("validName(%q) = %v, want %v", tc.name, got, tc.ok)
		}
	}
}
