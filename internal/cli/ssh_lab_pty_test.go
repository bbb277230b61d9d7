package cli

// The lab tests that need a terminal: jumpgate ssh runs with a pty as its
// controlling terminal and stdio, and the test types into the master side
// as a person would.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/jumpgate/jumpgate/internal/lab"
)

// ptyRun is jumpgate ssh running on a pty.
type ptyRun struct {
	t      *testing.T
	cmd    *exec.Cmd
	ptmx   *os.File // the side the test types into and reads
	tty    *os.File // the terminal jumpgate has; kept open to read its modes
	out    lockedBuffer
	exited chan struct{}
	err    error
	// before are the terminal's modes before jumpgate started: read
	// after, a client that sets raw mode at once had already changed them.
	before *unix.Termios
}

// startPTY starts `jumpgate ssh args…` on the laptop with a new pty as
// its controlling terminal, stdin, stdout and stderr.
func (s *sshLab) startPTY(t *testing.T, o labRun, args ...string) *ptyRun {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatalf("open pty: %v", err)
	}
	if err := pty.Setsize(ptmx, &pty.Winsize{Rows: 24, Cols: 80}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	p := &ptyRun{t: t, ptmx: ptmx, tty: tty, exited: make(chan struct{})}
	p.cmd = s.command(ctx, o, args...)
	p.cmd.Stdin, p.cmd.Stdout, p.cmd.Stderr = tty, tty, tty
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	p.before = p.termios()
	if err := p.cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start %v: %v", p.cmd.Args, err)
	}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := ptmx.Read(buf)
			p.out.Write(buf[:n])
			if err != nil {
				return
			}
		}
	}()
	go func() {
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		cancel()
		<-p.exited
		ptmx.Close()
		tty.Close()
	})
	return p
}

// termios reads the terminal's modes as jumpgate sees them.
func (p *ptyRun) termios() *unix.Termios {
	p.t.Helper()
	tio, err := unix.IoctlGetTermios(int(p.tty.Fd()), unix.TCGETS)
	if err != nil {
		p.t.Fatalf("get termios: %v", err)
	}
	return tio
}

// expect waits until the output has shown s n times.
func (p *ptyRun) expect(s string, n int) {
	p.t.Helper()
	deadline := time.After(15 * time.Second)
	for strings.Count(p.out.String(), s) < n {
		select {
		case <-deadline:
			p.t.Fatalf("no %q (×%d) in the terminal after 15 s:\n%q", s, n, p.out.String())
		case <-p.exited:
			time.Sleep(100 * time.Millisecond) // the last output
			if strings.Count(p.out.String(), s) >= n {
				return
			}
			p.t.Fatalf("exited (%v) without %q (×%d) on the terminal:\n%q", p.err, s, n, p.out.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func (p *ptyRun) send(s string) {
	p.t.Helper()
	if _, err := p.ptmx.WriteString(s); err != nil {
		p.t.Fatalf("type %q: %v", s, err)
	}
}

// wait returns the exit code, failing the test if it takes over 15 s.
func (p *ptyRun) wait() int {
	p.t.Helper()
	select {
	case <-p.exited:
	case <-time.After(15 * time.Second):
		p.t.Fatalf("still running after 15 s; terminal:\n%q", p.out.String())
	}
	time.Sleep(50 * time.Millisecond) // let the reader take the last output
	var ee *exec.ExitError
	if p.err != nil && !errors.As(p.err, &ee) {
		p.t.Fatalf("wait: %v", p.err)
	}
	return p.cmd.ProcessState.ExitCode()
}

// sameModes compares the modes that raw mode changes.
func sameModes(a, b *unix.Termios) bool {
	return a.Iflag == b.Iflag && a.Oflag == b.Oflag && a.Lflag == b.Lflag && a.Cflag == b.Cflag && a.Cc == b.Cc
}

// testPTY runs sessions with a pty and checks that the local terminal's
// modes come back as they were.
func (s *sshLab) testPTY(t *testing.T) {
	t.Parallel()
	cfg := s.l.SSHConfig()
	t.Run("-t with a command", func(t *testing.T) {
		t.Parallel()
		p := s.startPTY(t, labRun{}, "-F", cfg, "-t", "vm1", "tty")
		before := p.before
		code := p.wait()
		out := p.out.String()
		// "\r\r\n": ssh(1) writes "\r\n" once the terminal is back in
		// cooked mode, where the pty turns "\n" into "\r\n" again.
		if code != 0 || !regexp.MustCompile(`^/dev/pts/\d+\r\n`+regexp.QuoteMeta(s.closed("vm1"))+`\r\r\n$`).MatchString(out) {
			t.Errorf("exit %d, terminal %q; want 0, a /dev/pts/N and the closing line", code, out)
		}
		if after := p.termios(); !sameModes(before, after) {
			t.Errorf("terminal modes not restored:\nbefore %+v\nafter  %+v", before, after)
		}
	})
	t.Run("interactive shell", func(t *testing.T) {
		t.Parallel()
		p := s.startPTY(t, labRun{}, "-F", cfg, "hyper1")
		before := p.before
		p.expect("hyper1", 1) // the prompt
		p.send("echo hi; exit 3\r")
		code := p.wait()
		// The echo of the typed line holds "hi;", the output "\rhi\r\n".
		if out := p.out.String(); code != 3 || !strings.Contains(out, "\rhi\r\n") || !strings.Contains(out, s.closed("hyper1")) {
			t.Errorf("exit %d, terminal %q; want 3 and hi", code, out)
		}
		if after := p.termios(); !sameModes(before, after) {
			t.Errorf("terminal modes not restored:\nbefore %+v\nafter  %+v", before, after)
		}
	})
	t.Run("~. disconnects", func(t *testing.T) {
		t.Parallel()
		p := s.startPTY(t, labRun{}, "-F", cfg, "-t", "hyper1", "echo READY; exec sleep 30")
		before := p.before
		p.expect("READY\r\n", 1)
		// Raw while the session runs: the test can see a mode change.
		if during := p.termios(); during.Lflag&(unix.ICANON|unix.ECHO) != 0 {
			t.Errorf("terminal still canonical or echoing during the session: lflag %#x", during.Lflag)
		}
		p.send("\r~.")
		start := time.Now()
		code := p.wait()
		if out := p.out.String(); code != 255 || !strings.Contains(out, "Connection to "+s.l.Addr("hyper1")+" closed.") || time.Since(start) > 5*time.Second {
			t.Errorf("exit %d after %v, terminal %q; want 255 at once and the closing line", code, time.Since(start), out)
		}
		if after := p.termios(); !sameModes(before, after) {
			t.Errorf("terminal modes not restored:\nbefore %+v\nafter  %+v", before, after)
		}
	})
}

// testPassphrase uses the lab key encrypted with a passphrase, answered
// on the terminal.
func (s *sshLab) testPassphrase(t *testing.T) {
	t.Parallel()
	const phrase = "s3cret-Phrase"
	dir := t.TempDir()
	key := filepath.Join(dir, "id_enc")
	b, err := os.ReadFile(s.l.IdentityFile())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, b, 0o600); err != nil {
		t.Fatal(err)
	}
	// The lab's own key, which every server accepts, now encrypted.
	if out, err := exec.Command("ssh-keygen", "-q", "-p", "-P", "", "-N", phrase, "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen -p: %v\n%s", err, out)
	}
	cfg := filepath.Join(dir, "config")
	text := fmt.Sprintf("Host *\n  User root\n  IdentityFile %s\n  IdentitiesOnly yes\n  UserKnownHostsFile %s\n  StrictHostKeyChecking yes\n",
		key, s.l.KnownHosts())
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	prompt := "Enter passphrase for key '" + key + "': "
	t.Run("right", func(t *testing.T) {
		t.Parallel()
		p := s.startPTY(t, labRun{}, "-F", cfg, s.l.Addr("hyper1"), "echo logged in with the key")
		p.expect(prompt, 1)
		p.send(phrase + "\r")
		code := p.wait()
		out := p.out.String()
		if code != 0 || !strings.Contains(out, "logged in with the key\r\n") || strings.Contains(out, phrase) {
			t.Errorf("exit %d, terminal %q; want 0, the output and no echoed passphrase", code, out)
		}
	})
	t.Run("wrong three times", func(t *testing.T) {
		t.Parallel()
		p := s.startPTY(t, labRun{}, "-F", cfg, s.l.Addr("hyper1"), "echo should not run")
		for i := 1; i <= 3; i++ {
			p.expect(prompt, i)
			p.send("wrong\r")
		}
		code := p.wait()
		out := p.out.String()
		if code != 255 || strings.Count(out, prompt) != 3 || strings.Contains(out, "should not run") {
			t.Errorf("exit %d, terminal %q; want 255 after three prompts", code, out)
		}
		// Against sshd the key is refused and ssh(1)'s message follows.
		// x/crypto servers (jumpgate serve) end the connection instead:
		// sshconn offers a signature that cannot verify for a key it could
		// not load, which they treat as fatal (reported to the lead).
		if s.l.Server() == lab.OpenSSH && !strings.Contains(out, "root@"+s.l.Addr("hyper1")+": Permission denied (publickey).") {
			t.Errorf("terminal %q; want Permission denied", out)
		}
	})
}
