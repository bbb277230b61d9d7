package forward

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/jumpgate/jumpgate/internal/server/servertest"
	"github.com/jumpgate/jumpgate/internal/sshwire"
)

// startServer runs `jumpgate serve`'s server in-process on loopback and
// returns a client connected to it as the user running the test.
func startServer(t testing.TB) sshwire.Conn {
	t.Helper()
	srv := servertest.Start(t, nil)
	c, err := srv.Dial()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// upperServer answers each connection with its input upper-cased, after
// the client's EOF, then closes: it shows that half-close got through.
func upperServer(t testing.TB, network, addr string) net.Listener {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				b, _ := io.ReadAll(c)
				c.Write([]byte(strings.ToUpper(string(b))))
			}()
		}
	}()
	return ln
}

// roundTrip sends msg over c, half-closes and expects msg upper-cased.
func roundTrip(t testing.TB, c net.Conn, msg string) {
	t.Helper()
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, msg); err != nil {
		t.Fatalf("write: %v", err)
	}
	if err := c.(interface{ CloseWrite() error }).CloseWrite(); err != nil {
		t.Fatalf("close write: %v", err)
	}
	got, err := io.ReadAll(c)
	if err != nil || string(got) != strings.ToUpper(msg) {
		t.Fatalf("got %q, %v; want %q", got, err, strings.ToUpper(msg))
	}
}

// socks5Connect asks a SOCKS5 server on c to connect to host:port.
func socks5Connect(c net.Conn, host string, port int) error {
	req := []byte{5, 1, 0, 5, 1, 0, 3, byte(len(host))}
	req = append(req, host...)
	req = binary.BigEndian.AppendUint16(req, uint16(port))
	if _, err := c.Write(req); err != nil {
		return err
	}
	var resp [12]byte
	if _, err := io.ReadFull(c, resp[:]); err != nil {
		return err
	}
	if resp[0] != 5 || resp[1] != 0 || resp[3] != 0 {
		return &socksError{resp[3]}
	}
	return nil
}

type socksError struct{ code byte }

func (e *socksError) Error() string { return fmt.Sprintf("socks5 reply %d", e.code) }

func countFDs(t testing.TB) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	return len(ents)
}

// settle waits for goroutines and fds to come back to their baseline.
// It never runs the collector: a finalizer closing a dropped connection
// would hide the leak.
func settle(t testing.TB, goroutines, fds int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		g, f := runtime.NumGoroutine(), countFDs(t)
		if g <= goroutines && f <= fds {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			t.Fatalf("leak: %d goroutines (baseline %d), %d fds (baseline %d)\n%s", g, goroutines, f, fds, buf[:n])
		}
		time.Sleep(20 * time.Millisecond)
	}
}
