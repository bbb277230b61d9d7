package cli

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/jumpgate/jumpgate/internal/engine"
	"github.com/jumpgate/jumpgate/internal/iostreams"
	"github.com/jumpgate/jumpgate/internal/sshwire"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestServeFlags(t *testing.T) {
	t.Parallel()
	hk := filepath.Join(t.TempDir(), "host_key")
	tests := []struct {
		name string
		args []string
		code int
		err  string
	}{
		{"no host key", []string{"--listen", "127.0.0.1:0"}, exitUsage, "no host key given"},
		{"missing host key without init", []string{"--host-key", "/nonexistent/key"}, exitConnection, "add --init"},
		{"bad flag", []string{"--frob"}, exitUsage, "unknown flag"},
		{"stray argument", []string{"extra"}, exitUsage, `serve takes no arguments, got ["extra"]`},
		{"bad max auth tries", []string{"--host-key", "k", "--max-auth-tries", "0"}, exitUsage, "at least 1"},
		{"unreadable CA keys", []string{"--init", "--host-key", hk, "--listen", "127.0.0.1:0", "--trusted-user-ca-keys", "/nonexistent/ca"},
			exitConnection, "trusted user CA keys: open /nonexistent/ca"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ios, _, errOut := iostreams.Test("")
			code := Main(context.Background(), append([]string{"jumpgate", "serve"}, tt.args...), ios)
			if code != tt.code || !strings.Contains(errOut.String(), tt.err) {
				t.Errorf("code %d, stderr %q; want %d and %q", code, errOut, tt.code, tt.err)
			}
		})
	}
}

// TestServeLifecycle: --init makes a usable 0600 OpenSSH key, the
// listening line and pid file appear once listening, and cancelling
// ends the server cleanly, removing the pid file.
func TestServeLifecycle(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	hk := filepath.Join(dir, "host_key")
	pid := filepath.Join(dir, "pid")
	errOut := &lockedBuffer{}
	e := &env{io: &iostreams.IOStreams{In: strings.NewReader(""), Out: &bytes.Buffer{}, ErrOut: errOut}, getenv: os.Getenv, argv0: "jumpgate"}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- runServe(ctx, e, []string{"--init", "--host-key", hk, "--listen", "127.0.0.1:0", "--pid-file", pid,
			"--authorized-keys", filepath.Join(dir, "authorized_keys")})
	}()
	re := regexp.MustCompile(`jumpgate serve: listening on (127\.0\.0\.1:\d+)\n`)
	deadline := time.Now().Add(10 * time.Second)
	var addr string
	for addr == "" {
		if m := re.FindStringSubmatch(errOut.String()); m != nil {
			addr = m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("no listening line; stderr %q", errOut)
		}
		time.Sleep(10 * time.Millisecond)
	}
	st, err := os.Stat(hk)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("host key: %v, mode %v; want 0600", err, st.Mode())
	}
	data, _ := os.ReadFile(hk)
	signer, err := ssh.ParsePrivateKey(data)
	if err != nil || signer.PublicKey().Type() != ssh.KeyAlgoED25519 || !bytes.Contains(data, []byte("OPENSSH PRIVATE KEY")) {
		t.Fatalf("host key is not an OpenSSH ed25519 key: %v", err)
	}
	pubLine, _ := os.ReadFile(hk + ".pub")
	if pub, _, _, _, err := ssh.ParseAuthorizedKey(pubLine); err != nil || !bytes.Equal(pub.Marshal(), signer.PublicKey().Marshal()) {
		t.Fatalf("host_key.pub does not match: %v", err)
	}
	if b, err := os.ReadFile(pid); err != nil || strings.TrimSpace(string(b)) != strconv.Itoa(os.Getpid()) {
		t.Fatalf("pid file: %q %v", b, err)
	}
	// The server answers with its host key.
	var seen ssh.PublicKey
	_, dialErr := engine.Dial("tcp", addr, 5*time.Second, &sshwire.ClientConfig{User: "root", HostKeyCallback: func(_ string, _ net.Addr, k ssh.PublicKey) error {
		seen = k
		return nil
	}})
	if seen == nil || !bytes.Equal(seen.Marshal(), signer.PublicKey().Marshal()) {
		t.Fatalf("server presented another host key %v (dial: %v)", seen, dialErr)
	}
	// The command line, configured as ssh(1) 9.2 by default, offers the
	// engine's post-quantum hybrid first, and the server takes it.
	host, port, _ := net.SplitHostPort(addr)
	cerr := &lockedBuffer{}
	cios := &iostreams.IOStreams{In: strings.NewReader(""), Out: &bytes.Buffer{}, ErrOut: cerr}
	Main(ctx, []string{"ssh", "-v", "-F", "/dev/null", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
		"-o", "UserKnownHostsFile=/dev/null", "-o", "GlobalKnownHostsFile=/dev/null", "-o", "IdentityAgent=none",
		"-p", port, host, "true"}, cios)
	if !strings.Contains(cerr.String(), "kex: algorithm: mlkem768x25519-sha256") {
		t.Errorf("ssh against jumpgate serve did not use mlkem768x25519-sha256:\n%s", cerr)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("runServe after cancel: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("runServe did not return after cancel")
	}
	if _, err := os.Stat(pid); !os.IsNotExist(err) {
		t.Errorf("pid file left behind: %v", err)
	}
}
