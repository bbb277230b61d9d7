package cli

import "testing"

// TestHandshakesKnob: only JUMPGATE_DEBUG_ENGINE=xssh leaves our engine.
func TestHandshakesKnob(t *testing.T) {
	t.Parallel()
	for v, want := range map[string]bool{"": false, "jumpgate": false, "xssh": true, "XSSH": false} {
		c, s := handshakes(func(k string) string {
			if k == debugEngineEnv {
				return v
			}
			return ""
		})
		if (c != nil) != want || (s != nil) != want {
			t.Errorf("%s=%q: client set %v, server set %v; want %v", debugEngineEnv, v, c != nil, s != nil, want)
		}
	}
}
