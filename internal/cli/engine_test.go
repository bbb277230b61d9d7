package cli

import "testing"

// TestHandshakesKnob: only JUMPGATE_DEBUG_ENGINE=jumpgate gives the command
// line our engine; anything else keeps x/crypto's adapter.
func TestHandshakesKnob(t *testing.T) {
	t.Parallel()
	for v, wantXSSH := range map[string]bool{"": true, "xssh": true, "jumpgate": false, "JUMPGATE": true} {
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
