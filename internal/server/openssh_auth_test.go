package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jumpgate/jumpgate/internal/sshtest"
)

// authCase is one login, tried with Debian's ssh against Debian's sshd
// and jumpgate's server alike: both must answer as written here.
type authCase struct {
	name string
	// line is the options of the authorized_keys line: for the user's key,
	// or with ca for the case's own CA key. "-" writes no line.
	line string
	// ca: "" logs in with a plain key; "line" with a certificate by the
	// case's CA; "trusted" by the CA in the TrustedUserCAKeys file; "self"
	// with the case's CA key itself, no certificate.
	ca string
	// sign are ssh-keygen -s options besides -s, -I and the key.
	sign   []string
	args   []string // ssh options; {echo} is an echo server's address
	cmd    string
	denied bool   // authentication must fail
	code   int    // ssh's exit code once logged in
	stdout string // substring of stdout
	stderr string // substring of stderr
}

var authCases = []authCase{
	{name: "plain key", cmd: "echo hi", stdout: "hi"},
	{name: "pty by default", args: []string{"-tt"}, cmd: "tty", stdout: "/dev/pts/"},
	{name: "no-pty", line: "no-pty", args: []string{"-tt"}, cmd: "tty", code: 255, stderr: "PTY allocation request failed"},
	{name: "restrict", line: "restrict", args: []string{"-tt"}, cmd: "tty", code: 255, stderr: "PTY allocation request failed"},
	{name: "restrict,pty", line: "restrict,pty", args: []string{"-tt"}, cmd: "tty", stdout: "/dev/pts/"},
	{name: "restrict refuses -W", line: "restrict", args: []string{"-W", "{echo}"}, code: 255, stderr: "stdio forwarding failed"},
	{name: "restrict,port-forwarding", line: "restrict,port-forwarding", args: []string{"-W", "{echo}"}},
	{name: "expired key", line: `expiry-time="20200101"`, cmd: "echo hi", denied: true},
	{name: "key expiring later", line: `expiry-time="20991231Z"`, cmd: "echo hi", stdout: "hi"},

	{name: "certificate", line: "cert-authority", ca: "line", sign: []string{"-n", "root"}, cmd: "echo hi", stdout: "hi"},
	{name: "certificate, other principal", line: "cert-authority", ca: "line", sign: []string{"-n", "alice"}, cmd: "echo hi", denied: true},
	{name: "principals= on the line", line: `cert-authority,principals="ops,alice"`, ca: "line", sign: []string{"-n", "alice"},
		cmd: "echo hi", stdout: "hi"},
	{name: "principals= not named", line: `cert-authority,principals="ops"`, ca: "line", sign: []string{"-n", "root"},
		cmd: "echo hi", denied: true},
	{name: "certificate without principals", line: "cert-authority", ca: "line", cmd: "echo hi", stdout: "hi"},
	{name: "CA line without cert-authority", line: "", ca: "line", sign: []string{"-n", "root"}, cmd: "echo hi", denied: true},
	{name: "CA key itself", line: "cert-authority", ca: "self", cmd: "echo hi", denied: true},
	{name: "expired certificate", line: "cert-authority", ca: "line", sign: []string{"-n", "root", "-V", "20200101:20200102"},
		cmd: "echo hi", denied: true},
	{name: "certificate not yet valid", line: "cert-authority", ca: "line", sign: []string{"-n", "root", "-V", "20990101:20990102"},
		cmd: "echo hi", denied: true},
	{name: "expired CA line", line: `cert-authority,expiry-time="20200101"`, ca: "line", sign: []string{"-n", "root"},
		cmd: "echo hi", denied: true},
	{name: "force-command", line: "cert-authority", ca: "line", sign: []string{"-n", "root", "-O", "force-command=echo forced"},
		cmd: "echo mine", stdout: "forced"},
	{name: "forced commands differ", line: `cert-authority,command="echo line"`, ca: "line",
		sign: []string{"-n", "root", "-O", "force-command=echo cert"}, cmd: "echo mine", denied: true},
	{name: "source-address elsewhere", line: "cert-authority", ca: "line", sign: []string{"-n", "root", "-O", "source-address=10.0.0.0/8"},
		cmd: "echo hi", denied: true},
	{name: "source-address here", line: "cert-authority", ca: "line", sign: []string{"-n", "root", "-O", "source-address=::1,127.0.0.0/8"},
		cmd: "echo hi", stdout: "hi"},
	{name: "certificate without permit-pty", line: "cert-authority", ca: "line", sign: []string{"-n", "root", "-O", "no-pty"},
		args: []string{"-tt"}, cmd: "tty", code: 255, stderr: "PTY allocation request failed"},
	{name: "line pty cannot undo the certificate's", line: "cert-authority,pty", ca: "line", sign: []string{"-n", "root", "-O", "clear"},
		args: []string{"-tt"}, cmd: "tty", code: 255, stderr: "PTY allocation request failed"},

	{name: "trusted CA", line: "-", ca: "trusted", sign: []string{"-n", "root"}, cmd: "echo hi", stdout: "hi"},
	{name: "trusted CA, other principal", line: "-", ca: "trusted", sign: []string{"-n", "alice"}, cmd: "echo hi", denied: true},
	{name: "trusted CA, no principals", line: "-", ca: "trusted", cmd: "echo hi", denied: true},
	{name: "trusted CA, force-command", line: "-", ca: "trusted", sign: []string{"-n", "root", "-O", "force-command=echo forced"},
		cmd: "echo mine", stdout: "forced"},
}

// keygen runs Debian's ssh-keygen.
func keygen(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ssh-keygen", append([]string{"-q"}, args...)...).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

func readPub(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// TestOpenSSHAuthOptions checks certificates and authorized_keys options
// with Debian's ssh and ssh-keygen, against Debian's sshd (so that the
// expectations are sshd's) and jumpgate's server on both engines.
func TestOpenSSHAuthOptions(t *testing.T) {
	sshtest.RequireOpenSSH(t, "ssh", "ssh-keygen")
	t.Parallel()
	dir := t.TempDir()
	trusted := filepath.Join(dir, "trusted_ca")
	keygen(t, "-t", "ed25519", "-N", "", "-f", trusted)
	idents := make([]string, len(authCases))
	var keys strings.Builder
	for i, c := range authCases {
		key := filepath.Join(dir, fmt.Sprintf("id%d", i))
		ca := filepath.Join(dir, fmt.Sprintf("ca%d", i))
		keygen(t, "-t", "ed25519", "-N", "", "-f", key)
		listed := key + ".pub"
		switch c.ca {
		case "line", "self":
			keygen(t, "-t", "ed25519", "-N", "", "-f", ca)
			listed = ca + ".pub"
		case "trusted":
			ca = trusted
		}
		if c.ca == "line" || c.ca == "trusted" {
			keygen(t, append(append([]string{"-s", ca, "-I", "case" + strconv.Itoa(i)}, c.sign...), key+".pub")...)
		}
		idents[i] = key
		if c.ca == "self" {
			idents[i] = ca
		}
		if c.line != "-" {
			if c.line != "" {
				keys.WriteString(c.line + " ")
			}
			keys.WriteString(readPub(t, listed) + "\n")
		}
	}
	caLine := readPub(t, trusted+".pub") + "\n"

	sshd := sshtest.StartSSHD(t, "AuthorizedKeysFile {dir}/authorized_keys", "TrustedUserCAKeys {dir}/trusted_ca",
		"PermitRootLogin prohibit-password", "AllowTcpForwarding yes")
	for name, data := range map[string]string{"authorized_keys": keys.String(), "trusted_ca": caLine} {
		if err := os.WriteFile(filepath.Join(sshd.Dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	caFile := filepath.Join(dir, "trusted_ca.pub")
	engineSrv := startServer(t, keys.String(), func(cfg *Config) { cfg.TrustedUserCAKeys = caFile })
	kh := filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(kh, []byte(sshd.KnownHostsLine()+engineSrv.knownHostsLine()), 0o600); err != nil {
		t.Fatal(err)
	}
	echo := echoServer(t, "tcp", "127.0.0.1:0").Addr().String()
	servers := []struct{ name, port string }{
		{"sshd", strconv.Itoa(sshd.Port)}, {"jumpgate", engineSrv.port},
	}
	for _, srv := range servers {
		t.Run(srv.name, func(t *testing.T) {
			t.Parallel()
			for i, c := range authCases {
				t.Run(c.name, func(t *testing.T) {
					t.Parallel()
					var args []string
					for _, a := range c.args {
						args = append(args, strings.ReplaceAll(a, "{echo}", echo))
					}
					var remote []string
					if c.cmd != "" {
						remote = []string{c.cmd}
					}
					r := runSSH(t, kh, idents[i], srv.port, args, remote...)
					if c.denied {
						if r.code != 255 || !strings.Contains(r.stderr, "Permission denied") {
							t.Fatalf("got code %d stdout %q stderr %q; want 255 and Permission denied", r.code, r.stdout, r.stderr)
						}
						return
					}
					if r.code != c.code || !strings.Contains(r.stdout, c.stdout) || !strings.Contains(r.stderr, c.stderr) {
						t.Fatalf("got code %d stdout %q stderr %q; want %d, stdout with %q, stderr with %q",
							r.code, r.stdout, r.stderr, c.code, c.stdout, c.stderr)
					}
					if c.stderr == "" && strings.Contains(r.stderr, "PTY allocation request failed") {
						t.Fatalf("stderr %q: a pty was refused", r.stderr)
					}
				})
			}
		})
	}
}

// runSSH logs in as root with identity (and its -cert.pub, if any).
func runSSH(t *testing.T, knownHosts, identity, port string, args []string, remote ...string) sshResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	all := []string{"-F", "/dev/null", "-i", identity, "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none",
		"-o", "UserKnownHostsFile=" + knownHosts, "-o", "GlobalKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=yes",
		"-o", "BatchMode=yes", "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=10", "-p", port, "-l", "root"}
	all = append(append(all, args...), "127.0.0.1")
	cmd := exec.CommandContext(ctx, "ssh", append(all, remote...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("ssh: %v", err)
	}
	return sshResult{out.String(), errb.String(), code}
}

// TestOpenSSHSFTP runs Debian's sftp against the sftp subsystem, which
// the server runs as sshd's Debian configuration does, through
// /usr/lib/openssh/sftp-server.
func TestOpenSSHSFTP(t *testing.T) {
	sshtest.RequireOpenSSH(t, "sftp")
	if _, err := os.Stat(sftpServer); err != nil {
		if os.Getenv("JUMPGATE_TEST_REQUIRE_ROOT") == "1" {
			t.Fatalf("%s is missing (scripts/deps.sh installs openssh-sftp-server)", sftpServer)
		}
		t.Skipf("%s is missing (scripts/deps.sh installs openssh-sftp-server)", sftpServer)
	}
	t.Parallel()
	dir := t.TempDir()
	key := newKey(t, dir)
	// restrict: sftp needs no pty or forwarding, as with sshd.
	ts := startServer(t, key.authLine("restrict"), nil)
	c := newSSHClient(t, key, ts)
	data := make([]byte, 3<<20)
	rand.Read(data)
	src, remote, back := filepath.Join(dir, "src"), filepath.Join(dir, "remote"), filepath.Join(dir, "back")
	if err := os.WriteFile(src, data, 0o600); err != nil {
		t.Fatal(err)
	}
	batch := fmt.Sprintf("put %s %s\nrename %s %s.2\nls -l %s.2\nget %s.2 %s\nrm %s.2\n", src, remote, remote, remote, remote, remote, back, remote)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sftp", "-F", c.config, "-P", ts.port, "-b", "-", "127.0.0.1")
	cmd.Stdin = strings.NewReader(batch)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("sftp: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), strconv.Itoa(len(data))) {
		t.Errorf("ls -l does not show the size %d:\n%s", len(data), out)
	}
	got, err := os.ReadFile(back)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("file back from sftp: %d bytes, %v; want the %d bytes sent", len(got), err, len(data))
	}
	if _, err := os.Stat(remote + ".2"); !os.IsNotExist(err) {
		t.Errorf("rm through sftp left %s.2: %v", remote, err)
	}
	if !strings.Contains(ts.log.String(), "req=subsystem") {
		t.Errorf("server log has no subsystem session:\n%s", ts.log)
	}

	t.Run("unknown subsystem", func(t *testing.T) {
		r := c.run(t, ts, "", []string{"-s"}, "no-such-subsystem")
		if r.code == 0 {
			t.Fatalf("ssh -s no-such-subsystem: code 0, stderr %q", r.stderr)
		}
	})
}
