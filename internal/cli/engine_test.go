package cli

import "testing"

// TestHandshakesKnob: only JUMPGATE_DEBUG_ENGINE=xssh gives the command
// line x/crypto's adapter; anything else is our engine.
func TestHandshakesKnob(t *testing.T) {
	t.Parallel()
	for v, wantXSSH := range map[string]bool{"": false, "xssh": true, "jumpgate": false, "XSSH": false} {
		c, s := handshakes(func(k string) string {
			if k == debugEngineEnv {
				return v
			}
			return ""
		})
		if (c != nil) != wantXSSH || (s != nil) != wantXSSH {
			t.Errorf("%s=%q: client set %v, server set %v; want x/crypto's %v", debugEngineEnv, v, c != nil, s != nil, wantXSSH)
		}
	}
}
