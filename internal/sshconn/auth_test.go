package sshconn

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/jumpgate/jumpgate/internal/engine"
	"github.com/jumpgate/jumpgate/internal/sshtest"
	"github.com/jumpgate/jumpgate/internal/sshwire"
	"github.com/jumpgate/jumpgate/internal/vlog"
)

// clientHost is a mapHost for root@127.0.0.1:port trusting srv's host key.
func clientHost(t *testing.T, srv *sshtest.SSHD, kv ...string) *mapHost {
	t.Helper()
	home := t.TempDir()
	h := newMapHost(home, append([]string{
		"user", "root", "hostname", "127.0.0.1", "port", strconv.Itoa(srv.Port),
		"userknownhostsfile", sshdKnownHosts(t, srv, home), "globalknownhostsfile", "none",
		"stricthostkeychecking", "yes", "identityagent", "none",
	}, kv...)...)
	return h
}

// keygen writes an ed25519 key pair with ssh-keygen (OpenSSH format).
func keygen(t *testing.T, path, pass string, extra ...string) string {
	t.Helper()
	args := append([]string{"-q", "-t", "ed25519", "-N", pass, "-f", path}, extra...)
	if out, err := exec.Command("ssh-keygen", args...).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	b, err := os.ReadFile(path + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func authorize(t *testing.T, srv *sshtest.SSHD, lines ...string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(srv.Dir, "authorized_keys"), []byte(strings.Join(lines, "")), 0o600); err != nil {
		t.Fatal(err)
	}
}

// login connects with h and runs a command; it returns the Client and the
// warnings written.
func login(t *testing.T, srv *sshtest.SSHD, h *mapHost, p Prompter, getenv func(string) string) (*Client, string, error) {
	t.Helper()
	warn := &sshtest.Buffer{}
	c, err := newClient(context.Background(), Config{Prompter: p, Warn: warn, Log: vlog.New(warn, vlog.Debug1), Getenv: getenv}, h)
	if err != nil {
		return nil, warn.String(), err
	}
	t.Cleanup(func() { c.Close() })
	conn, err := engine.Dial("tcp", srv.Addr, 10*time.Second, c.Config)
	if err != nil {
		return c, warn.String(), err
	}
	defer conn.Close()
	sess, err := sshwire.NewSession(context.Background(), conn)
	if err != nil {
		return c, warn.String(), err
	}
	defer sess.Close()
	out, err := sess.Output("echo jumpgate-ok")
	if err == nil && strings.TrimSpace(string(out)) != "jumpgate-ok" {
		t.Fatalf("remote command printed %q", out)
	}
	return c, warn.String(), err
}

func TestAuthSSHD(t *testing.T) {
	t.Parallel()
	sshdConf := []string{"AuthorizedKeysFile {dir}/authorized_keys", "TrustedUserCAKeys {dir}/ca.pub"}

	t.Run("identity-file", func(t *testing.T) {
		t.Parallel()
		srv := startSSHD(t, sshdConf...)
		h := clientHost(t, srv)
		key := filepath.Join(h.home, "id_test")
		authorize(t, srv, keygen(t, key, ""))
		h.set("identityfile", "~/id_test")
		c, warn, err := login(t, srv, h, nil, nil)
		if err != nil {
			t.Fatalf("login: %v\n%s", err, warn)
		}
		if c.Method() != "publickey" {
			t.Errorf("Method() = %q", c.Method())
		}
		for _, s := range []string{"debug1: Server host key: ssh-ed25519 SHA256:", "debug1: Host '[127.0.0.1]:" + strconv.Itoa(srv.Port) + "' is known and matches the ED25519 host key.", "Will attempt key: " + key + " ED25519 SHA256:"} {
			if !strings.Contains(warn, s) {
				t.Errorf("log lacks %q:\n%s", s, warn)
			}
		}
	})

	t.Run("missing-explicit-identity-warns", func(t *testing.T) {
		t.Parallel()
		srv := startSSHD(t, sshdConf...)
		h := clientHost(t, srv, "identityfile", "~/nope")
		authorize(t, srv)
		_, warn, err := login(t, srv, h, nil, nil)
		if err == nil {
			t.Fatal("login without keys succeeded")
		}
		if want := "no such identity: " + h.home + "/nope: No such file or directory"; !strings.Contains(warn, want) {
			t.Errorf("warnings lack %q:\n%s", want, warn)
		}
	})

	t.Run("encrypted-key-prompts", func(t *testing.T) {
		t.Parallel()
		srv := startSSHD(t, sshdConf...)
		h := clientHost(t, srv)
		key := filepath.Join(h.home, "id_enc")
		authorize(t, srv, keygen(t, key, "s3cret"))
		os.Remove(key + ".pub") // the public half comes from the OpenSSH key itself
		h.set("identityfile", key)
		p := &scriptPrompter{answers: []string{"wrong", "s3cret"}}
		if _, warn, err := login(t, srv, h, p, nil); err != nil {
			t.Fatalf("login: %v\n%s", err, warn)
		}
		want := "Enter passphrase for key '" + key + "': "
		if len(p.prompts) != 2 || p.prompts[0] != want || p.prompts[1] != want {
			t.Errorf("prompts = %q, want twice %q", p.prompts, want)
		}
	})

	t.Run("batchmode-never-prompts", func(t *testing.T) {
		t.Parallel()
		srv := startSSHD(t, sshdConf...)
		h := clientHost(t, srv, "batchmode", "yes")
		key := filepath.Join(h.home, "id_enc")
		authorize(t, srv, keygen(t, key, "s3cret"))
		h.set("identityfile", key)
		p := &scriptPrompter{answers: []string{"s3cret"}}
		if _, _, err := login(t, srv, h, p, nil); err == nil {
			t.Fatal("BatchMode login with an encrypted key succeeded")
		}
		if len(p.prompts) != 0 {
			t.Errorf("BatchMode prompted %q", p.prompts)
		}
	})

	t.Run("agent", func(t *testing.T) {
		t.Parallel()
		srv := startSSHD(t, sshdConf...)
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		kr := agent.NewKeyring()
		if err := kr.Add(agent.AddedKey{PrivateKey: priv, Comment: "agent-key"}); err != nil {
			t.Fatal(err)
		}
		sock := serveAgent(t, kr)
		signer, _ := ssh.NewSignerFromKey(priv)
		authorize(t, srv, string(ssh.MarshalAuthorizedKey(signer.PublicKey())))
		h := clientHost(t, srv)
		delete(h.v, "identityagent")
		_, warn, err := login(t, srv, h, nil, func(k string) string {
			if k == "SSH_AUTH_SOCK" {
				return sock
			}
			return ""
		})
		if err != nil {
			t.Fatalf("login: %v\n%s", err, warn)
		}
		if !strings.Contains(warn, "Will attempt key: agent-key ED25519") {
			t.Errorf("log lacks the agent key:\n%s", warn)
		}
	})

	t.Run("identities-only-skips-agent", func(t *testing.T) {
		t.Parallel()
		srv := startSSHD(t, sshdConf...)
		_, priv, _ := ed25519.GenerateKey(rand.Reader)
		kr := agent.NewKeyring()
		kr.Add(agent.AddedKey{PrivateKey: priv, Comment: "agent-key"})
		sock := serveAgent(t, kr)
		signer, _ := ssh.NewSignerFromKey(priv)
		authorize(t, srv, string(ssh.MarshalAuthorizedKey(signer.PublicKey())))
		h := clientHost(t, srv, "identitiesonly", "yes", "identityagent", sock)
		delete(h.v, "identityagent")
		h.set("identityagent", sock)
		h.set("identityfile", "~/none")
		if _, warn, err := login(t, srv, h, nil, nil); err == nil {
			t.Fatalf("IdentitiesOnly used an agent-only key:\n%s", warn)
		}
	})

	// The certificate in file-cert.pub, in file.pub (which makes the
	// identity the certificate, as in ssh(1)), and offered with
	// PubkeyAcceptedAlgorithms set.
	for _, tc := range []struct{ name, suffix, accepted string }{
		{"certificate", "-cert.pub", ""},
		{"certificate-in-pub", ".pub", ""},
		{"certificate-accepted-algorithms", "-cert.pub", ssh.CertAlgoED25519v01},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := startSSHD(t, sshdConf...)
			ca := testSigner(t, "user-ca")
			if err := os.WriteFile(filepath.Join(srv.Dir, "ca.pub"), ssh.MarshalAuthorizedKey(ca.PublicKey()), 0o644); err != nil {
				t.Fatal(err)
			}
			authorize(t, srv) // no authorized keys: only the certificate can work
			h := clientHost(t, srv)
			key := filepath.Join(h.home, "id_cert")
			pubText := keygen(t, key, "")
			pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(pubText))
			if err != nil {
				t.Fatal(err)
			}
			cert := &ssh.Certificate{Key: pub, CertType: ssh.UserCert, KeyId: "test", ValidPrincipals: []string{"root"}, ValidBefore: ssh.CertTimeInfinity,
				Permissions: ssh.Permissions{Extensions: map[string]string{"permit-pty": ""}}}
			if err := cert.SignCert(rand.Reader, ca); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(key+tc.suffix, ssh.MarshalAuthorizedKey(cert), 0o644); err != nil {
				t.Fatal(err)
			}
			h.set("identityfile", key)
			if tc.accepted != "" {
				h.set("pubkeyacceptedalgorithms", tc.accepted)
			}
			if _, warn, err := login(t, srv, h, nil, nil); err != nil {
				t.Fatalf("login: %v\n%s", err, warn)
			}
			if !strings.Contains(srv.Log.String(), "Accepted publickey for root") || !strings.Contains(srv.Log.String(), "ID test") {
				t.Errorf("sshd did not accept the certificate:\n%s", srv.Log)
			}
		})
	}

	t.Run("changed-host-key-refused", func(t *testing.T) {
		t.Parallel()
		srv := startSSHD(t, sshdConf...)
		h := clientHost(t, srv)
		kh := filepath.Join(h.home, "known_hosts")
		os.WriteFile(kh, []byte("[127.0.0.1]:"+strconv.Itoa(srv.Port)+" "+authorizedLine(testSigner(t, "other").PublicKey())+"\n"), 0o644)
		before, _ := os.ReadFile(kh)
		_, warn, err := login(t, srv, h, nil, nil)
		var hke *HostKeyError
		if !errors.As(err, &hke) {
			t.Fatalf("err = %v, want *HostKeyError", err)
		}
		if !strings.Contains(warn, "REMOTE HOST IDENTIFICATION HAS CHANGED") {
			t.Errorf("no banner:\n%s", warn)
		}
		if after, _ := os.ReadFile(kh); string(after) != string(before) {
			t.Errorf("known_hosts changed on refusal")
		}
	})
}

// serveAgent serves kr on a Unix socket for the test.
func serveAgent(t *testing.T, kr agent.Agent) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "agent.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); agent.ServeAgent(kr, c) }()
		}
	}()
	return sock
}

// TestForwardAgentWithoutAgent: ForwardAgent yes with no agent listening
// is no error, as in ssh(1): forwarding is requested and the session runs.
func TestForwardAgentWithoutAgent(t *testing.T) {
	t.Parallel()
	srv := startSSHD(t, "AuthorizedKeysFile {dir}/authorized_keys")
	h := clientHost(t, srv, "forwardagent", "yes")
	key := filepath.Join(h.home, "id_test")
	authorize(t, srv, keygen(t, key, ""))
	h.set("identityfile", key)
	getenv := func(k string) string {
		if k == "SSH_AUTH_SOCK" {
			return filepath.Join(h.home, "no-agent.sock")
		}
		return ""
	}
	warn := &sshtest.Buffer{}
	c, err := newClient(context.Background(), Config{Warn: warn, Getenv: getenv}, h)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	conn, err := engine.Dial("tcp", srv.Addr, 10*time.Second, c.Config)
	if err != nil {
		t.Fatalf("dial: %v\n%s", err, warn)
	}
	defer conn.Close()
	sess, err := sshwire.NewSession(context.Background(), conn)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	if err := c.ForwardAgent(conn, sess); err != nil {
		t.Fatalf("ForwardAgent: %v", err)
	}
	out, err := sess.Output(`test -n "$SSH_AUTH_SOCK" && echo forwarded`)
	if err != nil || strings.TrimSpace(string(out)) != "forwarded" {
		t.Fatalf("session: %q, %v", out, err)
	}
}
