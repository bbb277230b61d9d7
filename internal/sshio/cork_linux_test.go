package sshio

import (
	"net"
	"testing"

	"github.com/jumpgate/jumpgate/internal/sshtest"
	"golang.org/x/sys/unix"
)

// TestCorkTCP: Cork sets TCP_CORK on the socket under a wrapper, and
// what it returns clears it; a conn that corks itself is asked to.
func TestCorkTCP(t *testing.T) {
	c, _ := sshtest.TCPPair(t)
	corked := func() int {
		raw, err := c.SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		v := -1
		raw.Control(func(fd uintptr) { v, _ = unix.GetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_CORK) })
		return v
	}
	uncork := Cork(wrapped{Conn: c})
	if v := corked(); v != 1 {
		t.Errorf("TCP_CORK %d while corked, want 1", v)
	}
	uncork()
	if v := corked(); v != 0 {
		t.Errorf("TCP_CORK %d after uncork, want 0", v)
	}

	var s selfCorking
	Cork(wrapped{Conn: &s})()
	if s.corks != 1 || s.uncorks != 1 {
		t.Errorf("a conn with Cork: corked %d, uncorked %d times; want 1, 1", s.corks, s.uncorks)
	}
	Cork(&net.UnixConn{})() // nothing to cork: no-ops
}

type selfCorking struct {
	net.Conn
	corks, uncorks int
}

func (s *selfCorking) Cork() func() {
	s.corks++
	return func() { s.uncorks++ }
}
