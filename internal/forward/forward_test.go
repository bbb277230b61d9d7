package forward

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jumpgate/jumpgate/internal/sshconf"
)

func start(t *testing.T, f *Forwarder, spec string, kind sshconf.ForwardKind) net.Addr {
	t.Helper()
	fw, err := sshconf.ParseForward(spec, kind, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Port 0 picks a free local port for the tests (ssh(1) refuses it).
	fw.ListenPort = 0
	if strings.HasPrefix(spec, "/") {
		fw.ListenPath = strings.SplitN(spec, ":", 2)[0]
	}
	addr, err := f.Start(context.Background(), fw)
	if err != nil {
		t.Fatalf("Start %s: %v", spec, err)
	}
	return addr
}

func TestForwardKinds(t *testing.T) {
	c := startServer(t)
	dir := t.TempDir()
	tcpTarget := upperServer(t, "tcp", "127.0.0.1:0").Addr().(*net.TCPAddr)
	unixTarget := filepath.Join(dir, "target.sock")
	upperServer(t, "unix", unixTarget)
	f := New(c, Options{BindMask: 0o177})
	t.Cleanup(func() { f.Close() })
	port := strconv.Itoa(tcpTarget.Port)

	tests := []struct {
		name string
		spec string
		kind sshconf.ForwardKind
		dial func(t *testing.T, addr net.Addr) net.Conn
	}{
		{"local tcp", "127.0.0.1:1:127.0.0.1:" + port, sshconf.Local, nil},
		{"local tcp to unix", "127.0.0.1:1:" + unixTarget, sshconf.Local, nil},
		{"local unix to unix", filepath.Join(dir, "l1.sock") + ":" + unixTarget, sshconf.Local, nil},
		{"local unix to tcp", filepath.Join(dir, "l2.sock") + ":localhost:" + port, sshconf.Local, nil},
		{"remote tcp", "127.0.0.1:1:127.0.0.1:" + port, sshconf.Remote, nil},
		{"remote tcp default bind", "1:localhost:" + port, sshconf.Remote, nil},
		{"remote unix", filepath.Join(dir, "r1.sock") + ":127.0.0.1:" + port, sshconf.Remote, nil},
		{"remote tcp to unix", "127.0.0.1:1:" + unixTarget, sshconf.Remote, nil},
		{"dynamic socks5 by name", "127.0.0.1:1", sshconf.Dynamic, func(t *testing.T, a net.Addr) net.Conn {
			c := dialAddr(t, a)
			if err := socks5Connect(c, "localhost", tcpTarget.Port); err != nil {
				t.Fatal(err)
			}
			return c
		}},
		{"remote dynamic socks5", "127.0.0.1:1", sshconf.RemoteDynamic, func(t *testing.T, a net.Addr) net.Conn {
			c := dialAddr(t, a)
			if err := socks5Connect(c, "127.0.0.1", tcpTarget.Port); err != nil {
				t.Fatal(err)
			}
			return c
		}},
		{"dynamic socks4", "127.0.0.1:1", sshconf.Dynamic, func(t *testing.T, a net.Addr) net.Conn {
			c := dialAddr(t, a)
			req := []byte{4, 1, byte(tcpTarget.Port >> 8), byte(tcpTarget.Port), 127, 0, 0, 1, 'u', 0}
			socks4(t, c, req)
			return c
		}},
		{"dynamic socks4a", "127.0.0.1:1", sshconf.Dynamic, func(t *testing.T, a net.Addr) net.Conn {
			c := dialAddr(t, a)
			req := []byte{4, 1, byte(tcpTarget.Port >> 8), byte(tcpTarget.Port), 0, 0, 0, 1, 0}
			req = append(append(req, "localhost"...), 0)
			socks4(t, c, req)
			return c
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := start(t, f, tt.spec, tt.kind)
			if ra, ok := addr.(remoteAddr); ok {
				addr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: ra.port}
			}
			dial := tt.dial
			if dial == nil {
				dial = dialAddr
			}
			var wg sync.WaitGroup
			for i := range 5 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					roundTrip(t, dial(t, addr), strings.Repeat("hello "+strconv.Itoa(i), 1000))
				}()
			}
			wg.Wait()
		})
	}
	t.Run("unix socket mode", func(t *testing.T) {
		st, err := os.Stat(filepath.Join(dir, "l1.sock"))
		if err != nil || st.Mode().Perm() != 0o600 || st.Mode().Type() != os.ModeSocket {
			t.Errorf("l1.sock: %v %v; want a socket with mode 0600", st.Mode(), err)
		}
	})
}

func dialAddr(t *testing.T, a net.Addr) net.Conn {
	t.Helper()
	c, err := net.DialTimeout(a.Network(), a.String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func socks4(t *testing.T, c net.Conn, req []byte) {
	t.Helper()
	if _, err := c.Write(req); err != nil {
		t.Fatal(err)
	}
	var resp [8]byte
	if _, err := io.ReadFull(c, resp[:]); err != nil || resp[1] != 0x5a {
		t.Fatalf("socks4 reply %v, %v", resp, err)
	}
}

func TestForwardFailures(t *testing.T) {
	c := startServer(t)
	dir := t.TempDir()
	f := New(c, Options{})
	t.Cleanup(func() { f.Close() })
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	tp := taken.Addr().(*net.TCPAddr).Port
	existing := filepath.Join(dir, "exists.sock")
	os.WriteFile(existing, nil, 0o600)

	tests := []struct {
		name string
		fw   sshconf.Forward
		want string
	}{
		{"local port taken", sshconf.Forward{Kind: sshconf.Local, ListenHost: "127.0.0.1", HasListenHost: true, ListenPort: tp, ConnectHost: "x", ConnectPort: 1},
			"bind [127.0.0.1]:" + strconv.Itoa(tp) + ": Address already in use"},
		{"local socket exists", sshconf.Forward{Kind: sshconf.Local, ListenPath: existing, ConnectHost: "x", ConnectPort: 1},
			"cannot bind to path " + existing + ": Address already in use"},
		{"remote port taken", sshconf.Forward{Kind: sshconf.Remote, ListenHost: "127.0.0.1", HasListenHost: true, ListenPort: tp, ConnectHost: "x", ConnectPort: 1},
			ErrRefused.Error()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.Start(context.Background(), tt.fw)
			var fe *Error
			if err == nil || err.Error() != tt.want || !errors.As(err, &fe) {
				t.Errorf("Start: %v; want %q", err, tt.want)
			}
		})
	}
	t.Run("unlink replaces socket file", func(t *testing.T) {
		g := New(c, Options{BindUnlink: true})
		defer g.Close()
		if _, err := g.Start(context.Background(), sshconf.Forward{Kind: sshconf.Local, ListenPath: existing, ConnectHost: "x", ConnectPort: 1}); err != nil {
			t.Fatal(err)
		}
		if st, err := os.Stat(existing); err != nil || st.Mode().Type() != os.ModeSocket {
			t.Errorf("%s after unlink: %v %v", existing, st, err)
		}
		g.Close()
		if _, err := os.Stat(existing); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("socket left behind after Close: %v", err)
		}
	})
	t.Run("target refused closes the client", func(t *testing.T) {
		fw := sshconf.Forward{Kind: sshconf.Local, ListenHost: "127.0.0.1", HasListenHost: true, ConnectHost: "127.0.0.1", ConnectPort: 1}
		addr, err := f.Start(context.Background(), fw)
		if err != nil {
			t.Fatal(err)
		}
		conn := dialAddr(t, addr)
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		if n, err := conn.Read(make([]byte, 1)); err == nil {
			t.Errorf("read %d bytes; want the connection closed", n)
		}
	})
}

// TestSOCKSGarbage sends malformed requests: each connection is closed,
// and a good request on the same server still works.
func TestSOCKSGarbage(t *testing.T) {
	c := startServer(t)
	target := upperServer(t, "tcp", "127.0.0.1:0").Addr().(*net.TCPAddr)
	f := New(c, Options{})
	t.Cleanup(func() { f.Close() })
	addr := start(t, f, "127.0.0.1:1", sshconf.Dynamic)
	tests := []struct {
		name string
		data string
	}{
		{"http", "GET / HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"socks5 no acceptable method", "\x05\x01\x02"},
		{"socks5 bind command", "\x05\x01\x00\x05\x02\x00\x01\x7f\x00\x00\x01\x00\x50"},
		{"socks5 bad address type", "\x05\x01\x00\x05\x01\x00\x09"},
		{"socks4 overlong user", "\x04\x01\x00\x50\x7f\x00\x00\x01" + strings.Repeat("u", 300)},
		{"socks4 empty name", "\x04\x01\x00\x50\x00\x00\x00\x01\x00\x00"},
		{"truncated", "\x05"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn := dialAddr(t, addr)
			defer conn.Close()
			conn.Write([]byte(tt.data))
			if tt.name == "truncated" {
				conn.(*net.TCPConn).CloseWrite()
			}
			conn.SetDeadline(time.Now().Add(5 * time.Second))
			// Unread garbage makes the close a reset: closed either way.
			if _, err := io.ReadAll(conn); err != nil && !errors.Is(err, syscall.ECONNRESET) {
				t.Errorf("want the connection closed, got %v", err)
			}
		})
	}
	conn := dialAddr(t, addr)
	if err := socks5Connect(conn, "127.0.0.1", target.Port); err != nil {
		t.Fatal(err)
	}
	roundTrip(t, conn, "still fine")
}

// TestNoLeaks runs many forwarded connections of every kind and checks
// that closing the forwarder leaves no goroutine or fd behind.
func TestNoLeaks(t *testing.T) {
	c := startServer(t)
	target := upperServer(t, "tcp", "127.0.0.1:0").Addr().(*net.TCPAddr)
	runtime.GC()
	g0, fd0 := runtime.NumGoroutine(), countFDs(t)
	f := New(c, Options{})
	port := strconv.Itoa(target.Port)
	local := start(t, f, "127.0.0.1:1:127.0.0.1:"+port, sshconf.Local)
	dyn := start(t, f, "127.0.0.1:1", sshconf.Dynamic)
	for i := range 20 {
		roundTrip(t, dialAddr(t, local), "x"+strconv.Itoa(i))
		conn := dialAddr(t, dyn)
		if err := socks5Connect(conn, "127.0.0.1", target.Port); err != nil {
			t.Fatal(err)
		}
		roundTrip(t, conn, "y")
	}
	// Connections still open when the forwarder closes.
	idle := dialAddr(t, local)
	defer idle.Close()
	half := dialAddr(t, dyn)
	defer half.Close()
	half.Write([]byte{5})
	time.Sleep(50 * time.Millisecond)
	settleOpen := runtime.NumGoroutine()
	f.Close()
	idle.Close()
	half.Close()
	t.Logf("goroutines: %d before, %d with connections open", g0, settleOpen)
	// The channel-open readers for remote forwards are per connection,
	// not per forward, and none was started here.
	settle(t, g0, fd0)
}
