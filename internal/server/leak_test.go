package server

import (
	"context"
	"io"
	"net"
	"os"
	"runtime"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/jumpgate/jumpgate/internal/sshwire"
)

func countFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	return len(ents)
}

// settle waits for goroutines and fds to come back to their baseline.
func settle(t *testing.T, goroutines, fds int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		// io.Copy between sockets splices through pooled pipes that only
		// a GC (and their finalizers) closes; they are not ours.
		runtime.GC()
		g, f := runtime.NumGoroutine(), countFDs(t)
		if g <= goroutines && f <= fds {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			var links []string
			ents, _ := os.ReadDir("/proc/self/fd")
			for _, e := range ents {
				l, _ := os.Readlink("/proc/self/fd/" + e.Name())
				links = append(links, e.Name()+"->"+l)
			}
			t.Fatalf("leak: %d goroutines (baseline %d), %d fds (baseline %d)\nfds: %v\n%s", g, goroutines, f, fds, links, buf[:n])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// exercise runs one connection through sessions (plain and pty), a
// direct-tcpip channel, a remote forward and an early disconnect.
func exercise(t *testing.T, ts *testServer, k ssh.Signer, echo net.Listener) {
	c := ts.mustDial(t, k)
	s, _ := sshwire.NewSession(context.Background(), c)
	if out, err := s.Output("echo x"); err != nil || string(out) != "x\n" {
		t.Fatalf("exec: %q %v", out, err)
	}
	s, _ = sshwire.NewSession(context.Background(), c)
	s.RequestPty("xterm", 24, 80, nil)
	if out, err := s.Output("true"); err != nil {
		t.Fatalf("pty exec: %q %v", out, err)
	}
	conn, err := sshwire.Dial(context.Background(), c, "tcp", echo.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(conn, "x")
	b := make([]byte, 1)
	io.ReadFull(conn, b)
	conn.Close()
	ln, err := listenRemote(c, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_ = ln // left open: the connection's end must close it
	s, _ = sshwire.NewSession(context.Background(), c)
	s.Start("sleep 30") // still running when the client goes away
	c.Close()
}

func TestNoLeaks(t *testing.T) {
	// Not parallel: it counts the whole process's goroutines and fds.
	key := newKey(t, t.TempDir())
	ts := startServer(t, key.authLine(""), nil)
	echo := echoServer(t, "tcp", "127.0.0.1:0")
	exercise(t, ts, key.signer, echo) // warm up lazily started runtime parts
	settle(t, runtime.NumGoroutine()+1000, 1<<20)
	time.Sleep(100 * time.Millisecond)
	g0, f0 := runtime.NumGoroutine(), countFDs(t)
	for range 10 {
		exercise(t, ts, key.signer, echo)
	}
	settle(t, g0, f0)
}

func BenchmarkExecTrue(b *testing.B) {
	key := newKey(b, b.TempDir())
	ts := startServer(b, key.authLine(""), nil)
	c := ts.mustDial(b, key.signer)
	b.ReportAllocs()
	for b.Loop() {
		s, err := sshwire.NewSession(context.Background(), c)
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Run("true"); err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
}
