package xssh

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/jumpgate/jumpgate/internal/sshwire"
)

// TestHandshake connects the adapter's client to its server over a pipe
// and runs the seam's calls across it.
func TestHandshake(t *testing.T) {
	t.Parallel()
	_, hk, _ := ed25519.GenerateKey(rand.Reader)
	host, _ := ssh.NewSignerFromKey(hk)
	_, uk, _ := ed25519.GenerateKey(rand.Reader)
	user, _ := ssh.NewSignerFromKey(uk)
	// Not net.Pipe: both sides write their version first, and a pipe
	// has no buffer.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	a, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		c   sshwire.ServerConn
		err error
	}
	done := make(chan result, 1)
	go func() {
		c, err := Server(b, &sshwire.ServerConfig{
			HostKeys: []ssh.Signer{host},
			PublicKeyCallback: func(meta sshwire.ConnMetadata, key ssh.PublicKey) (*sshwire.Permissions, error) {
				if meta.User() != "me" || string(key.Marshal()) != string(user.PublicKey().Marshal()) {
					return nil, errors.New("no")
				}
				return &sshwire.Permissions{Extensions: map[string]string{"fp": ssh.FingerprintSHA256(key)}}, nil
			},
		})
		done <- result{c, err}
	}()
	var method string
	client, err := Client(a, "pipe", &sshwire.ClientConfig{
		User: "me",
		Auth: []sshwire.AuthMethod{sshwire.Password{Password: func() (string, error) { return "", errors.New("no") }},
			sshwire.PublicKeys{Signers: func() ([]ssh.Signer, error) { return []ssh.Signer{user}, nil }}},
		AuthCallback: func(ac sshwire.AuthContext) (sshwire.AuthMethod, error) {
			method = "publickey"
			return sshwire.PublicKeys{Signers: func() ([]ssh.Signer, error) { return []ssh.Signer{user}, nil }}, nil
		},
		HostKeyCallback: ssh.FixedHostKey(host.PublicKey()),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	server := r.c
	if method != "publickey" || server.Permissions().Extensions["fp"] != ssh.FingerprintSHA256(user.PublicKey()) {
		t.Errorf("method %q permissions %v", method, server.Permissions())
	}
	if client.Algorithms().KeyExchange == "" {
		t.Error("no key exchange algorithm")
	}
	go func() {
		for r := range server.GlobalRequests() {
			r.Reply(r.Type == "ping", []byte("pong"))
		}
	}()
	go func() {
		for nc := range server.HandleChannelOpen("") {
			if nc.ChannelType() != "session" {
				nc.Reject(sshwire.Prohibited, "only sessions")
				continue
			}
			ch, reqs, _ := nc.Accept()
			for r := range reqs {
				r.Reply(true, nil)
				if r.Type == "exec" {
					io.WriteString(ch, "out")
					ch.SendRequest("exit-status", false, []byte{0, 0, 0, 2})
					ch.Close()
				}
			}
		}
	}()
	ctx := context.Background()
	if ok, reply, err := client.SendRequest(ctx, "ping", true, nil); !ok || string(reply) != "pong" || err != nil {
		t.Errorf("ping: %v %q %v", ok, reply, err)
	}
	_, _, err = client.OpenChannel(ctx, "direct-tcpip", nil)
	var oe *sshwire.OpenChannelError
	if !errors.As(err, &oe) || oe.Reason != sshwire.Prohibited || oe.Message != "only sessions" {
		t.Errorf("open: %v", err)
	}
	s, err := sshwire.NewSession(ctx, client)
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.Output("x")
	var ee *sshwire.ExitError
	if string(out) != "out" || !errors.As(err, &ee) || ee.ExitStatus() != 2 {
		t.Errorf("output %q err %v", out, err)
	}
}
