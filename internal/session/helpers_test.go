package session

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/jumpgate/jumpgate/internal/server"
	"github.com/jumpgate/jumpgate/internal/sshwire"
	"github.com/jumpgate/jumpgate/internal/vlog"
	"github.com/jumpgate/jumpgate/internal/xssh"
)

// syncBuffer collects output written from several goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitFor waits until the buffer contains s.
func (b *syncBuffer) waitFor(t testing.TB, s string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(b.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %q; have %q", s, b.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// peer is an SSH server the sessions run against.
type peer struct {
	name    string
	addr    string
	hostKey ssh.PublicKey
	signer  ssh.Signer
	dir     string // state dir (scripts live here)
	log     *syncBuffer
	conns   sync.Map // net.Conn → struct{}: for cutting connections
}

// dial connects and authenticates a client, closed in cleanup.
func (p *peer) dial(t testing.TB) sshwire.Conn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", p.addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c, err := xssh.Client(nc, p.addr, &sshwire.ClientConfig{
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
	hk := newSigner(t)
	p := &peer{name: "jumpgate", hostKey: hk.PublicKey(), signer: newSigner(t), dir: dir, log: &syncBuffer{}}
	keys := filepath.Join(dir, "authorized_keys")
	if err := os.WriteFile(keys, []byte(authLine(p.signer, keyOpts)), 0o600); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(dir, "subsys.sh")
	if err := os.WriteFile(script, []byte(subsystemScript), 0o755); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = ln.Addr().String()
	cfg := server.Config{
		HostKeys:       []ssh.Signer{hk},
		AuthorizedKeys: keys,
		AcceptEnv:      []string{"JG_*"},
		Subsystems:     map[string]string{"jgtest": script},
		LookupUser: func(name string) (*server.User, error) {
			u, err := server.LookupUser(name)
			if err != nil {
				return nil, err
			}
			u.Shell = "/bin/sh" // not the machine's bash and its rc files
			return u, nil
		},
	}
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
	})
	return p
}

// needOpenSSH skips under -short or without sshd.
func needOpenSSH(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("OpenSSH interop test skipped under -short")
	}
	if _, err := os.Stat("/usr/sbin/sshd"); err != nil {
		t.Skip("sshd not installed")
	}
}

// startSSHD runs Debian's sshd on 127.0.0.1 with its state in a
// root-owned 0700 dir under /run (StrictModes refuses /tmp), accepting
// JG_* variables and a "jgtest" subsystem; it is stopped by PID.
func startSSHD(t testing.TB, keyOpts string) *peer {
	t.Helper()
	needOpenSSH(t)
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		t.Skipf("cannot create /run/sshd: %v", err)
	}
	dir, err := os.MkdirTemp("/run", "jumpgate-test-")
	if err != nil {
		t.Skipf("no /run state dir: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	hkPath := filepath.Join(dir, "hostkey")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", hkPath).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	pub, err := os.ReadFile(hkPath + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	hk, _, _, _, err := ssh.ParseAuthorizedKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	p := &peer{name: "openssh", hostKey: hk, signer: newSigner(t), dir: dir, log: &syncBuffer{}}
	keys := filepath.Join(dir, "authorized_keys")
	if err := os.WriteFile(keys, []byte(authLine(p.signer, keyOpts)), 0o600); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(dir, "subsys.sh")
	if err := os.WriteFile(script, []byte(subsystemScript), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := strings.Join([]string{
		"HostKey " + hkPath,
		"ListenAddress 127.0.0.1",
		"AuthorizedKeysFile " + keys,
		"PermitRootLogin prohibit-password",
		"UsePAM no",
		"PidFile none",
		"LogLevel VERBOSE", // DEBUG1 leaks child debug lines into session stderr
		"KbdInteractiveAuthentication no",
		"PasswordAuthentication no",
		"AcceptEnv JG_*",
		"Subsystem jgtest " + script,
		"PrintMotd no",
		"PrintLastLog no",
		"MaxSessions 64", // subtests share one connection
		"",
	}, "\n")
	cfgPath := filepath.Join(dir, "sshd_config")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	for attempt := 0; ; attempt++ {
		port := freePort(t)
		cmd := exec.Command("/usr/sbin/sshd", "-D", "-e", "-f", cfgPath, "-p", fmt.Sprint(port))
		cmd.Stderr = p.log
		if err := cmd.Start(); err != nil {
			t.Fatalf("start sshd: %v", err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		t.Cleanup(func() {
			cmd.Process.Kill()
			<-exited
			if t.Failed() {
				t.Logf("sshd log:\n%s", p.log)
			}
		})
		p.addr = fmt.Sprintf("127.0.0.1:%d", port)
		if waitPort(p.addr, exited) {
			return p
		}
		if attempt == 2 {
			t.Fatalf("sshd did not start:\n%s", p.log)
		}
	}
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// waitPort waits until addr accepts or the process exits.
func waitPort(addr string, exited <-chan struct{}) bool {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return false
		default:
		}
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

// peers returns jumpgate's server and, unless skipped, Debian's sshd.
func peers(t *testing.T, keyOpts string) []*peer {
	t.Helper()
	ps := []*peer{startJumpgate(t, keyOpts)}
	if !testing.Short() {
		if _, err := os.Stat("/usr/sbin/sshd"); err == nil {
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
	var out, errb, logb syncBuffer
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
