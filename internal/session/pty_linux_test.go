package session

import (
	"context"
	"errors"
	"io"
	"os"
	"reflect"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/jumpgate/jumpgate/internal/sshtest"
	"github.com/jumpgate/jumpgate/internal/sshwire"
	"github.com/jumpgate/jumpgate/internal/vlog"
)

// ptyRun is a session whose local terminal is the slave of a real pty
// pair: the test types on the master and reads what the terminal shows
// there, as a terminal emulator would.
type ptyRun struct {
	master, tty *os.File
	before      *unix.Termios  // the slave's modes before Run
	screen      sshtest.Buffer // what the master shows (prompt, echo)
	out, errb   sshtest.Buffer // the session's stdout and stderr
	logb        sshtest.Buffer
	done        chan error
}

func termios(t testing.TB, f *os.File) *unix.Termios {
	t.Helper()
	var tio *unix.Termios
	if err := control(f, func(fd int) (err error) {
		tio, err = unix.IoctlGetTermios(fd, unix.TCGETS)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return tio
}

// startPTY starts Run on c with a fresh pty pair of rows×cols as the
// local terminal. edit may change the slave's modes first.
func startPTY(t *testing.T, c sshwire.Conn, o Options, rows, cols uint16, edit func(*unix.Termios)) *ptyRun {
	t.Helper()
	m, s, err := pty.Open()
	if err != nil {
		t.Fatalf("open pty: %v", err)
	}
	if err := pty.Setsize(m, &pty.Winsize{Rows: rows, Cols: cols}); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		tio := termios(t, s)
		edit(tio)
		if err := control(s, func(fd int) error { return unix.IoctlSetTermios(fd, unix.TCSETS, tio) }); err != nil {
			t.Fatal(err)
		}
	}
	p := &ptyRun{master: m, tty: s, before: termios(t, s), done: make(chan error, 1)}
	copied := make(chan struct{})
	go func() { io.Copy(&p.screen, m); close(copied) }()
	t.Cleanup(func() {
		s.Close()
		m.Close()
		<-copied
	})
	o.PTY, o.TTY, o.Stdin = true, s, s
	o.Stdout, o.Stderr = &p.out, &p.errb
	if o.Log == nil {
		o.Log = vlog.New(&p.logb, vlog.Info)
	}
	if o.Host == "" {
		o.Host = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	go func() { p.done <- Run(ctx, c, o) }()
	return p
}

func (p *ptyRun) typeIn(t testing.TB, s string) {
	t.Helper()
	if _, err := io.WriteString(p.master, s); err != nil {
		t.Fatalf("type %q: %v", s, err)
	}
}

// wait returns Run's error and checks that the terminal is back in the
// modes it had before.
func (p *ptyRun) wait(t testing.TB) error {
	t.Helper()
	select {
	case err := <-p.done:
		if after := termios(t, p.tty); !reflect.DeepEqual(after, p.before) {
			t.Errorf("terminal modes not restored:\n before %+v\n after  %+v", p.before, after)
		}
		return err
	case <-time.After(20 * time.Second):
		t.Fatalf("session did not end; stdout %q stderr %q", p.out.String(), p.errb.String())
		return nil
	}
}

func TestPTY(t *testing.T) {
	t.Parallel()
	for _, peer := range peers(t, "") {
		t.Run(peer.name, func(t *testing.T) {
			t.Parallel()
			p := startPTY(t, peer.dial(t), Options{Command: "tty; stty size; echo $TERM", Term: "vt100", EscapeChar: '~'}, 33, 101, nil)
			err := p.wait(t)
			if err != nil {
				t.Fatalf("Run: %v (stderr %q)", err, p.errb.String())
			}
			lines := strings.Split(strings.ReplaceAll(p.out.String(), "\r", ""), "\n")
			if len(lines) < 3 || !regexp.MustCompile(`^/dev/pts/\d+$`).MatchString(lines[0]) ||
				lines[1] != "33 101" || lines[2] != "vt100" {
				t.Errorf("remote saw %q, want a /dev/pts tty, 33 101, vt100", p.out.String())
			}
			if got := p.errb.String(); got != "Connection to 127.0.0.1 closed.\r\n" {
				t.Errorf("stderr = %q", got)
			}
		})
	}
}

// TestPTYModes checks that the local terminal's settings reach the
// remote pty (ssh(1) sends them as the pty-req's terminal modes).
func TestPTYModes(t *testing.T) {
	t.Parallel()
	for _, peer := range peers(t, "") {
		t.Run(peer.name, func(t *testing.T) {
			t.Parallel()
			p := startPTY(t, peer.dial(t), Options{Command: "stty -a", EscapeChar: -1}, 24, 80, func(tio *unix.Termios) {
				tio.Cc[unix.VINTR] = 'X' - 64
				tio.Lflag &^= unix.ECHOCTL
			})
			if err := p.wait(t); err != nil {
				t.Fatalf("Run: %v", err)
			}
			out := p.out.String()
			if !strings.Contains(out, "intr = ^X;") || !strings.Contains(out, "-echoctl") || !regexp.MustCompile(`[^-]echo `).MatchString(out) {
				t.Errorf("remote stty -a does not show intr ^X, -echoctl and echo:\n%s", out)
			}
		})
	}
}

func TestPTYQuiet(t *testing.T) {
	t.Parallel()
	peer := startJumpgate(t, "")
	p := startPTY(t, peer.dial(t), Options{Command: "exit 2", EscapeChar: '~', Log: vlog.New(io.Discard, vlog.Quiet)}, 24, 80, nil)
	if err := p.wait(t); exitStatus(err) != "status 2" {
		t.Fatalf("Run: %v", err)
	}
	if got := p.errb.String(); got != "" {
		t.Errorf("stderr under -q = %q, want nothing", got)
	}
}

func TestPTYRefused(t *testing.T) {
	t.Parallel()
	for _, peer := range peers(t, "no-pty") {
		t.Run(peer.name, func(t *testing.T) {
			t.Parallel()
			c := peer.dial(t)
			var logb sshtest.Buffer
			got := run(t, c, Options{Command: "tty", PTY: true, Log: vlog.New(&logb, vlog.Info)})
			if s := exitStatus(got.err); s != "status 1" || !strings.Contains(got.stdout, "not a tty") {
				t.Errorf("tty without a pty: %s, stdout %q", s, got.stdout)
			}
			if l := logb.String(); l != "PTY allocation request failed on channel 0\r\n" {
				t.Errorf("log = %q", l)
			}
			got = run(t, c, Options{Command: "tty", PTY: true, RequirePTY: true})
			if got.err == nil || got.err.Error() != "PTY allocation request failed on channel 0" {
				t.Errorf("RequirePTY: %v", got.err)
			}
		})
	}
}

func TestPTYWindowChange(t *testing.T) {
	t.Parallel()
	for _, peer := range peers(t, "") {
		t.Run(peer.name, func(t *testing.T) {
			t.Parallel()
			p := startPTY(t, peer.dial(t), Options{Command: "echo ready; while read x; do stty size; done", EscapeChar: '~'}, 24, 80, nil)
			p.out.WaitFor(t, "ready")
			if err := pty.Setsize(p.master, &pty.Winsize{Rows: 40, Cols: 120}); err != nil {
				t.Fatal(err)
			}
			// The test process is not the terminal's session leader, so
			// the kernel does not send SIGWINCH: send it as it would.
			syscall.Kill(os.Getpid(), syscall.SIGWINCH)
			deadline := time.Now().Add(10 * time.Second)
			for !strings.Contains(p.out.String(), "40 120") {
				if time.Now().After(deadline) {
					t.Fatalf("window change never seen; output %q", p.out.String())
				}
				p.typeIn(t, "\r")
				time.Sleep(50 * time.Millisecond)
			}
			p.typeIn(t, "\r~.")
			var de *DisconnectError
			if err := p.wait(t); !errors.As(err, &de) {
				t.Errorf("Run = %v, want DisconnectError", err)
			}
		})
	}
}

// TestPTYCancelRestores checks that cancelling ctx (SIGINT at the CLI)
// ends a pty session with ctx.Err() and the terminal restored.
func TestPTYCancelRestores(t *testing.T) {
	t.Parallel()
	peer := startJumpgate(t, "")
	m, s, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	defer s.Close()
	go io.Copy(io.Discard, m)
	before := termios(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	var out sshtest.Buffer
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, peer.dial(t), Options{Command: "echo ready; sleep 30", PTY: true, TTY: s, Stdin: s,
			Stdout: &out, Stderr: io.Discard, EscapeChar: '~', Host: "h"})
	}()
	out.WaitFor(t, "ready")
	if tio := termios(t, s); tio.Lflag&unix.ICANON != 0 {
		t.Fatalf("not raw during the session")
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Run = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if after := termios(t, s); !reflect.DeepEqual(after, before) {
		t.Errorf("terminal not restored after cancel")
	}
}
