package server

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/jumpgate/jumpgate/internal/sshwire"
)

func TestPTYSizeModesAndWindowChange(t *testing.T) {
	t.Parallel()
	key := newKey(t, t.TempDir())
	ts := startServer(t, key.authLine(""), nil)
	c := ts.mustDial(t, key.signer)
	s, err := sshwire.NewSession(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.RequestPty("vt100", 40, 100, sshwire.TerminalModes{ssh.ECHO: 0, ssh.ICRNL: 1}); err != nil {
		t.Fatal(err)
	}
	stdin, _ := s.StdinPipe()
	stdout, _ := s.StdoutPipe()
	if err := s.Start(`stty size; stty -a | grep -o -- '-echo ' | head -1; echo $TERM; read x; stty size`); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(stdout)
	want := []string{"40 100", "-echo", "vt100"}
	for _, w := range want {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(line); got != w {
			t.Fatalf("got %q, want %q", got, w)
		}
	}
	if err := s.WindowChange(50, 120); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // let the ioctl land before the shell reads on
	io.WriteString(stdin, "\n")
	rest, _ := io.ReadAll(r)
	if got := strings.TrimSpace(string(rest)); got != "50 120" {
		t.Fatalf("after window-change: %q, want \"50 120\"", got)
	}
	if err := s.Wait(); err != nil {
		t.Fatal(err)
	}
}

func TestSignalRequest(t *testing.T) {
	t.Parallel()
	key := newKey(t, t.TempDir())
	ts := startServer(t, key.authLine(""), nil)
	c := ts.mustDial(t, key.signer)
	s, err := sshwire.NewSession(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	stdout, _ := s.StdoutPipe()
	if err := s.Start("echo ready; exec sleep 30"); err != nil {
		t.Fatal(err)
	}
	bufio.NewReader(stdout).ReadString('\n')
	time.Sleep(50 * time.Millisecond) // the exec into sleep
	if err := s.Signal(sshwire.SIGINT); err != nil {
		t.Fatal(err)
	}
	var ee *sshwire.ExitError
	if err := s.Wait(); !errors.As(err, &ee) || ee.Signal() != "INT" {
		t.Fatalf("Wait = %v, want exit-signal INT", err)
	}
}

func TestGlobalRequests(t *testing.T) {
	t.Parallel()
	key := newKey(t, t.TempDir())
	ts := startServer(t, key.authLine(""), nil)
	c := ts.mustDial(t, key.signer)

	ok, _, err := c.SendRequest(context.Background(), "keepalive@openssh.com", true, nil)
	if err != nil || ok {
		t.Errorf("keepalive@openssh.com: ok=%v err=%v, want a failure reply like sshd", ok, err)
	}

	echo := echoServer(t, "tcp", "127.0.0.1:0")
	ln, err := listenRemote(c, "127.0.0.1:0")
	if err != nil {
		t.Fatalf("tcpip-forward port 0: %v", err)
	}
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", echo.Addr().String())
			if err != nil {
				in.Close()
				return
			}
			go pipe(in.(halfCloser), out.(halfCloser))
		}
	}()
	addr := ln.Addr().String()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	expectEcho(t, conn)
	if err := ln.Close(); err != nil {
		t.Fatalf("cancel-tcpip-forward: %v", err)
	}
	if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		// A dial from the freed port's own number connects to itself
		// (TCP simultaneous open): a flake seen once in CI, not a
		// listener left open.
		self := conn.LocalAddr().String() == conn.RemoteAddr().String()
		conn.Close()
		if !self {
			t.Errorf("%s still accepts after cancel-tcpip-forward", addr)
		}
	}

	if _, _, err := c.SendRequest(context.Background(), "no-more-sessions@openssh.com", true, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := sshwire.NewSession(context.Background(), c); err == nil {
		t.Error("session opened after no-more-sessions@openssh.com")
	}
}

func TestUnknownChannelAndSubsystem(t *testing.T) {
	t.Parallel()
	key := newKey(t, t.TempDir())
	ts := startServer(t, key.authLine(""), func(c *Config) { c.Subsystems = map[string]string{"hello": "echo hello-subsystem"} })
	c := ts.mustDial(t, key.signer)
	if _, _, err := c.OpenChannel(context.Background(), "tun@openssh.com", nil); err == nil {
		t.Error("tun@openssh.com accepted without a handler")
	}
	s2, err := sshwire.NewSession(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := s2.StdoutPipe() // RequestSubsystem does not start the session's copying
	if err := s2.RequestSubsystem("hello"); err != nil {
		t.Fatal(err)
	}
	if got, _ := io.ReadAll(out); string(got) != "hello-subsystem\n" {
		t.Errorf("subsystem output %q", got)
	}
	s3, _ := sshwire.NewSession(context.Background(), c)
	if err := s3.RequestSubsystem("nope"); err == nil {
		t.Error("unknown subsystem accepted")
	}
}

// TestRestrictions checks authorized_keys options end to end.
func TestRestrictions(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	echo := echoServer(t, "tcp", "127.0.0.1:0")
	other := echoServer(t, "tcp", "127.0.0.1:0")
	_, echoPort, _ := net.SplitHostPort(echo.Addr().String())
	keys := map[string]testKey{}
	var lines strings.Builder
	add := func(name, opts string) {
		k := newKey(t, dir)
		keys[name] = k
		lines.WriteString(k.authLine(opts))
	}
	add("plain", "")
	add("nopty", "no-pty")
	add("restrict", "restrict")
	add("restrictpty", "restrict,pty")
	add("permitopen", fmt.Sprintf(`permitopen="127.0.0.1:%s"`, echoPort))
	add("command", `command="echo forced:$SSH_ORIGINAL_COMMAND"`)
	add("fromok", `from="127.0.0.0/8"`)
	add("fromno", `from="10.0.0.0/8,192.0.2.*"`)
	add("fromneg", `from="*,!127.0.0.1"`)
	add("env", `environment="JG_FROM_KEY=yes"`)
	add("nofwd", "no-port-forwarding")
	add("unknown", "frobnicate")
	ts := startServer(t, lines.String(), nil)

	canPTY := func(t *testing.T, c sshwire.Conn) bool {
		s, err := sshwire.NewSession(context.Background(), c)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		return s.RequestPty("xterm", 24, 80, nil) == nil
	}
	canOpen := func(c sshwire.Conn, addr string) bool {
		conn, err := sshwire.Dial(context.Background(), c, "tcp", addr)
		if err == nil {
			conn.Close()
		}
		return err == nil
	}
	canListen := func(c sshwire.Conn) bool {
		ln, err := listenRemote(c, "127.0.0.1:0")
		if err == nil {
			ln.Close()
		}
		return err == nil
	}
	output := func(t *testing.T, c sshwire.Conn, cmd string) string {
		s, err := sshwire.NewSession(context.Background(), c)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		out, err := s.CombinedOutput(cmd)
		if err != nil {
			t.Fatalf("%q: %v (%s)", cmd, err, out)
		}
		return string(out)
	}

	tests := []struct {
		key   string
		login bool
		check func(t *testing.T, c sshwire.Conn)
	}{
		{"plain", true, func(t *testing.T, c sshwire.Conn) {
			if !canPTY(t, c) || !canOpen(c, other.Addr().String()) || !canListen(c) {
				t.Error("a key without options is restricted")
			}
		}},
		{"nopty", true, func(t *testing.T, c sshwire.Conn) {
			if canPTY(t, c) {
				t.Error("no-pty key got a pty")
			}
		}},
		{"restrict", true, func(t *testing.T, c sshwire.Conn) {
			if canPTY(t, c) || canOpen(c, echo.Addr().String()) || canListen(c) {
				t.Error("restrict key can pty or forward")
			}
			if got := output(t, c, "echo ok"); got != "ok\n" {
				t.Errorf("exec under restrict: %q", got)
			}
		}},
		{"restrictpty", true, func(t *testing.T, c sshwire.Conn) {
			if !canPTY(t, c) || canOpen(c, echo.Addr().String()) {
				t.Error("restrict,pty should allow a pty and nothing else")
			}
		}},
		{"permitopen", true, func(t *testing.T, c sshwire.Conn) {
			if !canOpen(c, echo.Addr().String()) {
				t.Error("permitopen target refused")
			}
			if canOpen(c, other.Addr().String()) {
				t.Error("permitopen let another target through")
			}
		}},
		{"command", true, func(t *testing.T, c sshwire.Conn) {
			if got := output(t, c, "ls /"); got != "forced:ls /\n" {
				t.Errorf("forced command output %q", got)
			}
		}},
		{"fromok", true, nil},
		{"fromno", false, nil},
		{"fromneg", false, nil},
		{"env", true, func(t *testing.T, c sshwire.Conn) {
			if got := output(t, c, "echo $JG_FROM_KEY"); got != "yes\n" {
				t.Errorf("environment= gave %q", got)
			}
		}},
		{"nofwd", true, func(t *testing.T, c sshwire.Conn) {
			if canOpen(c, echo.Addr().String()) || canListen(c) {
				t.Error("no-port-forwarding key can forward")
			}
		}},
		{"unknown", false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			t.Parallel()
			c, err := ts.dial(t, keys[tt.key].signer)
			if !tt.login {
				if err == nil {
					c.Close()
					t.Fatal("logged in, want refused")
				}
				return
			}
			if err != nil {
				t.Fatalf("login: %v", err)
			}
			defer c.Close()
			if tt.check != nil {
				tt.check(t, c)
			}
		})
	}
	t.Run("group-writable file refused", func(t *testing.T) {
		d := t.TempDir()
		k := newKey(t, d)
		ts := startServer(t, k.authLine(""), nil)
		if err := os.Chmod(ts.keys, 0o666); err != nil {
			t.Fatal(err)
		}
		if c, err := ts.dial(t, k.signer); err == nil {
			c.Close()
			t.Fatal("logged in through a world-writable authorized_keys")
		}
		if !strings.Contains(ts.log.String(), "bad modes") {
			t.Errorf("refusal not logged:\n%s", ts.log)
		}
	})
	t.Cleanup(func() {
		if !strings.Contains(ts.log.String(), `unknown option \"frobnicate\"`) {
			t.Errorf("the rejected line was not logged:\n%s", ts.log)
		}
	})
}

// TestHangupEndsWhatIgnoresSIGHUP: a client that goes away ends its
// command's whole process group, even children that ignore SIGHUP (all of
// them, when the server was started under nohup): with a pty, one left
// running holds the terminal open and the session never ends.
func TestHangupEndsWhatIgnoresSIGHUP(t *testing.T) {
	t.Parallel()
	key := newKey(t, t.TempDir())
	ts := startServer(t, key.authLine(""), nil)
	c := ts.mustDial(t, key.signer)
	s, err := sshwire.NewSession(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RequestPty("vt100", 24, 80, nil); err != nil {
		t.Fatal(err)
	}
	stdout, _ := s.StdoutPipe()
	if err := s.Start(`trap '' HUP; sleep 60 & echo $!; wait`); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	var pid int
	if _, err := fmt.Sscan(strings.TrimSpace(line), &pid); err != nil || pid <= 0 {
		t.Fatalf("child pid %q: %v", line, err)
	}
	c.Close()
	deadline := time.Now().Add(hangupGrace + 5*time.Second)
	for {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil || strings.Contains(string(b), ") Z ") {
			return // gone, or a zombie nobody waits for any more
		}
		if time.Now().After(deadline) {
			t.Fatalf("child %d that ignores SIGHUP still runs %v after its client left", pid, hangupGrace+5*time.Second)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestSessionEndedCountsOutput: the "session ended" line says how many
// bytes of output were sent, with a pty and without, so that a client
// that missed some can be told from a server that lost it.
func TestSessionEndedCountsOutput(t *testing.T) {
	t.Parallel()
	key := newKey(t, t.TempDir())
	ts := startServer(t, key.authLine(""), nil)
	c := ts.mustDial(t, key.signer)
	for _, pty := range []bool{false, true} {
		s, err := sshwire.NewSession(context.Background(), c)
		if err != nil {
			t.Fatal(err)
		}
		if pty {
			if err := s.RequestPty("vt100", 24, 80, nil); err != nil {
				t.Fatal(err)
			}
		}
		out, err := s.Output("printf 1234567; printf 89 >&2")
		s.Close()
		if err != nil || len(out) < 7 {
			t.Fatalf("pty %v: output %q, %v", pty, out, err)
		}
	}
	// Stdout and stderr count together; with a pty both are the terminal.
	if n := strings.Count(ts.log.String(), "status=0 sent=9"); n != 2 {
		t.Errorf("%d session ended lines with sent=9, want 2:\n%s", n, ts.log)
	}
}
