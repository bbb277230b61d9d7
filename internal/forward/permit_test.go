package forward

import "testing"

func TestPermitRemoteOpen(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		permit []string
		host   string
		port   int
		want   bool
	}{
		{"unset", nil, "example.test", 80, true},
		{"any", []string{"any"}, "example.test", 80, true},
		{"none", []string{"none"}, "127.0.0.1", 22, false},
		{"explicit", []string{"127.0.0.1:22", "[::1]:22", "localhost:22"}, "::1", 22, true},
		{"explicit name", []string{"127.0.0.1:22", "localhost:22"}, "localhost", 22, true},
		{"other port", []string{"127.0.0.1:1", "localhost:1"}, "127.0.0.1", 22, false},
		{"names are not resolved", []string{"127.0.0.1:22"}, "localhost", 22, false},
		{"any host", []string{"*:22"}, "example.test", 22, true},
		{"any port", []string{"example.test:*"}, "example.test", 8080, true},
		{"any port, other host", []string{"example.test:*"}, "other.test", 8080, false},
	} {
		o := &Options{PermitRemoteOpen: tc.permit}
		if got := o.permitted(tc.host, tc.port); got != tc.want {
			t.Errorf("%s: permitted(%s, %d) = %v, want %v", tc.name, tc.host, tc.port, got, tc.want)
		}
	}
}
