package server

import (
	"net"
	"strings"
	"testing"
	"time"
)

func TestMaxStartupsDropP(t *testing.T) {
	t.Parallel()
	m := DefaultMaxStartups
	for n, want := range map[int]int{0: 0, 9: 0, 10: 30, 55: 65, 99: 99, 100: 100, 3000: 100} {
		if got := m.dropP(n); got != want {
			t.Errorf("dropP(%d) = %d, want %d (sshd's drop_connection)", n, got, want)
		}
	}
	for _, tc := range []struct {
		in   string
		want MaxStartups
		bad  bool
	}{
		{"10:30:100", DefaultMaxStartups, false},
		{"20", MaxStartups{20, 100, 20}, false},
		{"10:30", MaxStartups{}, true},
		{"100:30:10", MaxStartups{}, true},
		{"1:130:10", MaxStartups{}, true},
		{"a:b:c", MaxStartups{}, true},
		{"0", MaxStartups{}, true},
	} {
		got, err := ParseMaxStartups(tc.in)
		if (err != nil) != tc.bad || got != tc.want {
			t.Errorf("ParseMaxStartups(%q) = %v, %v", tc.in, got, err)
		}
	}
}

// TestMaxStartupsHoldsNoMore checks that idle connections that never log
// in are held up to MaxStartups, the rest closed at once, with two log
// lines for the whole flood rather than two per connection, and that a
// slot freed (the login grace time) serves again.
func TestMaxStartupsHoldsNoMore(t *testing.T) {
	t.Parallel()
	key := newKey(t, t.TempDir())
	ts := startServer(t, key.authLine(""), func(c *Config) {
		c.MaxStartups = MaxStartups{Start: 3, Rate: 100, Full: 3}
		c.LoginGraceTime = 2 * time.Second
	})
	var conns []net.Conn
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	dial := func() net.Conn {
		c, err := net.Dial("tcp", ts.addr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		return c
	}
	var idle []net.Conn
	for range 3 {
		c := dial()
		idle = append(idle, c)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err != nil { // the server's banner: admitted
			t.Fatalf("idle connection within MaxStartups: %v", err)
		}
	}
	for range 50 {
		expectClosed(t, dial(), time.Second)
	}
	ts.log.WaitFor(t, "beginning MaxStartups throttling")
	// The three idle ones run out of grace; then one more gets in.
	for _, c := range idle {
		expectClosed(t, c, 5*time.Second)
	}
	ts.log.WaitFor(t, "exited MaxStartups throttling")
	c := dial()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err != nil {
		t.Fatalf("after the grace time: %v", err)
	}
	stillServes(t, ts, key.signer)
	if n := strings.Count(ts.log.String(), "\n"); n > 12 {
		t.Errorf("%d log lines for 54 connections:\n%s", n, ts.log)
	}
	if !strings.Contains(ts.log.String(), "dropped=50") {
		t.Errorf("log lacks the count of dropped connections:\n%s", ts.log)
	}
}
