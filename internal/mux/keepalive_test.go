package mux

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jumpgate/jumpgate/internal/dial"
	"github.com/jumpgate/jumpgate/internal/sshwire"
)

// freezable is a connection whose server can stop answering keepalives:
// while frozen, keepalive@openssh.com waits, as for a server behind a
// cable that was cut, until the connection closes or ctx ends.
type freezable struct {
	sshwire.Conn
	frozen atomic.Bool
	sent   atomic.Int32 // keepalives that reached the server
	closed chan struct{}
}

func newFreezable(c sshwire.Conn) *freezable {
	f := &freezable{Conn: c, closed: make(chan struct{})}
	go func() { c.Wait(); close(f.closed) }()
	return f
}

func (f *freezable) SendRequest(ctx context.Context, name string, wantReply bool, payload []byte) (bool, []byte, error) {
	if name == "keepalive@openssh.com" && f.frozen.Load() {
		select {
		case <-ctx.Done():
			return false, nil, ctx.Err()
		case <-f.closed:
			return false, nil, errors.New("connection closed")
		}
	}
	if name == "keepalive@openssh.com" {
		f.sent.Add(1)
	}
	return f.Conn.SendRequest(ctx, name, wantReply, payload)
}

// startFreezableMaster serves a master on a connection that can freeze.
func startFreezableMaster(t *testing.T, mod func(*Config, *freezable)) (*testMaster, *freezable) {
	t.Helper()
	f := newFreezable(startServer(t))
	dir, err := os.MkdirTemp("", "jumpgate-mux-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	tm := startMasterOn(t, f, dir, func(cfg *Config) {
		if mod != nil {
			mod(cfg, f)
		}
	})
	return tm, f
}

func dialWith(t *testing.T, path string, exts ...Extension) *Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := Dial(ctx, path, exts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// runSession runs command through c and returns how it ended and when.
func runSession(t *testing.T, c *Client, command string, opened func()) (int, time.Duration, error) {
	t.Helper()
	out, _ := outPipe(t)
	errw, _ := outPipe(t)
	start := time.Now()
	st, err := c.Session(context.Background(), NewSession{Command: command, EscapeChar: NoEscape},
		inPipe(t, ""), out, errw, SessionEvents{Opened: func(uint32) {
			if opened != nil {
				opened()
			}
		}})
	return st, time.Since(start), err
}

// The client's ServerAliveInterval through our master: answered probes
// keep a session going; unanswered ones end it with ErrServerTimeout
// after ServerAliveCountMax intervals, as on a connection of its own.
func TestClientKeepAliveThroughMaster(t *testing.T) {
	t.Parallel()
	t.Run("answered", func(t *testing.T) {
		t.Parallel()
		tm, f := startFreezableMaster(t, nil)
		c := dialWith(t, tm.path, Extension{Name: ExtKeepAlive})
		// Slow answers (a loaded machine) must not time out: 1 s.
		if !c.KeepAlive(100*time.Millisecond, 10) {
			t.Fatal("our master does not offer " + ExtKeepAlive)
		}
		st, _, err := runSession(t, c, "sleep 0.6; exit 4", nil)
		if st != 4 || err != nil {
			t.Fatalf("session: %d, %v; want 4", st, err)
		}
		if n := f.sent.Load(); n < 2 {
			t.Errorf("%d keepalives reached the server in 0.6 s at 100 ms", n)
		}
	})
	t.Run("unanswered", func(t *testing.T) {
		t.Parallel()
		tm, f := startFreezableMaster(t, nil)
		c := dialWith(t, tm.path, Extension{Name: ExtKeepAlive})
		c.KeepAlive(50*time.Millisecond, 3)
		st, took, err := runSession(t, c, "sleep 30", func() { f.frozen.Store(true) })
		if st != 255 || !errors.Is(err, ErrServerTimeout) || took > 10*time.Second {
			t.Fatalf("session: %d, %v after %v; want 255, %v", st, err, took, ErrServerTimeout)
		}
		// The connection is the master's to judge: it serves on.
		if _, err := dialMaster(t, tm.path).Check(context.Background()); err != nil {
			t.Errorf("master after a client's timeout: %v", err)
		}
	})
	t.Run("stdio forward unanswered", func(t *testing.T) {
		t.Parallel()
		tm, f := startFreezableMaster(t, nil)
		c := dialWith(t, tm.path, Extension{Name: ExtKeepAlive})
		c.KeepAlive(50*time.Millisecond, 2)
		out, _ := outPipe(t)
		if err := c.StdioForward(context.Background(), "127.0.0.1", uint32(startEcho(t).Port), inPipeOpen(t), out); err != nil {
			t.Fatal(err)
		}
		f.frozen.Store(true)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := c.Wait(ctx); !errors.Is(err, ErrServerTimeout) {
			t.Fatalf("Wait: %v; want %v", err, ErrServerTimeout)
		}
	})
}

// inPipeOpen is a stdin that stays open until the test ends.
func inPipeOpen(t *testing.T) *os.File {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	return r
}

// A master without ExtKeepAlive (OpenSSH's) gets no probe: only its own
// settings apply, as with ssh(1).
func TestClientKeepAliveWithoutExtension(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "ctl")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan error, 1)
	go func() { got <- fakeOpenSSHMaster(ln) }()
	c := dialWith(t, path, Extension{Name: ExtKeepAlive})
	if c.KeepAlive(10*time.Millisecond, 1) {
		t.Fatal("KeepAlive on a master that does not offer it")
	}
	st, _, err := runSession(t, c, "true", nil)
	if st != 0 || err != nil {
		t.Fatalf("session: %d, %v", st, err)
	}
	if err := <-got; err != nil {
		t.Fatal(err)
	}
}

// fakeOpenSSHMaster serves one session as OpenSSH's master would, with
// no extensions, and fails on any request after it.
func fakeOpenSSHMaster(ln *net.UnixListener) error {
	uc, err := ln.AcceptUnix()
	if err != nil {
		return err
	}
	fc := newFDConn(uc)
	defer fc.Close()
	if err := fc.writePacket(&Hello{Version: Version}); err != nil {
		return err
	}
	read := func() (Message, error) {
		body, err := ReadPacket(fc)
		if err != nil {
			return nil, err
		}
		return Decode(body)
	}
	if _, err := read(); err != nil {
		return err
	}
	msg, err := read()
	if err != nil {
		return err
	}
	s, ok := msg.(*NewSession)
	if !ok {
		return unexpected(msg)
	}
	fds, err := fc.recvFDs(3)
	if err != nil {
		return err
	}
	closeAll(fds)
	if err := fc.writePacket(&SessionOpened{ID: s.ID, Session: 1}); err != nil {
		return err
	}
	// Time for 30 probes: none may come.
	uc.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if msg, err := read(); err == nil {
		return errors.New("the client sent " + unexpected(msg).Error())
	}
	return fc.writePacket(&ExitMessage{Session: 1, Status: 0})
}

// A master whose own keepalives fail ends its sessions and tells the
// clients that sent ExtKeepAlive why; OpenSSH's clients (no extension)
// see the session end with 255 as from OpenSSH's master.
func TestMasterKeepAliveEndsSessions(t *testing.T) {
	t.Parallel()
	tm, f := startFreezableMaster(t, func(cfg *Config, f *freezable) {
		cfg.KeepAlive = func(ctx context.Context) error {
			// 1 s for answers before the freeze, on a loaded machine.
			return dial.AliveCheck(ctx, f, "198.18.0.2", 100*time.Millisecond, 10, nil)
		}
	})
	ours := dialWith(t, tm.path, Extension{Name: ExtKeepAlive})
	theirs := dialMaster(t, tm.path)
	theirsOpened := make(chan struct{})
	type result struct {
		st  int
		err error
	}
	results := make(chan result, 1)
	go func() {
		st, _, err := runSession(t, theirs, "sleep 30", func() { close(theirsOpened) })
		results <- result{st, err}
	}()
	st, took, err := runSession(t, ours, "sleep 30", func() {
		<-theirsOpened
		f.frozen.Store(true)
	})
	var le *LostError
	want := "Timeout, server 198.18.0.2 not responding."
	if st != 255 || !errors.As(err, &le) || le.Reason != want || took > 10*time.Second {
		t.Errorf("session of ours: %d, %v after %v; want 255 and %q", st, err, took, want)
	}
	// As from OpenSSH's master, with or without an exit status first
	// (the session's end and the master's races).
	if r := <-results; r.st != 255 || (r.err != nil && !errors.Is(r.err, ErrNoExitStatus)) {
		t.Errorf("session of a client without %s: %d, %v; want 255", ExtKeepAlive, r.st, r.err)
	}
	done, err := tm.exited(10 * time.Second)
	if !done || !errors.Is(err, ErrConnectionLost) {
		t.Errorf("Serve: returned %v, %v; want %v", done, err, ErrConnectionLost)
	}
}
