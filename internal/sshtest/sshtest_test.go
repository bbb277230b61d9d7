package sshtest

import (
	"fmt"
	"io"
	"net"
	"sync"
	"testing"

	"github.com/jumpgate/jumpgate/internal/nstest"
)

func TestBuffer(t *testing.T) {
	t.Parallel()
	var b Buffer
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() { fmt.Fprintf(&b, "%d;", i) })
	}
	b.WaitFor(t, "9;")
	wg.Wait()
	if got := len(b.String()); got != 20 {
		t.Errorf("buffer holds %d bytes, want 20: %q", got, b.String())
	}
}

func TestFreePort(t *testing.T) {
	t.Parallel()
	p := FreePort(t)
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
	if err != nil {
		t.Fatalf("port %d is not free: %v", p, err)
	}
	ln.Close()
}

func TestHaveOpenSSHMissing(t *testing.T) {
	t.Setenv(nstest.RequireRootEnv, "0")
	if HaveOpenSSH(t, "jumpgate-test-no-such-program") {
		t.Error("a missing program counts as installed")
	}
}

func TestStartSSHD(t *testing.T) {
	t.Parallel()
	s := StartSSHD(t, "LogLevel VERBOSE")
	c, err := net.Dial("tcp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	banner := make([]byte, 8)
	if _, err := c.Read(banner); err != nil || string(banner) != "SSH-2.0-" {
		t.Errorf("sshd greets with %q, %v", banner, err)
	}
}

// TestTCPPair: the two ends are connected both ways.
func TestTCPPair(t *testing.T) {
	c, s := TCPPair(t)
	for _, d := range []struct{ from, to net.Conn }{{c, s}, {s, c}} {
		if _, err := d.from.Write([]byte("ping")); err != nil {
			t.Fatal(err)
		}
		b := make([]byte, 4)
		if _, err := io.ReadFull(d.to, b); err != nil || string(b) != "ping" {
			t.Fatalf("read %q, %v; want ping", b, err)
		}
	}
}
