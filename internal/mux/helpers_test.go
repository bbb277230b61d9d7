package mux

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jumpgate/jumpgate/internal/server/servertest"
	"github.com/jumpgate/jumpgate/internal/sshtest"
	"github.com/jumpgate/jumpgate/internal/sshwire"
	"github.com/jumpgate/jumpgate/internal/vlog"
)

// startServer runs `jumpgate serve`'s server in-process on loopback and
// returns a client logged in as the user running the test.
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

type testMaster struct {
	*Master
	path string
	dir  string
	log  *sshtest.Buffer
	done chan error
}

// startMaster serves a master for a fresh in-process server on a control
// socket in a new 0700 directory.
func startMaster(t testing.TB, mod func(*Config)) *testMaster {
	t.Helper()
	client := startServer(t)
	dir, err := os.MkdirTemp("", "jumpgate-mux-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return startMasterOn(t, client, dir, mod)
}

// startMasterOn serves a master for client on a control socket in dir.
func startMasterOn(t testing.TB, client sshwire.Conn, dir string, mod func(*Config)) *testMaster {
	t.Helper()
	tm := &testMaster{path: filepath.Join(dir, "ctl"), dir: dir, log: &sshtest.Buffer{}, done: make(chan error, 1)}
	ln, err := Listen(tm.path)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Client: client, Host: "testhost", Log: vlog.New(tm.log, vlog.Debug3)}
	if mod != nil {
		mod(&cfg)
	}
	tm.Master = NewMaster(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { tm.done <- tm.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-tm.done:
		case <-time.After(30 * time.Second):
			t.Errorf("Serve did not return")
		}
		if t.Failed() {
			t.Logf("master log:\n%s", tm.log)
		}
	})
	return tm
}

// exited waits up to d for Serve to return and gives its error; the
// result stays in tm.done for the cleanup, which waits for it too.
func (tm *testMaster) exited(d time.Duration) (bool, error) {
	select {
	case err := <-tm.done:
		tm.done <- err
		return true, err
	case <-time.After(d):
		return false, nil
	}
}

func dialMaster(t testing.TB, path string) *Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := Dial(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// pipeFiles returns a pipe for the client to pass and a buffer that
// collects what the master writes into it.
func outPipe(t testing.TB) (*os.File, func() string) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	done := make(chan struct{})
	go func() {
		io.Copy(&buf, r)
		r.Close()
		close(done)
	}()
	return w, func() string {
		w.Close()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Errorf("output pipe never reached EOF")
		}
		return buf.String()
	}
}

func inPipe(t testing.TB, data string) *os.File {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		io.WriteString(w, data)
		w.Close()
	}()
	t.Cleanup(func() { r.Close() })
	return r
}

// startEcho serves TCP echo on loopback until the test ends.
func startEcho(t testing.TB) *net.TCPAddr {
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
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	return ln.Addr().(*net.TCPAddr)
}
