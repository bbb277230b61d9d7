package engine

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
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

	"github.com/jumpgate/jumpgate/internal/sshtest"
	"github.com/jumpgate/jumpgate/internal/sshwire"
)

// TestClientAgainstOpenSSH logs in to Debian's sshd with our whole
// engine: publickey, exec, exit status, and a refused key.
func TestClientAgainstOpenSSH(t *testing.T) {
	user := newEd25519(t)
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsaUser, _ := ssh.NewSignerFromKey(rk)
	d := sshtest.StartSSHD(t, "AuthorizedKeysFile {dir}/authorized_keys", "PermitRootLogin yes")
	keys := append(ssh.MarshalAuthorizedKey(user.PublicKey()), ssh.MarshalAuthorizedKey(rsaUser.PublicKey())...)
	if err := os.WriteFile(filepath.Join(d.Dir, "authorized_keys"), keys, 0o600); err != nil {
		t.Fatal(err)
	}
	dial := func(signer ssh.Signer) (sshwire.Conn, error) {
		nc, err := net.DialTimeout("tcp", d.Addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c, err := Client(nc, d.Addr, &sshwire.ClientConfig{
			User: "root",
			Auth: []sshwire.AuthMethod{sshwire.Signers(signer)},
			HostKeyCallback: func(_ string, _ net.Addr, key ssh.PublicKey) error {
				if !keyEqual(key, d.HostKey) {
					return errors.New("host key mismatch")
				}
				return nil
			},
		})
		if err != nil {
			nc.Close()
		}
		return c, err
	}
	c, err := dial(user)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := sshwire.NewSession(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.Output("echo hi")
	if err != nil || string(out) != "hi\n" {
		t.Fatalf("echo hi: %q, %v", out, err)
	}
	s, err = sshwire.NewSession(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	var ee *sshwire.ExitError
	if err := s.Run("exit 3"); !errors.As(err, &ee) || ee.ExitStatus() != 3 {
		t.Fatalf("exit 3: %v", err)
	}
	// 1 MiB each way through sshd's cat.
	s, err = sshwire.NewSession(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	in := make([]byte, 1<<20)
	(&pattern{}).Read(in)
	s.Stdin = bytes.NewReader(in)
	out, err = s.Output("cat")
	if err != nil || !bytes.Equal(out, in) {
		t.Fatalf("cat of 1 MiB: %d bytes back, %v", len(out), err)
	}
	// sshd 9.2 refuses ssh-rsa (SHA-1) signatures: this login needs
	// rsa-sha2-512 chosen from server-sig-algs.
	rc, err := dial(rsaUser)
	if err != nil {
		t.Fatalf("rsa key: %v", err)
	}
	rc.Close()
	_, err = dial(newEd25519(t))
	var ae *AuthError
	if !errors.As(err, &ae) || strings.Join(ae.Tried, " ") != "none publickey" || !strings.Contains(strings.Join(ae.Allowed, ","), "publickey") {
		t.Fatalf("unknown key: %v", err)
	}
}

// TestOpenSSHAgainstServer runs Debian's ssh against our server.
func TestOpenSSHAgainstServer(t *testing.T) {
	sshtest.RequireOpenSSH(t, "ssh")
	host := newEd25519(t)
	_, uk, _ := ed25519.GenerateKey(rand.Reader)
	user, _ := ssh.NewSignerFromKey(uk)
	dir := t.TempDir()
	block, err := ssh.MarshalPrivateKey(uk, "")
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, "id")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer nc.Close()
				c, err := Server(nc, &sshwire.ServerConfig{
					HostKeys:     []ssh.Signer{host},
					MaxAuthTries: 2,
					PublicKeyCallback: func(_ sshwire.ConnMetadata, key ssh.PublicKey) (*sshwire.Permissions, error) {
						if !keyEqual(key, user.PublicKey()) {
							return nil, errors.New("unknown key")
						}
						return nil, nil
					},
				})
				if err != nil {
					t.Logf("server handshake: %v", err)
					return
				}
				go serve(t, c)
				c.Wait()
			}()
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	sshCmd := func(cmd string) *exec.Cmd {
		return exec.Command("ssh", "-F", "none", "-i", keyFile, "-p", strconv.Itoa(port),
			"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
			"-o", "IdentitiesOnly=yes", "-o", "LogLevel=ERROR", "me@127.0.0.1", cmd)
	}
	var wrong []string
	for i := range 3 {
		_, k, _ := ed25519.GenerateKey(rand.Reader)
		b, _ := ssh.MarshalPrivateKey(k, "")
		f := filepath.Join(dir, "wrong"+strconv.Itoa(i))
		if err := os.WriteFile(f, pem.EncodeToMemory(b), 0o600); err != nil {
			t.Fatal(err)
		}
		wrong = append(wrong, "-i", f)
	}
	// Too many wrong keys: ssh(1) prints sshd's words from our disconnect.
	args := append([]string{"-F", "none", "-p", strconv.Itoa(port), "-o", "StrictHostKeyChecking=no",
		"-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes"}, wrong...)
	out, err := exec.Command("ssh", append(args, "me@127.0.0.1", "true")...).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "Too many authentication failures") {
		t.Fatalf("ssh with wrong keys: %v\n%s", err, out)
	}
	t.Logf("ssh with wrong keys: %s", out)
	out, err = sshCmd("echo hi").CombinedOutput()
	if err != nil || string(out) != "hi\n" {
		t.Fatalf("ssh echo hi: %q, %v", out, err)
	}
	err = sshCmd("exit 3").Run()
	var xe *exec.ExitError
	if !errors.As(err, &xe) || xe.ExitCode() != 3 {
		t.Fatalf("ssh exit 3: %v", err)
	}
}

// TestCallbackKeysOutliveTheirPacket: the host key the client's callback
// gets and the user key the server's gets stay intact while the
// connection reads on, since callers keep them (known_hosts, logs).
func TestCallbackKeysOutliveTheirPacket(t *testing.T) {
	t.Parallel()
	hk, user := newEd25519(t), newEd25519(t)
	cn, sn := net.Pipe()
	var gotUser ssh.PublicKey
	done := make(chan error, 1)
	go func() {
		sc, err := Server(sn, &sshwire.ServerConfig{HostKeys: []ssh.Signer{hk},
			PublicKeyCallback: func(_ sshwire.ConnMetadata, k ssh.PublicKey) (*sshwire.Permissions, error) {
				gotUser = k
				return nil, nil
			}})
		if err == nil {
			sc.Wait()
		}
		done <- err
	}()
	var gotHost ssh.PublicKey
	c, err := Client(cn, "pipe", &sshwire.ClientConfig{User: "me", Auth: []sshwire.AuthMethod{sshwire.Signers(user)},
		HostKeyCallback: func(_ string, _ net.Addr, k ssh.PublicKey) error {
			gotHost = k
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	// A round trip after authentication, so both sides read more packets.
	if _, _, err := c.SendRequest(context.Background(), "keepalive@openssh.com", true, nil); err != nil {
		t.Fatal(err)
	}
	c.Close()
	<-done
	if !keyEqual(gotHost, hk.PublicKey()) {
		t.Errorf("host key changed under the callback's caller")
	}
	if !keyEqual(gotUser, user.PublicKey()) {
		t.Errorf("user key changed under the callback's caller")
	}
}
