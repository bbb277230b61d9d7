package session

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/jumpgate/jumpgate/internal/engine"
	"github.com/jumpgate/jumpgate/internal/server"
	"github.com/jumpgate/jumpgate/internal/server/servertest"
	"github.com/jumpgate/jumpgate/internal/sshtest"
	"github.com/jumpgate/jumpgate/internal/sshwire"
	"github.com/jumpgate/jumpgate/internal/vlog"
)

// peer is an SSH server the sessions run against.
type peer struct {
	name    string
	addr    string
	hostKey ssh.PublicKey
	signer  ssh.Signer
	dir     string // state dir (scripts live here)
	log     *sshtest.Buffer
	conns   sync.Map // net.Conn → struct{}: for cutting connections
}

// dial connects and authenticates a client, closed in cleanup.
func (p *peer) dial(t testing.TB) sshwire.Conn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", p.addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c, err := engine.Client(nc, p.addr, &sshwire.ClientConfig{
		User:            "root",
		Auth:            []sshwire.AuthMethod{sshwire.Signers(p.signer)},
		HostKeyCallback: ssh.FixedHostKey(p.hostKey),
	})
	if err != nil {
		nc.Close()
		t.Fatalf("dial %s: %v\nserver log:\n%s", p.name, err, p.log)
	}
	p.conns.Store(c, nc)
	t.Cleanup(func() { c.Close() })
	return c
}

// cut closes c's TCP connection under it, as a network failure would.
func (p *peer) cut(c sshwire.Conn) {
	if nc, ok := p.conns.Load(c); ok {
		nc.(net.Conn).Close()
	}
}

// testSigner is an ed25519 signer that keeps its private key, so that
// ssh(1) can be given it as a file.
type testSigner struct {
	ssh.Signer
	priv ed25519.PrivateKey
}

func newSigner(t testing.TB) ssh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return testSigner{s, priv}
}

// writeKey writes s's private key for ssh(1) -i and returns the path.
func writeKey(t testing.TB, dir string, s ssh.Signer) string {
	t.Helper()
	block, err := ssh.MarshalPrivateKey(s.(testSigner).priv, "")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "id_ed25519")
	if err := os.WriteFile(p, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// writeKnownHosts writes a known_hosts file trusting p.
func writeKnownHosts(t testing.TB, path string, p *peer) {
	t.Helper()
	host, port, _ := net.SplitHostPort(p.addr)
	line := fmt.Sprintf("[%s]:%s %s", host, port, ssh.MarshalAuthorizedKey(p.hostKey))
	if err := os.WriteFile(path, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
}

func authLine(s ssh.Signer, opts string) string {
	l := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(s.PublicKey())))
	if opts != "" {
		l = opts + " " + l
	}
	return l + "\n"
}

// subsystemScript is the "jgtest" subsystem both peers run.
const subsystemScript = "#!/bin/sh\necho subsystem-ok\nexec cat\n"

// startJumpgate runs jumpgate's own server in-process on 127.0.0.1,
// accepting JG_* variables and a "jgtest" subsystem. keyOpts are
// authorized_keys options for the client key.
func startJumpgate(t testing.TB, keyOpts string) *peer {
	t.Helper()
	dir := t.TempDir()
	p := &peer{name: "jumpgate", signer: newSigner(t), dir: dir}
	keys, script := writePeerFiles(t, dir, p.signer, keyOpts)
	srv := servertest.Start(t, func(c *server.Config) {
		c.AuthorizedKeys = keys
		c.AcceptEnv = []string{"JG_*"}
		c.Subsystems = map[string]string{"jgtest": script}
	})
	p.addr, p.hostKey, p.log = srv.Addr, srv.HostKey, srv.Log
	return p
}

// startSSHD runs Debian's sshd on 127.0.0.1, accepting JG_* variables and
// a "jgtest" subsystem.
func startSSHD(t testing.TB, keyOpts string) *peer {
	t.Helper()
	s := sshtest.StartSSHD(t,
		"AuthorizedKeysFile {dir}/authorized_keys",
		"PermitRootLogin prohibit-password",
		"LogLevel VERBOSE", // DEBUG1 leaks child debug lines into session stderr
		"AcceptEnv JG_*",
		"Subsystem jgtest {dir}/subsys.sh",
		"PrintMotd no",
		"PrintLastLog no",
		"MaxSessions 64", // subtests share one connection
	)
	p := &peer{name: "openssh", addr: s.Addr, hostKey: s.HostKey, signer: newSigner(t), dir: s.Dir, log: s.Log}
	writePeerFiles(t, s.Dir, p.signer, keyOpts)
	return p
}

// writePeerFiles writes authorized_keys for s and the subsystem script
// into dir, and returns their paths.
func writePeerFiles(t testing.TB, dir string, s ssh.Signer, keyOpts string) (keys, script string) {
	t.Helper()
	keys = filepath.Join(dir, "authorized_keys")
	if err := os.WriteFile(keys, []byte(authLine(s, keyOpts)), 0o600); err != nil {
		t.Fatal(err)
	}
	script = filepath.Join(dir, "subsys.sh")
	if err := os.WriteFile(script, []byte(subsystemScript), 0o755); err != nil {
		t.Fatal(err)
	}
	return keys, script
}

// peers returns jumpgate's server and, unless skipped, Debian's sshd.
func peers(t *testing.T, keyOpts string) []*peer {
	t.Helper()
	ps := []*peer{startJumpgate(t, keyOpts)}
	if !testing.Short() {
		if sshtest.HaveOpenSSH(t, "sshd") {
			ps = append(ps, startSSHD(t, keyOpts))
		} else {
			t.Log("sshd not installed: OpenSSH half skipped")
		}
	}
	return ps
}

// result is what one Run gave.
type result struct {
	err            error
	stdout, stderr string
	log            string
}

// run runs one session with o, filling in Stdout, Stderr and Log.
func run(t testing.TB, c sshwire.Conn, o Options) result {
	t.Helper()
	var out, errb, logb sshtest.Buffer
	o.Stdout, o.Stderr = &out, &errb
	if o.Log == nil {
		o.Log = vlog.New(&logb, vlog.Debug1)
	}
	if o.Host == "" {
		o.Host = "127.0.0.1"
	}
	if o.EscapeChar == 0 {
		o.EscapeChar = -1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := Run(ctx, c, o)
	return result{err: err, stdout: out.String(), stderr: errb.String(), log: logb.String()}
}
