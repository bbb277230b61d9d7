package cli

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/jumpgate/jumpgate/internal/iostreams"
	"github.com/jumpgate/jumpgate/internal/sshtest"
)

// TestSSHCompat runs the same command lines through Debian's ssh and
// jumpgate ssh (as "ssh") and wants the same exit code, standard output
// and standard error: -G output, flag errors, usage, warnings. Nothing here
// connects anywhere: every line either fails while parsing or prints -G.
func TestSSHCompat(t *testing.T) {
	sshtest.RequireOpenSSH(t, "ssh")
	sshBin, err := exec.LookPath("ssh")
	if err != nil {
		t.Fatal(err)
	}
	cfg := "testdata/ssh_compat.config"
	cases := [][]string{
		{"-G", "h"},
		{"-G", "alias"},
		{"-G", "bob@alias"},
		{"-G", "-l", "carol", "alias"},
		{"-G", "-l", "bob", "-o", "User=al", "h"},
		{"-G", "-o", "User=al", "-l", "bob", "h"},
		{"-G", "bob@h", "-l", "al"},
		{"-G", "-p", "5", "-o", "Port=6", "h"},
		{"-G", "-o", "Port=6", "-p", "5", "h"},
		{"-G", "-p", "7", "-p", "8", "alias"},
		{"-G", "ssh://u@h:99"},
		{"-G", "h", "-p", "7", "cmd", "-p", "8"},
		{"-G", "--", "h", "-p", "7"},
		{"-G", "-v", "h"},
		{"-G", "-vvv", "h"},
		{"-G", "-v", "-q", "-v", "h"},
		{"-G", "-q", "h"},
		{"-G", "-t", "h"},
		{"-G", "-tt", "h"},
		{"-G", "-T", "h"},
		{"-G", "-N", "h"},
		{"-G", "-NT", "h"},
		{"-G", "-s", "h", "sftp"},
		{"-G", "-n", "h", "true"},
		{"-G", "-f", "h", "true"},
		{"-G", "-n", "-f", "h"},
		{"-G", "-W", "h:1", "h"},
		{"-G", "-W", "[::1]:22", "h"},
		{"-G", "-J", "a,b@c:2", "h"},
		{"-G", "j1"},
		{"-G", "-J", "none", "j1"},
		{"-G", "pc"},
		{"-G", "-o", "ProxyCommand=x", "-J", "a", "h"},
		{"-G", "-J", "a", "-o", "ProxyCommand=x", "h"},
		{"-G", "-J", "a", "-J", "b", "h"},
		{"-G", "-e", "^A", "h"},
		{"-G", "-e", "none", "h"},
		{"-G", "-e", "xx", "h"},
		{"-G", "-A", "-o", "ForwardAgent=no", "h"},
		{"-G", "-o", "ForwardAgent=no", "-A", "h"},
		{"-G", "-a", "h"},
		{"-G", "-X", "h"},
		{"-G", "-Y", "h"},
		{"-G", "-x", "h"},
		{"-G", "-C", "h"},
		{"-G", "-4", "h"},
		{"-G", "-6", "h"},
		{"-G", "-g", "h"},
		{"-G", "-c", "aes128-ctr", "h"},
		{"-G", "-m", "hmac-sha2-256", "h"},
		{"-G", "-b", "127.0.0.1", "h"},
		{"-G", "-L", "8080:localhost:80", "h"},
		{"-G", "-L", "127.0.0.1:8080:localhost:80", "-R", "9000:h:90", "-D", "1080", "h"},
		// Forward specs ssh(1) takes apart itself (parse_forward).
		{"-G", "-L", "[::1]:8080:[::1]:80", "-R", "[::1]:9000:localhost:90", "-D", "[::1]:1080", "h"},
		{"-G", "-L", "/tmp/a.sock:/tmp/b.sock", "-L", "8081:/tmp/c.sock", "-R", "/tmp/d.sock:localhost:22", "h"},
		{"-G", "-R", "9000", "-R", "127.0.0.1:9001", "-D", "127.0.0.1:1081", "h"},
		{"-G", "-L", "8080", "h"},
		{"-G", "-L", "8080:localhost", "h"},
		{"-G", "-L", "8080::80", "h"},
		{"-G", "-L", "8080:localhost:99999", "h"},
		{"-G", "-L", "a:b:c:d:e", "h"},
		{"-G", "-R", "9000::", "h"},
		{"-G", "-D", "1080:x", "h"},
		{"-G", "-D", "a:b:c", "h"},
		{"-G", "-D", "/tmp/s", "h"},
		{"-G", "-L", "0:localhost:80", "h"},
		{"-G", "-R", "0:localhost:80", "h"},
		{"-G", "-M", "h"},
		{"-G", "-MM", "h"},
		{"-G", "-S", "/tmp/x.sock", "h"},
		{"-G", "-w", "0:1", "h"},
		{"-G", "-w", "any", "h"},
		{"-G", "-o", "Hostname=198.18.0.9", "h"},
		{"-G", "-oUser=z", "h"},
		{"-G", "-o", "User z", "h"},
		{"-G", "-o", "user=z", "h"},
		{"-G", "-o", "ServerAliveInterval=3", "box.lab"},
		{"-G", "rc"},
		{"-G", "rc", "ls"},
		{"-G", "-o", "RequestTTY=force", "h"},
		{"-G", "-o", "Foo=bar", "h"},
		{"-G", "-o", "Port=abc", "h"},
		// -o in every spelling ssh(1) takes, and the ones it refuses.
		{"-G", "-o", "User = z", "h"},
		{"-G", "-o", "User= z", "h"},
		{"-G", "-o", "User =z", "h"},
		{"-G", "-o", "User\tz", "h"},
		{"-G", "-o", "USER=z", "h"},
		{"-G", "-o", "User=\"z y\"", "h"},
		{"-G", "-o", "User", "h"},
		{"-G", "-o", "User=", "h"},
		{"-G", "-o", "=z", "h"},
		{"-G", "-o", "", "h"},
		{"-G", "-o", "LocalForward 8080 localhost:80", "h"},
		{"-G", "-o", "LocalForward=8080:localhost:80", "h"},
		{"-G", "-o", "Match=all", "h"},
		{"-G", "-o", "Host=foo", "h"},
		{"-G", "-o", "Include=/nonexistent", "h"},
		{"-G", "-o", "ProxyJump=none", "-J", "x", "h"},
		{"-G", "-J", "x", "-o", "ProxyJump=none", "h"},
		{"-G", "-o", "BatchMode=yes", "h"},
		{"-G", "-o", "BatchMode=yes", "-o", "ServerAliveInterval=7", "h"},
		{"-G", "-o", "ForwardAgent=/nonexistent/agent.sock", "h"},
		{"-G", "-o", "LogLevel=DEBUG2", "h"},
		{"-G", "-p", "abc", "h"},
		{"-G", "-p", "0", "h"},
		{"-G", "-c", "foo", "h"},
		{"-G", "-W", "bad", "h"},
		{"-G", "-O", "foo", "h"},
		{"-G", "-w", "x", "h"},
		{"-Z", "h"},
		{"-l"},
		{},
		{"-G"},
		{"-Q", "foo"},
		{"-Q", "CIPHER"},
		{"-Q", "help"},
		{"-Q", "protocol-version"},
		{"-Q", "cipher-auth"},
		{"-1", "h"},
	}
	for _, args := range cases {
		name := strings.Join(args, " ")
		if name == "" {
			name = "no arguments"
		}
		t.Run(name, func(t *testing.T) {
			full := append([]string{"-F", cfg}, args...)
			cmd := exec.Command(sshBin, full...)
			var wantOut, wantErr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &wantOut, &wantErr
			err := cmd.Run()
			wantCode := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				wantCode = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}

			ios, gotOut, gotErr := iostreams.Test("")
			code := Main(context.Background(), append([]string{"ssh"}, full...), ios)
			if code != wantCode {
				t.Errorf("exit code %d, ssh(1) exits %d (stderr %q)", code, wantCode, gotErr)
			}
			if gotOut.String() != wantOut.String() {
				t.Errorf("stdout differs from ssh(1)'s:\n%s", lineDiff(wantOut.String(), gotOut.String()))
			}
			// Debug lines and -v's version banner are ours to word.
			if stripDebug(gotErr.String()) != stripDebug(wantErr.String()) {
				t.Errorf("stderr differs:\nssh(1):   %q\njumpgate: %q", wantErr.String(), gotErr.String())
			}
		})
	}
}

func stripDebug(s string) string {
	var keep []string
	for _, l := range strings.SplitAfter(s, "\n") {
		if strings.HasPrefix(l, "debug") || strings.HasPrefix(l, "OpenSSH_") || strings.HasPrefix(l, "jumpgate ") {
			continue
		}
		keep = append(keep, l)
	}
	return strings.Join(keep, "")
}

// lineDiff lists the lines only one side has.
func lineDiff(want, got string) string {
	in := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, l := range strings.Split(s, "\n") {
			m[l] = true
		}
		return m
	}
	w, g := in(want), in(got)
	var b strings.Builder
	for _, l := range strings.Split(want, "\n") {
		if !g[l] {
			b.WriteString("- " + l + "\n")
		}
	}
	for _, l := range strings.Split(got, "\n") {
		if !w[l] {
			b.WriteString("+ " + l + "\n")
		}
	}
	if b.Len() == 0 {
		return "(same lines, different order)"
	}
	return b.String()
}
