package server

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jumpgate/jumpgate/internal/nstest"
	"github.com/jumpgate/jumpgate/internal/sshtest"
	"github.com/jumpgate/jumpgate/internal/sshwire"
)

// TestRunsAsUser: a root server runs a non-root user's commands with
// that user's uid, gid, supplementary groups, home and terminal.
func TestRunsAsUser(t *testing.T) {
	nstest.RequireRoot(t)
	t.Parallel()
	home, err := os.MkdirTemp("/run", "jumpgate-test-home-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(home) })
	if err := os.Chown(home, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	key := newKey(t, t.TempDir())
	nobody := func(name string) (*User, error) {
		return &User{Name: name, UID: 65534, GID: 65534, Home: home, Shell: "/bin/sh", Groups: []uint32{65534, 100}}, nil
	}
	ts := startServer(t, key.authLine(""), func(c *Config) { c.LookupUser = nobody })
	c := ts.mustDial(t, key.signer)

	s, _ := sshwire.NewSession(context.Background(), c)
	out, err := s.CombinedOutput(`id -u; id -g; id -G; pwd; echo $HOME $USER; touch mine && stat -c %u mine`)
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	want := "65534\n65534\n65534 100\n" + home + "\n" + home + " root\n65534\n"
	if string(out) != want {
		t.Errorf("got:\n%s\nwant:\n%s", out, want)
	}

	s, _ = sshwire.NewSession(context.Background(), c)
	if err := s.RequestPty("xterm", 24, 80, nil); err != nil {
		t.Fatal(err)
	}
	out, err = s.Output(`stat -c '%u %a' "$(tty)"`)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(out)); got != "65534 620" {
		t.Errorf("tty owner and mode %q, want \"65534 620\"", got)
	}

	// Unix sockets would be made or reached with root's rights: refused.
	if _, err := sshwire.Dial(context.Background(), c, "unix", filepath.Join(home, "x.sock")); err == nil {
		t.Error("direct-streamlocal allowed for a non-root user of a root server")
	}
	if _, err := listenRemote(c, "127.0.0.1:1023"); err == nil {
		t.Error("non-root user may listen on a privileged port")
	}
}

func TestAgentForwarding(t *testing.T) {
	sshtest.RequireOpenSSH(t, "ssh")
	for _, p := range []string{"ssh-agent", "ssh-add"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("%s not installed", p)
		}
	}
	t.Parallel()
	dir := t.TempDir()
	key := newKey(t, dir)
	ts := startServer(t, key.authLine(""), nil)
	c := newSSHClient(t, key, ts)

	sock := filepath.Join(dir, "agent.sock")
	ctx, cancel := context.WithCancel(context.Background())
	agent := exec.CommandContext(ctx, "ssh-agent", "-D", "-a", sock)
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); agent.Wait() })
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("ssh-agent did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	add := exec.Command("ssh-add", key.path)
	add.Env = append(os.Environ(), "SSH_AUTH_SOCK="+sock)
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("ssh-add: %v: %s", err, out)
	}
	cmd := c.command(context.Background(), ts, []string{"-A", "-o", "IdentityAgent=" + sock}, `ssh-add -l; echo "$SSH_AUTH_SOCK"; stat -c %a "$(dirname "$SSH_AUTH_SOCK")"`)
	cmd.Env = append(os.Environ(), "SSH_AUTH_SOCK="+sock)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("ssh -A: %v: %s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], "ED25519") || lines[2] != "700" {
		t.Fatalf("forwarded agent: %q", out)
	}
	// The session ends on our side just after ssh(1) exits.
	deadline = time.Now().Add(5 * time.Second)
	for {
		if _, err := os.Stat(filepath.Dir(lines[1])); os.IsNotExist(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("agent socket %s left behind after the session", lines[1])
		}
		time.Sleep(10 * time.Millisecond)
	}
}
