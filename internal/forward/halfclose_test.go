package forward

import (
	"io"
	"net"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jumpgate/jumpgate/internal/sshconf"
)

// serverFirstServer speaks first: it sends its greeting, half-closes its
// side and only then reads the client's whole message, which it reports
// on got. A forward that closed both directions at the target's EOF
// would lose the client's message.
func serverFirstServer(t testing.TB, greeting string, got chan<- string) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
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
				c.SetDeadline(time.Now().Add(10 * time.Second))
				io.WriteString(c, greeting)
				c.(*net.TCPConn).CloseWrite()
				b, _ := io.ReadAll(c)
				got <- string(b)
			}()
		}
	}()
	return ln
}

// TestHalfCloseFromTarget is half-close the other way round from
// roundTrip's: the target ends its output first, the client reads that
// EOF and still sends, through local, dynamic and remote forwards.
func TestHalfCloseFromTarget(t *testing.T) {
	c := startServer(t)
	got := make(chan string, 1)
	const greeting = "hello from the target"
	target := serverFirstServer(t, greeting, got).Addr().(*net.TCPAddr)
	port := strconv.Itoa(target.Port)
	f := New(c, Options{})
	t.Cleanup(func() { f.Close() })

	tests := []struct {
		name string
		spec string
		kind sshconf.ForwardKind
	}{
		{"local", "127.0.0.1:1:127.0.0.1:" + port, sshconf.Local},
		{"dynamic", "127.0.0.1:1", sshconf.Dynamic},
		{"remote", "127.0.0.1:1:127.0.0.1:" + port, sshconf.Remote},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := start(t, f, tt.spec, tt.kind)
			if ra, ok := addr.(remoteAddr); ok {
				addr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: ra.port}
			}
			conn := dialAddr(t, addr)
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(10 * time.Second))
			if tt.kind == sshconf.Dynamic {
				if err := socks5Connect(conn, "127.0.0.1", target.Port); err != nil {
					t.Fatal(err)
				}
			}
			b, err := io.ReadAll(conn) // ends at the target's EOF
			if err != nil || string(b) != greeting {
				t.Fatalf("read %q, %v; want %q then EOF", b, err, greeting)
			}
			msg := strings.Repeat("after your EOF ", 10000)
			if _, err := io.WriteString(conn, msg); err != nil {
				t.Fatalf("write after the target's EOF: %v", err)
			}
			conn.(*net.TCPConn).CloseWrite()
			select {
			case s := <-got:
				if s != msg {
					t.Fatalf("target got %d bytes; want %d", len(s), len(msg))
				}
			case <-time.After(10 * time.Second):
				t.Fatal("target never got the client's message")
			}
		})
	}
}

// TestNoLeakPerConnection runs many connections through forwards that
// stay up and checks that, once they are done, goroutines and fds are
// back where they were after the first: nothing is kept per connection.
func TestNoLeakPerConnection(t *testing.T) {
	// No collection: a finalizer would close a dropped connection's fd.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	c := startServer(t)
	target := upperServer(t, "tcp", "127.0.0.1:0").Addr().(*net.TCPAddr)
	port := strconv.Itoa(target.Port)
	f := New(c, Options{})
	t.Cleanup(func() { f.Close() })
	local := start(t, f, "127.0.0.1:1:127.0.0.1:"+port, sshconf.Local)
	dyn := start(t, f, "127.0.0.1:1", sshconf.Dynamic)
	remote := start(t, f, "127.0.0.1:1:127.0.0.1:"+port, sshconf.Remote).(remoteAddr)
	remoteTCP := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: remote.port}
	round := func(i int) {
		roundTrip(t, dialAddr(t, local), "local "+strconv.Itoa(i))
		conn := dialAddr(t, dyn)
		if err := socks5Connect(conn, "127.0.0.1", target.Port); err != nil {
			t.Fatal(err)
		}
		roundTrip(t, conn, "dynamic "+strconv.Itoa(i))
		roundTrip(t, dialAddr(t, remoteTCP), "remote "+strconv.Itoa(i))
	}
	round(0) // first use starts what lives as long as the forwards
	time.Sleep(100 * time.Millisecond)
	g0, fd0 := runtime.NumGoroutine(), countFDs(t)
	const n = 50
	for i := 1; i <= n; i++ {
		round(i)
	}
	t.Logf("after %d connections per forward: baseline %d goroutines, %d fds", n, g0, fd0)
	settle(t, g0, fd0)
}
