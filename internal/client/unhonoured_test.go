package client

import "testing"

func TestUnhonoured(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		k, v string
		want bool
	}{
		{"rekeylimit", "1G", false}, {"rekeylimit", "default none", false},
		{"updatehostkeys", "yes", false}, {"updatehostkeys", "no", false}, {"updatehostkeys", `"ask"`, true},
		{"verifyhostkeydns", "ask", true}, {"verifyhostkeydns", "no", false},
		{"addkeystoagent", "confirm 1h", true}, {"addkeystoagent", "no", false},
		{"requiredrsasize", "2048", true},
		{"user", "x", false}, {"compression", "yes", false},
	} {
		if got := unhonoured(tc.k, tc.v); got != tc.want {
			t.Errorf("unhonoured(%s, %q) = %v, want %v", tc.k, tc.v, got, tc.want)
		}
	}
}
