package sshconn

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testSSHD is Debian's sshd running on 127.0.0.1 for one test.
type testSSHD struct {
	dir     string
	port    int
	hostPub string // the host key line, "ssh-ed25519 AAAA…"
	log     *syncBuffer
}

// startSSHD starts /usr/sbin/sshd with extra config lines ("{dir}" in
// them is the state dir), state in a
// root-owned 0700 dir under /run (StrictModes refuses /tmp). It skips
// under -short or when sshd is missing, and stops sshd by PID on cleanup.
func startSSHD(t *testing.T, extra ...string) *testSSHD {
	t.Helper()
	if testing.Short() {
		t.Skip("sshd interop test skipped under -short")
	}
	bin := "/usr/sbin/sshd"
	if _, err := os.Stat(bin); err != nil {
		t.Skip("sshd not installed")
	}
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		t.Skipf("cannot create /run/sshd (privilege separation dir): %v", err)
	}
	dir, err := os.MkdirTemp("/run", "jumpgate-test-")
	if err != nil {
		t.Skipf("no /run state dir: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	hk := filepath.Join(dir, "hostkey")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", hk).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	pub, err := os.ReadFile(hk + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(pub))
	s := &testSSHD{dir: dir, hostPub: f[0] + " " + f[1], log: &syncBuffer{}}
	cfg := append([]string{
		"HostKey " + hk,
		"ListenAddress 127.0.0.1",
		"UsePAM no",
		"PidFile none",
		"LogLevel DEBUG1",
		"KbdInteractiveAuthentication no",
		"PasswordAuthentication no",
	}, extra...)
	for i := range cfg {
		cfg[i] = strings.ReplaceAll(cfg[i], "{dir}", dir)
	}
	cfgPath := filepath.Join(dir, "sshd_config")
	if err := os.WriteFile(cfgPath, []byte(strings.Join(cfg, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for attempt := 0; ; attempt++ {
		s.port = freePort(t)
		cmd := exec.Command(bin, "-D", "-e", "-f", cfgPath, "-p", fmt.Sprint(s.port))
		cmd.Stderr = s.log
		if err := cmd.Start(); err != nil {
			t.Fatalf("start sshd: %v", err)
		}
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		t.Cleanup(func() {
			cmd.Process.Kill()
			<-done
			if t.Failed() {
				t.Logf("sshd log:\n%s", s.log)
			}
		})
		if waitPort(s.port, done) {
			return s
		}
		if attempt == 2 {
			t.Fatalf("sshd did not start:\n%s", s.log)
		}
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// waitPort waits until 127.0.0.1:port accepts or the process exits.
func waitPort(port int, exited <-chan struct{}) bool {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return false
		default:
		}
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 200*time.Millisecond)
		if err == nil {
			c.Close()
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

// addr is the dial address.
func (s *testSSHD) addr() string { return fmt.Sprintf("127.0.0.1:%d", s.port) }

// knownHosts writes a known_hosts file trusting this sshd and returns it.
func (s *testSSHD) knownHosts(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "known_hosts")
	line := fmt.Sprintf("[127.0.0.1]:%d %s\n", s.port, s.hostPub)
	if err := os.WriteFile(p, []byte(line), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
