package sshio

import (
	"io"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/jumpgate/jumpgate/internal/sshtest"
)

// TestMinRTT: a TCP socket tells its path's round trip once data has
// been acknowledged, a wrapper with NetConn tells its underlying one's,
// and a conn that cannot tell says 0.
func TestMinRTT(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("TCP_INFO's tcpi_min_rtt is Linux's")
	}
	c, s := sshtest.TCPPair(t)
	// A ping and its echo: acknowledged data, the path's first sample.
	b := []byte("ping")
	for _, d := range []struct{ from, to net.Conn }{{c, s}, {s, c}} {
		if _, err := d.from.Write(b); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(d.to, b); err != nil {
			t.Fatal(err)
		}
	}
	rtt := MinRTT(c)
	if rtt <= 0 || rtt > time.Second {
		t.Errorf("loopback TCP: min RTT %v, want above 0 and far below a second", rtt)
	}
	if got := MinRTT(wrapped{c}); got <= 0 || got > time.Second {
		t.Errorf("through a wrapper with NetConn: %v, want what TCP tells (%v)", got, rtt)
	}
	a, z := net.Pipe()
	defer a.Close()
	defer z.Close()
	if got := MinRTT(a); got != 0 {
		t.Errorf("net.Pipe: %v, want 0 (unknown)", got)
	}
}

// wrapped adds nothing to the path, and says so.
type wrapped struct{ net.Conn }

func (w wrapped) NetConn() net.Conn { return w.Conn }
