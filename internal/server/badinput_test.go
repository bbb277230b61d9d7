package server

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/jumpgate/jumpgate/internal/sshwire"
)

// expectClosed reads conn until the server closes it.
func expectClosed(t *testing.T, conn net.Conn, within time.Duration) {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(within))
	_, err := io.Copy(io.Discard, conn)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("server did not close the connection within %s", within)
	}
}

// stillServes checks the server works after the abuse.
func stillServes(t *testing.T, ts *testServer, k ssh.Signer) {
	t.Helper()
	c := ts.mustDial(t, k)
	s, err := sshwire.NewSession(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if out, err := s.Output("echo alive"); err != nil || string(out) != "alive\n" {
		t.Fatalf("after bad input: %q, %v", out, err)
	}
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	key := newKey(t, t.TempDir())
	ts := startServer(t, key.authLine(""), func(c *Config) { c.LoginGraceTime = 5 * time.Second })
	tests := []struct {
		name string
		send []byte
		log  string
	}{
		{"garbage before banner", bytes.Repeat([]byte("GET / HTTP/1.0 garbage\r\n"), 2000), "connection closed before login"},
		{"binary garbage", bytes.Repeat([]byte{0, 0xff, 0x13, 0x37}, 10000), "connection closed before login"},
		{"truncated packet", append([]byte("SSH-2.0-Broken\r\n"), 0, 0, 0x10, 0, 4, 20, 1, 2, 3), "connection closed before login"},
		{"huge packet length", append([]byte("SSH-2.0-Broken\r\n"), 0x7f, 0xff, 0xff, 0xff, 4, 20, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16), "connection closed before login"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", ts.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			go func() {
				conn.Write(tt.send)
				conn.(*net.TCPConn).CloseWrite()
			}()
			expectClosed(t, conn, 5*time.Second)
			stillServes(t, ts, key.signer)
		})
	}
	if n := strings.Count(ts.log.String(), "connection closed before login"); n < len(tests) {
		t.Errorf("%d bad connections logged, want %d:\n%s", n, len(tests), ts.log)
	}
}

func TestMaxAuthTries(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := newKey(t, dir)
	ts := startServer(t, good.authLine(""), func(c *Config) { c.MaxAuthTries = 3 })
	var bad []ssh.Signer
	for range 20 {
		bad = append(bad, newKey(t, dir).signer)
	}
	// One connection offering 20 wrong keys (and the right one last): cut
	// off after MaxAuthTries.
	if c, err := ts.dial(t, append(bad, good.signer)...); err == nil {
		c.Close()
		t.Fatal("logged in after 20 wrong keys; MaxAuthTries not enforced")
	}
	if n := strings.Count(ts.log.String(), "auth failed"); n != 3 {
		t.Errorf("%d failed attempts logged, want exactly MaxAuthTries=3:\n%s", n, ts.log)
	}
	// 20 rapid connections with bad keys, in parallel.
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			if c, err := ts.dial(t, bad[i]); err == nil {
				c.Close()
				t.Errorf("bad key %d logged in", i)
			}
		})
	}
	wg.Wait()
	stillServes(t, ts, good.signer)
}

func TestLoginGraceTime(t *testing.T) {
	t.Parallel()
	key := newKey(t, t.TempDir())
	ts := startServer(t, key.authLine(""), func(c *Config) { c.LoginGraceTime = 300 * time.Millisecond })
	tests := []struct {
		name string
		send string
	}{
		{"silent", ""},
		{"banner only", "SSH-2.0-Slow\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", ts.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			io.WriteString(conn, tt.send)
			start := time.Now()
			expectClosed(t, conn, 5*time.Second)
			if d := time.Since(start); d < 200*time.Millisecond {
				t.Errorf("closed after %s, before the grace time", d)
			}
		})
	}
	if !strings.Contains(ts.log.String(), "login grace time") {
		t.Errorf("grace expiry not logged:\n%s", ts.log)
	}
	stillServes(t, ts, key.signer)
}
