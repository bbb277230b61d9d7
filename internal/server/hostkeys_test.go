package server

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/jumpgate/jumpgate/internal/sshtest"
)

// slowSigner takes its time over a signature, as a loaded machine may.
type slowSigner struct{ ssh.Signer }

func (s slowSigner) Sign(r io.Reader, data []byte) (*ssh.Signature, error) {
	time.Sleep(200 * time.Millisecond)
	return s.Signer.Sign(r, data)
}

// TestOpenSSHUpdateHostKeys: ssh(1) with UpdateHostKeys learns the
// server's second host key from hostkeys-00@openssh.com, once the server
// has proven it holds it. The proof is slow to sign and the command quick:
// ssh(1) quits when its session closes, so the proof must go first, as
// sshd's does (CI once lost that race with a fast signer).
func TestOpenSSHUpdateHostKeys(t *testing.T) {
	sshtest.RequireOpenSSH(t, "ssh")
	t.Parallel()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	second, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	key := newKey(t, t.TempDir())
	ts := startServer(t, key.authLine(""), func(c *Config) { c.HostKeys = append(c.HostKeys, slowSigner{second}) })
	c := newSSHClient(t, key, ts)
	r := c.run(t, ts, "", []string{"-o", "UpdateHostKeys=yes", "-o", "LogLevel=DEBUG3",
		"-o", "HostKeyAlgorithms=ssh-ed25519,ecdsa-sha2-nistp256"}, "true")
	if r.code != 0 {
		t.Fatalf("ssh exited %d: %s", r.code, r.stderr)
	}
	data, err := os.ReadFile(filepath.Join(filepath.Dir(c.config), "known_hosts"))
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Fields(string(ssh.MarshalAuthorizedKey(second.PublicKey())))[1]
	if !strings.Contains(string(data), want) {
		t.Fatalf("known_hosts did not learn the ECDSA key:\n%s\nssh's log:\n%s", data, r.stderr)
	}
	if n := strings.Count(strings.TrimSpace(string(data)), "\n") + 1; n != 2 {
		t.Fatalf("known_hosts has %d lines, want 2:\n%s", n, data)
	}
}

// FuzzSplitSSHStrings: a prove request's keys are read back as written,
// and anything else is refused without panicking.
func FuzzSplitSSHStrings(f *testing.F) {
	f.Add(appendSSHString(appendSSHString(nil, []byte("a")), nil))
	f.Add([]byte{0, 0, 0, 5, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		parts, ok := splitSSHStrings(b)
		if !ok {
			return
		}
		var again []byte
		for _, p := range parts {
			again = appendSSHString(again, p)
		}
		if string(again) != string(b) {
			t.Fatalf("%x read as %q, written back as %x", b, parts, again)
		}
	})
}
