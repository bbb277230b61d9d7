package server

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jumpgate/jumpgate/internal/sshtest"
)

// sshClient drives Debian's ssh(1) against in-process servers, with host
// keys checked against a known_hosts file written beforehand.
type sshClient struct {
	config string
	key    testKey
}

func newSSHClient(t *testing.T, key testKey, servers ...*testServer) *sshClient {
	t.Helper()
	dir := t.TempDir()
	kh := filepath.Join(dir, "known_hosts")
	var b strings.Builder
	for _, s := range servers {
		b.WriteString(s.knownHostsLine())
	}
	if err := os.WriteFile(kh, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "ssh_config")
	conf := fmt.Sprintf(`Host *
	User root
	IdentityFile %s
	IdentitiesOnly yes
	IdentityAgent none
	UserKnownHostsFile %s
	GlobalKnownHostsFile /dev/null
	StrictHostKeyChecking yes
	BatchMode yes
	KexAlgorithms curve25519-sha256
	ConnectTimeout 10
	LogLevel ERROR
`, key.path, kh)
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return &sshClient{config: cfg, key: key}
}

// command builds an ssh command line to ts; args go before the host,
// remote after it.
func (c *sshClient) command(ctx context.Context, ts *testServer, args []string, remote ...string) *exec.Cmd {
	all := append([]string{"-F", c.config, "-p", ts.port}, args...)
	all = append(all, "127.0.0.1")
	all = append(all, remote...)
	return exec.CommandContext(ctx, "ssh", all...)
}

type sshResult struct {
	stdout, stderr string
	code           int
}

func (c *sshClient) run(t *testing.T, ts *testServer, stdin string, args []string, remote ...string) sshResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := c.command(ctx, ts, args, remote...)
	var out, errb bytes.Buffer
	cmd.Stdin = strings.NewReader(stdin)
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

// background starts ssh (for -N forwards) and returns a scanner over its
// stderr; the process is killed in cleanup.
func (c *sshClient) background(t *testing.T, ts *testServer, args []string) *bufio.Scanner {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := c.command(ctx, ts, args)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
	})
	return bufio.NewScanner(stderr)
}

// dialRetry waits for a forward to come up.
func dialRetry(t *testing.T, network, addr string) net.Conn {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial(network, addr)
		if err == nil {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("forward %s never came up: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestOpenSSHExec(t *testing.T) {
	sshtest.RequireOpenSSH(t, "ssh")
	t.Parallel()
	key := newKey(t, t.TempDir())
	ts := startServer(t, key.authLine(""), nil)
	c := newSSHClient(t, key, ts)
	tests := []struct {
		name, stdin, cmd string
		stdout, stderr   string
		code             int
		stderrContains   string
	}{
		{name: "ok", cmd: "echo out; echo err >&2", stdout: "out\n", stderr: "err\n"},
		{name: "status 3", cmd: "echo x; exit 3", stdout: "x\n", code: 3},
		{name: "status 200", cmd: "exit 200", code: 200},
		{name: "status 255", cmd: "exit 255", code: 255},
		{name: "stdin and EOF", stdin: "hello\nworld\n", cmd: "cat; echo done", stdout: "hello\nworld\ndone\n"},
		{name: "stdin counted", stdin: strings.Repeat("x", 300000), cmd: "wc -c", stdout: "300000\n"},
		{name: "big output", cmd: "head -c 1000000 /dev/zero | tr '\\0' y | wc -c; head -c 200000 /dev/zero", stdout: "1000000\n" + strings.Repeat("\x00", 200000)},
		{name: "environment", cmd: `echo "$USER $LOGNAME $HOME $SHELL"; echo "$SSH_CONNECTION" | wc -w; pwd; echo "${SSH_TTY:-notty}"`,
			stdout: "root root /root /bin/sh\n4\n/root\nnotty\n"},
		{name: "killed by signal", cmd: "echo before; kill -TERM $$", stdout: "before\n", code: 255},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := c.run(t, ts, tt.stdin, nil, tt.cmd)
			if r.stdout != tt.stdout || r.code != tt.code || tt.stderr != "" && r.stderr != tt.stderr {
				t.Errorf("got stdout %.200q stderr %q code %d; want stdout %.200q stderr %q code %d",
					r.stdout, r.stderr, r.code, tt.stdout, tt.stderr, tt.code)
			}
		})
	}
}

func TestOpenSSHPTY(t *testing.T) {
	sshtest.RequireOpenSSH(t, "ssh")
	t.Parallel()
	key := newKey(t, t.TempDir())
	ts := startServer(t, key.authLine(""), nil)
	c := newSSHClient(t, key, ts)
	r := c.run(t, ts, "", []string{"-tt"}, "tty; stty size; echo $TERM; echo $SSH_TTY")
	if r.code != 0 {
		t.Fatalf("ssh -tt: code %d, stderr %q", r.code, r.stderr)
	}
	lines := strings.Split(strings.ReplaceAll(r.stdout, "\r", ""), "\n")
	if len(lines) < 4 || !regexp.MustCompile(`^/dev/pts/\d+$`).MatchString(lines[0]) || lines[3] != lines[0] {
		t.Fatalf("tty/SSH_TTY output = %q", r.stdout)
	}
	if !regexp.MustCompile(`^\d+ \d+$`).MatchString(lines[1]) {
		t.Errorf("stty size = %q", lines[1])
	}

	t.Run("login shell", func(t *testing.T) {
		// A shell request: stdin feeds the interactive shell.
		r := c.run(t, ts, "echo shell-$((6*7))\nexit 5\n", []string{"-tt"})
		if r.code != 5 || !strings.Contains(r.stdout, "shell-42") {
			t.Fatalf("got code %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("shell without pty", func(t *testing.T) {
		r := c.run(t, ts, "echo $0; tty; exit 4\n", []string{"-T"})
		if r.code != 4 || !strings.HasPrefix(r.stdout, "-sh\nnot a tty") {
			t.Fatalf("got code %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
		}
	})
}

func TestOpenSSHEnv(t *testing.T) {
	sshtest.RequireOpenSSH(t, "ssh")
	t.Parallel()
	key := newKey(t, t.TempDir())
	ts := startServer(t, key.authLine(""), func(c *Config) { c.AcceptEnv = []string{"JG_*", "!JG_NO"} })
	c := newSSHClient(t, key, ts)
	r := c.run(t, ts, "", []string{"-o", "SetEnv=LANG=C.UTF-8 LC_FOO=bar JG_YES=1 JG_NO=1 OTHER=1"},
		`echo "$LANG|$LC_FOO|$JG_YES|${JG_NO-unset}|${OTHER-unset}"`)
	if want := "C.UTF-8|bar|1|unset|unset\n"; r.stdout != want {
		t.Fatalf("env = %q, want %q (stderr %q)", r.stdout, want, r.stderr)
	}
}

func TestOpenSSHForwarding(t *testing.T) {
	sshtest.RequireOpenSSH(t, "ssh")
	t.Parallel()
	key := newKey(t, t.TempDir())
	ts := startServer(t, key.authLine(""), nil)
	c := newSSHClient(t, key, ts)
	echo := echoServer(t, "tcp", "127.0.0.1:0")

	t.Run("L", func(t *testing.T) {
		t.Parallel()
		lp := strconv.Itoa(sshtest.FreePort(t))
		c.background(t, ts, []string{"-N", "-o", "ExitOnForwardFailure=yes", "-L", lp + ":" + echo.Addr().String()})
		expectEcho(t, dialRetry(t, "tcp", "127.0.0.1:"+lp))
	})
	t.Run("L streamlocal", func(t *testing.T) {
		t.Parallel()
		sock := filepath.Join(t.TempDir(), "echo.sock")
		echoServer(t, "unix", sock)
		lp := strconv.Itoa(sshtest.FreePort(t))
		c.background(t, ts, []string{"-N", "-L", lp + ":" + sock})
		expectEcho(t, dialRetry(t, "tcp", "127.0.0.1:"+lp))
	})
	t.Run("R fixed port", func(t *testing.T) {
		t.Parallel()
		rp := strconv.Itoa(sshtest.FreePort(t))
		c.background(t, ts, []string{"-N", "-R", rp + ":" + echo.Addr().String()})
		expectEcho(t, dialRetry(t, "tcp", "127.0.0.1:"+rp))
	})
	t.Run("R port 0", func(t *testing.T) {
		t.Parallel()
		sc := c.background(t, ts, []string{"-N", "-o", "LogLevel=INFO", "-R", "0:" + echo.Addr().String()})
		re := regexp.MustCompile(`Allocated port (\d+) for remote forward`)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				conn, err := net.Dial("tcp", "127.0.0.1:"+m[1])
				if err != nil {
					t.Fatal(err)
				}
				expectEcho(t, conn)
				return
			}
		}
		t.Fatal("ssh never printed the allocated port")
	})
	t.Run("R streamlocal", func(t *testing.T) {
		t.Parallel()
		sock := filepath.Join(t.TempDir(), "remote.sock")
		c.background(t, ts, []string{"-N", "-R", sock + ":" + echo.Addr().String()})
		expectEcho(t, dialRetry(t, "unix", sock))
	})
	t.Run("W", func(t *testing.T) {
		t.Parallel()
		r := c.run(t, ts, "through -W\n", []string{"-W", echo.Addr().String()})
		if r.code != 0 || r.stdout != "through -W\n" {
			t.Fatalf("ssh -W: code %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("W refused target", func(t *testing.T) {
		t.Parallel()
		r := c.run(t, ts, "", []string{"-W", "127.0.0.1:" + strconv.Itoa(sshtest.FreePort(t))})
		if r.code != 255 {
			t.Fatalf("ssh -W to a closed port: code %d, want 255", r.code)
		}
	})
}

func TestOpenSSHJump(t *testing.T) {
	sshtest.RequireOpenSSH(t, "ssh")
	t.Parallel()
	key := newKey(t, t.TempDir())
	jump := startServer(t, key.authLine(""), nil)
	target := startServer(t, key.authLine(""), nil)
	c := newSSHClient(t, key, jump, target)
	r := c.run(t, target, "", []string{"-J", "root@127.0.0.1:" + jump.port}, "echo via jump; echo $SSH_CONNECTION")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "via jump\n127.0.0.1 ") {
		t.Fatalf("ssh -J: code %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(jump.log.String(), "direct-tcpip") {
		t.Errorf("jump server log has no direct-tcpip:\n%s", jump.log)
	}
}

func TestOpenSSHExitSignal(t *testing.T) {
	sshtest.RequireOpenSSH(t, "ssh")
	t.Parallel()
	key := newKey(t, t.TempDir())
	ts := startServer(t, key.authLine(""), nil)
	c := newSSHClient(t, key, ts)
	// ssh(1) exits 255 without an exit-status; at -v it names the
	// exit-signal request it got (OpenSSH 9.2 prints nothing else).
	r := c.run(t, ts, "", []string{"-v"}, "echo before; kill -TERM $$")
	if r.code != 255 || r.stdout != "before\n" || !strings.Contains(r.stderr, "rtype exit-signal") {
		t.Fatalf("got code %d stdout %q stderr %q; want 255, \"before\\n\" and an exit-signal", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(ts.log.String(), "signal=TERM") {
		t.Errorf("server log does not name the signal TERM")
	}
}
