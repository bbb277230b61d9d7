package forward

import (
	"slices"
	"testing"

	"github.com/jumpgate/jumpgate/internal/sshconf"
)

// TestBindAddrs checks OpenSSH's rules for where forwards listen: local
// ones by GatewayPorts and the bind address, remote ones by what is
// asked of the server.
func TestBindAddrs(t *testing.T) {
	t.Parallel()
	loopback := []string{"127.0.0.1", "::1"}
	tests := []struct {
		name    string
		fw      sshconf.Forward
		gateway bool
		local   []string
		remote  string
	}{
		{"none", sshconf.Forward{}, false, loopback, "localhost"},
		{"none with GatewayPorts", sshconf.Forward{}, true, []string{""}, "localhost"},
		{"empty", sshconf.Forward{HasListenHost: true}, false, []string{""}, ""},
		{"star", sshconf.Forward{ListenHost: "*", HasListenHost: true}, false, []string{""}, ""},
		{"localhost", sshconf.Forward{ListenHost: "localhost", HasListenHost: true}, true, loopback, "localhost"},
		{"address", sshconf.Forward{ListenHost: "198.18.1.1", HasListenHost: true}, false, []string{"198.18.1.1"}, "198.18.1.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := localBindAddrs(tt.fw, tt.gateway); !slices.Equal(got, tt.local) {
				t.Errorf("localBindAddrs = %q, want %q", got, tt.local)
			}
			if got := remoteBindHost(tt.fw); got != tt.remote {
				t.Errorf("remoteBindHost = %q, want %q", got, tt.remote)
			}
		})
	}
}
