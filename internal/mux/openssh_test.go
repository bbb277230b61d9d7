package mux

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jumpgate/jumpgate/internal/sshtest"
)

// runSSH runs OpenSSH's client against the control socket only: with
// -F none and a host that does not resolve, a fallback to a direct
// connection would fail loudly.
func runSSH(t *testing.T, bin, path, stdin string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	full := append([]string{"-F", "none", "-S", path, "-o", "ControlMaster=no"}, args...)
	cmd := exec.CommandContext(ctx, bin, full...)
	var out, errb bytes.Buffer
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

const noHost = "jumpgate-mux-test.invalid"

func TestOpenSSHClientAgainstOurMaster(t *testing.T) {
	t.Parallel()
	sshtest.RequireOpenSSH(t, "ssh")
	bin := "ssh"
	tm := startMaster(t, nil)

	t.Run("check", func(t *testing.T) {
		_, stderr, code := runSSH(t, bin, tm.path, "", "-O", "check", noHost)
		if code != 0 || !strings.Contains(stderr, "Master running (pid="+strconv.Itoa(os.Getpid())+")") {
			t.Fatalf("exit %d, stderr %q", code, stderr)
		}
	})
	t.Run("session with passed descriptors", func(t *testing.T) {
		stdout, stderr, code := runSSH(t, bin, tm.path, "from stdin\n", noHost, "cat; echo to-stderr >&2; exit 7")
		if code != 7 || stdout != "from stdin\n" || !strings.Contains(stderr, "to-stderr") {
			t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
		}
	})
	t.Run("stdio forward", func(t *testing.T) {
		echo := startEcho(t)
		stdout, stderr, code := runSSH(t, bin, tm.path, "ping", "-W", echo.String(), noHost)
		if code != 0 || stdout != "ping" {
			t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
		}
	})
	t.Run("forward and cancel", func(t *testing.T) {
		target, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer target.Close()
		go func() {
			for {
				c, err := target.Accept()
				if err != nil {
					return
				}
				io.WriteString(c, "hi from target")
				c.Close()
			}
		}()
		lport := sshtest.FreePort(t)
		spec := "127.0.0.1:" + strconv.Itoa(lport) + ":" + target.Addr().String()
		_, stderr, code := runSSH(t, bin, tm.path, "", "-O", "forward", "-L", spec, noHost)
		if code != 0 {
			t.Fatalf("-O forward: exit %d, %s", code, stderr)
		}
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(lport))
		if err != nil {
			t.Fatalf("forward not listening: %v", err)
		}
		got, _ := io.ReadAll(c)
		c.Close()
		if string(got) != "hi from target" {
			t.Fatalf("through the forward: %q", got)
		}
		if info := tm.Info(); len(info.Forwards) != 1 {
			t.Errorf("forwards in info: %v", info.Forwards)
		}
		_, stderr, code = runSSH(t, bin, tm.path, "", "-O", "cancel", "-L", spec, noHost)
		if code != 0 {
			t.Fatalf("-O cancel: exit %d, %s", code, stderr)
		}
		if c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(lport)); err == nil {
			c.Close()
			t.Fatal("forward still listening after -O cancel")
		}
	})
	t.Run("exit", func(t *testing.T) {
		_, stderr, code := runSSH(t, bin, tm.path, "", "-O", "exit", noHost)
		if code != 0 || !strings.Contains(stderr, "Exit request sent.") {
			t.Fatalf("exit %d, stderr %q", code, stderr)
		}
		done, err := tm.exited(20 * time.Second)
		if !done {
			t.Fatal("master still running after -O exit")
		}
		if err != ErrTerminated {
			t.Errorf("Serve: %v", err)
		}
	})
}
