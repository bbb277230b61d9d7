package sshtest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/jumpgate/jumpgate/internal/nstest"
)

// lookOpenSSH finds one of OpenSSH's programs in PATH or, for sshd, in
// /usr/sbin, which a user's PATH often lacks.
func lookOpenSSH(prog string) (string, error) {
	p, err := exec.LookPath(prog)
	if err == nil {
		return p, nil
	}
	if p, err2 := exec.LookPath(filepath.Join("/usr/sbin", prog)); err2 == nil {
		return p, nil
	}
	return "", err
}

// HaveOpenSSH reports whether OpenSSH's programs progs (ssh and sshd when
// none are named) are installed. A missing one fails t when
// [nstest.RequireRootEnv] is 1: an interop test that silently skips in CI
// does not exist.
func HaveOpenSSH(t testing.TB, progs ...string) bool {
	t.Helper()
	for _, p := range openSSHProgs(progs) {
		if _, err := lookOpenSSH(p); err != nil {
			if os.Getenv(nstest.RequireRootEnv) == "1" {
				t.Fatalf("OpenSSH's %s is not installed, and %s=1 forbids skipping (scripts/deps.sh installs it)", p, nstest.RequireRootEnv)
			}
			return false
		}
	}
	return true
}

// RequireOpenSSH skips t under -short, or when OpenSSH's progs (ssh and
// sshd when none are named) are not installed; see [HaveOpenSSH].
func RequireOpenSSH(t testing.TB, progs ...string) {
	t.Helper()
	if testing.Short() {
		t.Skip("OpenSSH interop test skipped under -short")
	}
	if !HaveOpenSSH(t, progs...) {
		t.Skipf("OpenSSH (%s) is not installed", strings.Join(openSSHProgs(progs), ", "))
	}
}

func openSSHProgs(progs []string) []string {
	if len(progs) == 0 {
		return []string{"ssh", "sshd"}
	}
	return progs
}

// SSHD is Debian's sshd running on 127.0.0.1 for one test.
type SSHD struct {
	Dir     string        // state dir: root-owned 0700 under /run (StrictModes refuses /tmp)
	Addr    string        // 127.0.0.1:port
	Port    int           // the port of Addr
	HostKey ssh.PublicKey // its ed25519 host key
	Log     *Buffer       // its log (sshd -e), printed when the test fails
	PID     int           // the listening sshd: every session's processes descend from it
}

// StartSSHD starts sshd with config lines and then a base configuration
// (loopback, no PAM, no passwords); "{dir}" in a line is [SSHD.Dir], where
// the test may write authorized_keys and the like once StartSSHD returns.
// Lines must not open a Match block, which would swallow the base. It
// skips t as [RequireOpenSSH] does, and stops sshd by PID on cleanup.
func StartSSHD(t testing.TB, config ...string) *SSHD {
	t.Helper()
	RequireOpenSSH(t, "sshd", "ssh-keygen")
	bin, _ := lookOpenSSH("sshd")
	keygen, _ := lookOpenSSH("ssh-keygen")
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		t.Skipf("cannot create /run/sshd (privilege separation dir): %v", err)
	}
	dir, err := os.MkdirTemp("/run", "jumpgate-test-")
	if err != nil {
		t.Skipf("no /run state dir: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	hk := filepath.Join(dir, "hostkey")
	if out, err := exec.Command(keygen, "-q", "-t", "ed25519", "-N", "", "-f", hk).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	pub, err := os.ReadFile(hk + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	hostKey, _, _, _, err := ssh.ParseAuthorizedKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	s := &SSHD{Dir: dir, HostKey: hostKey, Log: &Buffer{}}
	// The base follows the test's lines: sshd keeps the first value of a
	// keyword, so the test's win.
	lines := append([]string{"HostKey " + hk}, config...)
	lines = append(lines, "ListenAddress 127.0.0.1", "UsePAM no", "PidFile none",
		"KbdInteractiveAuthentication no", "PasswordAuthentication no")
	for i := range lines {
		lines[i] = strings.ReplaceAll(lines[i], "{dir}", dir)
	}
	cfgPath := filepath.Join(dir, "sshd_config")
	if err := os.WriteFile(cfgPath, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Another test may take the free port before sshd binds it: retry.
	for attempt := 0; ; attempt++ {
		s.Port = FreePort(t)
		s.Addr = fmt.Sprintf("127.0.0.1:%d", s.Port)
		cmd := exec.Command(bin, "-D", "-e", "-f", cfgPath, "-p", fmt.Sprint(s.Port))
		cmd.Stderr = s.Log
		if err := cmd.Start(); err != nil {
			t.Fatalf("start sshd: %v", err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		t.Cleanup(func() {
			cmd.Process.Kill()
			<-exited
			if t.Failed() {
				t.Logf("sshd log:\n%s", s.Log)
			}
		})
		if waitPort(s.Addr, exited) {
			s.PID = cmd.Process.Pid
			return s
		}
		if attempt == 2 {
			t.Fatalf("sshd did not start:\n%s", s.Log)
		}
	}
}

// KnownHostsLine is the known_hosts line for the server, newline included.
func (s *SSHD) KnownHostsLine() string {
	return fmt.Sprintf("[127.0.0.1]:%d %s", s.Port, ssh.MarshalAuthorizedKey(s.HostKey))
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
