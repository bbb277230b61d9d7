package sshio

import (
	"net"
	"testing"
)

type relayed struct {
	net.Conn
	max int
}

func (r relayed) RelayMessage() int { return r.max }

// TestRelayMessage: a conn tells its relay's message size through any
// wrappers that show what they wrap with NetConn (rawio's, dial's byte
// count), and one that does not tell says 0.
func TestRelayMessage(t *testing.T) {
	a, z := net.Pipe()
	defer a.Close()
	defer z.Close()
	for _, c := range []struct {
		name string
		conn net.Conn
		want int
	}{
		{"plain", a, 0},
		{"relayed", relayed{a, 32512}, 32512},
		{"relayed, wrapped twice", wrapped{wrapped{relayed{a, 32512}}}, 32512},
		{"wrapped, not relayed", wrapped{a}, 0},
	} {
		if got := RelayMessage(c.conn); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
}
