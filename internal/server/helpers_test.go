package server

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/jumpgate/jumpgate/internal/engine"
	"github.com/jumpgate/jumpgate/internal/sshtest"
	"github.com/jumpgate/jumpgate/internal/sshwire"
)

// testKey is a client key, with its private key written for ssh(1).
type testKey struct {
	signer ssh.Signer
	path   string
}

func newKey(t testing.TB, dir string) testKey {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "test")
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.CreateTemp(dir, "id_ed25519-")
	if err != nil {
		t.Fatal(err)
	}
	f.Write(pem.EncodeToMemory(block))
	f.Close()
	return testKey{signer: signer, path: f.Name()}
}

// authLine is an authorized_keys line for k with options opts.
func (k testKey) authLine(opts string) string {
	l := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k.signer.PublicKey())))
	if opts != "" {
		l = opts + " " + l
	}
	return l + "\n"
}

// testServer is a server running in-process on 127.0.0.1:0.
type testServer struct {
	addr    string
	port    string
	hostKey ssh.Signer
	dir     string
	keys    string // authorized_keys path
	log     *sshtest.Buffer
}

// testUser is root with /bin/sh, so that the machine's ~/.bashrc does not
// run on every command.
func testUser(name string) (*User, error) {
	u, err := LookupUser(name)
	if err != nil {
		return nil, err
	}
	u.Shell = "/bin/sh"
	return u, nil
}

// startServer runs a server whose authorized_keys holds authKeys; edit
// cfg before through mod.
func startServer(t testing.TB, authKeys string, mod func(*Config)) *testServer {
	t.Helper()
	dir := t.TempDir()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	hk, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{hostKey: hk, dir: dir, keys: filepath.Join(dir, "authorized_keys"), log: &sshtest.Buffer{}}
	if err := os.WriteFile(ts.keys, []byte(authKeys), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		HostKeys:       []ssh.Signer{hk},
		AuthorizedKeys: ts.keys,
		Logger:         slog.New(slog.NewTextHandler(ts.log, nil)),
		LookupUser:     testUser,
	}
	if mod != nil {
		mod(&cfg)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts.addr = ln.Addr().String()
	_, ts.port, _ = net.SplitHostPort(ts.addr)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, cfg) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("Serve did not return after cancel")
		}
		if t.Failed() {
			t.Logf("server log:\n%s", ts.log)
		}
	})
	return ts
}

// dial connects an in-process x/crypto client.
func (ts *testServer) dial(t testing.TB, signers ...ssh.Signer) (sshwire.Conn, error) {
	t.Helper()
	return engine.Dial("tcp", ts.addr, 10*time.Second, &sshwire.ClientConfig{
		User:            "root",
		Auth:            []sshwire.AuthMethod{sshwire.Signers(signers...)},
		HostKeyCallback: ssh.FixedHostKey(ts.hostKey.PublicKey()),
	})
}

func (ts *testServer) mustDial(t testing.TB, signers ...ssh.Signer) sshwire.Conn {
	t.Helper()
	c, err := ts.dial(t, signers...)
	if err != nil {
		t.Fatalf("dial: %v\nserver log:\n%s", err, ts.log)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// knownHostsLine is the known_hosts entry for the server.
func (ts *testServer) knownHostsLine() string {
	return fmt.Sprintf("[127.0.0.1]:%s %s", ts.port, ssh.MarshalAuthorizedKey(ts.hostKey.PublicKey()))
}

// echoServer echoes each connection until EOF, then closes it.
func echoServer(t testing.TB, network, addr string) net.Listener {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				io.Copy(c, c)
				c.Close()
			})
		}
	})
	return ln
}

// expectEcho checks that conn echoes a line and then, after our
// half-close, sends EOF.
func expectEcho(t testing.TB, conn net.Conn) {
	t.Helper()
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	msg := "ping through the tunnel\n"
	if _, err := io.WriteString(conn, msg); err != nil {
		t.Fatalf("write: %v", err)
	}
	conn.(interface{ CloseWrite() error }).CloseWrite()
	got, err := io.ReadAll(conn)
	if err != nil {
		t.Fatalf("read echo: %v", err)
	}
	if string(got) != msg {
		t.Fatalf("echo = %q, want %q", got, msg)
	}
}

// listenRemote asks the server to listen on addr (tcpip-forward) and
// returns the forwarded connections; one per client connection.
func listenRemote(c sshwire.Conn, addr string) (net.Listener, error) {
	host, ps, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	port, _ := strconv.Atoi(ps)
	msg := ssh.Marshal(struct {
		Host string
		Port uint32
	}{host, uint32(port)})
	chans := c.HandleChannelOpen("forwarded-tcpip")
	if chans == nil {
		return nil, errors.New("already listening on this connection")
	}
	ok, reply, err := c.SendRequest(context.Background(), "tcpip-forward", true, msg)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errors.New("tcpip-forward request denied by peer")
	}
	if port == 0 && len(reply) >= 4 {
		port = int(binary.BigEndian.Uint32(reply))
		msg = ssh.Marshal(struct {
			Host string
			Port uint32
		}{host, uint32(port)})
	}
	return &remoteListener{c: c, chans: chans, cancel: msg, addr: &net.TCPAddr{IP: net.ParseIP(host), Port: port}}, nil
}

type remoteListener struct {
	c      sshwire.Conn
	chans  <-chan sshwire.NewChannel
	cancel []byte
	addr   *net.TCPAddr
}

func (l *remoteListener) Accept() (net.Conn, error) {
	nc, ok := <-l.chans
	if !ok {
		return nil, io.EOF
	}
	ch, reqs, err := nc.Accept()
	if err != nil {
		return nil, err
	}
	go sshwire.DiscardRequests(reqs)
	return &sshwire.ChannelConn{Channel: ch, Local: l.addr, Remote: l.addr}, nil
}

func (l *remoteListener) Close() error {
	ok, _, err := l.c.SendRequest(context.Background(), "cancel-tcpip-forward", true, l.cancel)
	if err == nil && !ok {
		err = errors.New("cancel-tcpip-forward refused")
	}
	return err
}

func (l *remoteListener) Addr() net.Addr { return l.addr }
