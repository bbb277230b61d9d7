// Package servertest runs jumpgate's own server in-process for other
// packages' tests, logging in as the user running the test, so that they
// need neither root nor sshd.
package servertest

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"log/slog"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/jumpgate/jumpgate/internal/engine"
	"github.com/jumpgate/jumpgate/internal/server"
	"github.com/jumpgate/jumpgate/internal/sshtest"
	"github.com/jumpgate/jumpgate/internal/sshwire"
)

// Server is a server running on 127.0.0.1 until the test ends.
type Server struct {
	Addr      string        // 127.0.0.1:port
	HostKey   ssh.PublicKey // its host key
	User      string        // the user running the test, whom it logs in
	ClientKey ssh.Signer    // a key in its authorized_keys
	Log       *sshtest.Buffer
}

// Start runs a server whose authorized_keys holds [Server.ClientKey], and
// whose users get /bin/sh as their shell (not the machine's bash and its
// rc files); mod, if not nil, edits the configuration before it starts.
// The server's log is printed if the test fails.
func Start(t testing.TB, mod func(*server.Config)) *Server {
	t.Helper()
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	hk, err := newSigner()
	if err != nil {
		t.Fatal(err)
	}
	ck, err := newSigner()
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{HostKey: hk.PublicKey(), User: u.Username, ClientKey: ck, Log: &sshtest.Buffer{}}
	keys := filepath.Join(t.TempDir(), "authorized_keys")
	if err := os.WriteFile(keys, ssh.MarshalAuthorizedKey(ck.PublicKey()), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := server.Config{
		HostKeys:       []ssh.Signer{hk},
		AuthorizedKeys: keys,
		Logger:         slog.New(slog.NewTextHandler(s.Log, nil)),
		LookupUser: func(name string) (*server.User, error) {
			u, err := server.LookupUser(name)
			if err != nil {
				return nil, err
			}
			u.Shell = "/bin/sh"
			return u, nil
		},
	}
	if mod != nil {
		mod(&cfg)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Addr = ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- server.Serve(ctx, ln, cfg) }()
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
			t.Logf("server log:\n%s", s.Log)
		}
	})
	return s
}

// ClientConfig logs in as [Server.User] with [Server.ClientKey] and
// accepts only the server's host key.
func (s *Server) ClientConfig() *sshwire.ClientConfig {
	return &sshwire.ClientConfig{
		User:            s.User,
		Auth:            []sshwire.AuthMethod{sshwire.Signers(s.ClientKey)},
		HostKeyCallback: ssh.FixedHostKey(s.HostKey),
	}
}

// Dial connects and logs in with [Server.ClientConfig].
func (s *Server) Dial() (sshwire.Conn, error) {
	return engine.Dial("tcp", s.Addr, 30*time.Second, s.ClientConfig())
}

func newSigner() (ssh.Signer, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	return ssh.NewSignerFromKey(priv)
}
