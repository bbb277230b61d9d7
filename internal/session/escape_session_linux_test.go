package session

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/jumpgate/jumpgate/internal/sshtest"
)

// readLine is a remote command that reads one line on its pty and shows
// exactly what arrived.
const readLine = `echo ready; read -r line; printf '<%s>\n' "$line"`

func TestEscapeSession(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		cmdline  bool
		typed    string
		remote   string // the line the remote side read
		stderr   string // exact stderr, "Connection to … closed." excluded
		log      string // substring of the log
		screen   string // substring of what the terminal shows
		dropConn bool   // "~." expected
	}{
		{name: "double tilde sends one", typed: "~~x\r", remote: "<~x>"},
		{name: "after other chars passes through", typed: "a~.b\r", remote: "<a~.b>"},
		{name: "unknown escape passes both", typed: "~zq\r", remote: "<~zq>"},
		{name: "help", typed: "~?x\r", remote: "<x>", stderr: HelpText('~', false)},
		{name: "help with command line", cmdline: true, typed: "~?x\r", remote: "<x>", stderr: HelpText('~', true)},
		{name: "list", typed: "~#x\r", remote: "<x>",
			stderr: "~#\r\nThe following connections are open:\r\n  #0 client-session (session channel)\r\n"},
		{name: "break", typed: "~Bx\r", remote: "<x>", stderr: "~B\r\n"},
		{name: "rekey", typed: "~Rx\r", remote: "<x>", stderr: "~R [rekeying is not supported]\r\n"},
		{name: "verbosity", typed: "~vx\r", remote: "<x>", stderr: "~v [LogLevel VERBOSE]\r\n"},
		{name: "background", typed: "~&x\r", remote: "<x>", stderr: "~& [backgrounding is not supported]\r\n"},
		{name: "command line disabled", typed: "~Cx\r", remote: "<x>", stderr: "commandline disabled\r\n"},
		{name: "command line help", cmdline: true, typed: "~Chelp\rx\r", remote: "<x>",
			log: "Commands:\r\n      -L[bind_address:]port:host:hostport    Request local forward\r\n", screen: "\r\nssh> help\r\n"},
		{name: "command line forward", cmdline: true, typed: "~C-L8080:localhost:80\ry\r", remote: "<y>",
			log: "Port forwarding is not available yet.\r\n"},
		{name: "command line cancelled", cmdline: true, typed: "~Cabc\x03z\r", remote: "<z>", screen: "ssh> abc\r\n"},
		{name: "disconnect", typed: "~.", stderr: "~.\r\n", dropConn: true},
		{name: "disconnect after a line", typed: "ls\r~.", stderr: "~.\r\n", dropConn: true},
	}
	for _, peer := range peers(t, "") {
		t.Run(peer.name, func(t *testing.T) {
			t.Parallel()
			shared := peer.dial(t)
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					t.Parallel()
					c := shared
					if tt.dropConn { // "~." closes the whole connection
						c = peer.dial(t)
					}
					cmd := readLine
					if tt.dropConn {
						cmd = "echo ready; sleep 30"
					}
					p := startPTY(t, c, Options{Command: cmd, EscapeChar: '~', EnableCommandLine: tt.cmdline}, 24, 80, nil)
					p.out.WaitFor(t, "ready")
					if tio := termios(t, p.tty); tio.Lflag&(unix.ECHO|unix.ICANON|unix.ISIG) != 0 {
						t.Errorf("terminal not in raw mode during the session: lflag %#x", tio.Lflag)
					}
					p.typeIn(t, tt.typed)
					err := p.wait(t)
					var de *DisconnectError
					if tt.dropConn {
						if !errors.As(err, &de) {
							t.Errorf("Run = %v, want *DisconnectError", err)
						}
						if _, _, err := c.SendRequest(context.Background(), "keepalive@openssh.com", true, nil); err == nil {
							t.Errorf("connection still open after ~.")
						}
					} else if err != nil {
						t.Errorf("Run = %v", err)
					}
					if tt.remote != "" && !strings.Contains(p.out.String(), tt.remote+"\r\n") {
						t.Errorf("remote read %q, want %q", p.out.String(), tt.remote)
					}
					want := tt.stderr + "Connection to 127.0.0.1 closed.\r\n"
					if got := p.errb.String(); got != want {
						t.Errorf("stderr\n got %q\nwant %q", got, want)
					}
					if tt.log != "" && !strings.Contains(p.logb.String(), tt.log) {
						t.Errorf("log %q does not contain %q", p.logb.String(), tt.log)
					}
					if tt.screen != "" {
						// The screen is copied from the pty's master by
						// another goroutine, which may lag behind Run.
						p.screen.WaitFor(t, tt.screen)
					}
				})
			}
		})
	}
}

// TestEscapeHelpMatchesOpenSSH types "~?" into Debian's ssh(1) on a pty
// and compares its help with ours, byte for byte.
func TestEscapeHelpMatchesOpenSSH(t *testing.T) {
	t.Parallel()
	sshtest.RequireOpenSSH(t, "ssh", "sshd")
	peer := startSSHD(t, "")
	dir := t.TempDir()
	key := writeKey(t, dir, peer.signer)
	kh := dir + "/known_hosts"
	writeKnownHosts(t, kh, peer)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	host, port, _ := strings.Cut(peer.addr, ":")
	cmd := exec.CommandContext(ctx, "ssh", "-F", "none", "-tt", "-p", port, "-i", key,
		"-o", "UserKnownHostsFile="+kh, "-o", "GlobalKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=yes",
		"-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none",
		"root@"+host, "echo ready; sleep 30")
	m, err := pty.Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	var screen sshtest.Buffer
	read := make(chan struct{})
	go func() {
		defer close(read)
		buf := make([]byte, 4096)
		for {
			n, err := m.Read(buf)
			screen.Write(buf[:n])
			if err != nil {
				return
			}
		}
	}()
	screen.WaitFor(t, "ready")
	m.Write([]byte("~?"))
	screen.WaitFor(t, "newline.)\r\n")
	m.Write([]byte("~."))
	cmd.Wait()
	// ssh(1) has gone, so the pty's master reads EIO once its output
	// has been drained: only then is the screen complete.
	select {
	case <-read:
	case <-time.After(10 * time.Second):
		t.Errorf("pty still open 10 s after ssh(1) exited")
	}
	s := screen.String()
	got := s[strings.Index(s, "~?\r\n"):]
	got = got[:strings.Index(got, "newline.)\r\n")+len("newline.)\r\n")]
	if want := HelpText('~', false); got != want {
		t.Errorf("ssh(1) help\n%q\nours\n%q", got, want)
	}
	// ssh(1) queues "~.\r\n" on the channel's stderr buffer, which is
	// freed unflushed when it quits, so only the closing line is sure.
	if !strings.Contains(s, "Connection to 127.0.0.1 closed.\r\r\n") {
		t.Errorf("ssh(1) after ~. shows %q", s)
	}
}
