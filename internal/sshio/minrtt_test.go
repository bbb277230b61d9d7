package sshio

import (
	"net"
	"runtime"
	"testing"
	"time"
)

// TestMinRTT: a TCP socket tells its path's round trip once data has
// been acknowledged, a wrapper with NetConn tells its underlying one's,
// and a conn that cannot tell says 0.
func TestMinRTT(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("TCP_INFO's tcpi_min_rtt is Linux's")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			accepted <- nil
			return
		}
		b := make([]byte, 4)
		c.Read(b)
		c.Write(b)
		accepted <- c
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	b := []byte("ping")
	if _, err := c.Write(b); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Read(b); err != nil {
		t.Fatal(err)
	}
	if s := <-accepted; s != nil {
		defer s.Close()
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
