package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/sys/unix"

	"github.com/jumpgate/jumpgate/internal/authkeys"
	"github.com/jumpgate/jumpgate/internal/sshwire"
)

// Session request payloads (RFC 4254 section 6).
type (
	ptyReqMsg struct {
		Term             string
		Cols, Rows, W, H uint32
		Modes            string
	}
	windowChangeMsg struct{ Cols, Rows, W, H uint32 }
	envMsg          struct{ Name, Value string }
	execMsg         struct{ Command string }
	signalMsg       struct{ Signal string }
	exitStatusMsg   struct{ Status uint32 }
	exitSignalMsg   struct {
		Signal     string
		CoreDumped bool
		Error      string
		Lang       string
	}
)

// hangupGrace is how long a command may outlive its closed channel after
// SIGHUP before it is killed.
const hangupGrace = 2 * time.Second

// session is one "session" channel.
type session struct {
	c   *Conn
	ch  sshwire.Channel
	env []string // accepted env requests, NAME=value
	pty *ptyReqMsg

	mu      sync.Mutex
	cmd     *exec.Cmd // set once started
	ptmx    *os.File
	closers []io.Closer // read ends to close when tearing down
	agent   *agentListener
	x11     *x11Display

	// sent counts the command's output sent on the channel and outErr
	// keeps why a copy of it stopped early, for the "session ended" line.
	sent   atomic.Int64
	outErr atomic.Pointer[error]

	// replied closes once the shell/exec/subsystem request is answered:
	// the command's exit-status and CLOSE must not overtake that answer, or
	// a quick command's client sees its request fail (x/crypto: EOF).
	replied chan struct{}
}

func (c *Conn) session(ctx context.Context, nch sshwire.NewChannel) {
	ch, reqs, err := nch.Accept()
	if err != nil {
		return
	}
	s := &session{c: c, ch: ch, replied: make(chan struct{})}
	var done chan struct{}
	for r := range reqs {
		ok, started := false, false
		switch r.Type {
		case "pty-req":
			ok = done == nil && s.ptyReq(r.Payload)
		case "env":
			ok = done == nil && s.envReq(r.Payload)
		case "shell", "exec", "subsystem":
			if done != nil {
				break
			}
			var err error
			done, err = s.start(ctx, r.Type, r.Payload)
			if err != nil {
				c.Log.Warn("session start failed", "req", r.Type, "err", err)
				done = nil
				// The reply tells the client; sshd closes the channel too.
				r.Reply(false, nil)
				ch.Close()
				continue
			}
			ok, started = true, true
		case "window-change":
			ok = s.windowChange(r.Payload)
		case "signal":
			ok = s.signal(r.Payload)
		case "auth-agent-req@openssh.com":
			ok = done == nil && s.agentReq(ctx)
		case "x11-req":
			ok = done == nil && s.x11Req(r.Payload)
		default:
			// Anything else is refused, as sshd does.
			if r.Type != "keepalive@openssh.com" {
				c.Log.Info("session request refused", "req", r.Type)
			}
		}
		if r.WantReply {
			r.Reply(ok, nil)
		}
		if started {
			close(s.replied)
		}
	}
	// The channel is closed (by us after exit, or by the client).
	if done != nil {
		select {
		case <-done:
		default:
			s.hangup(done)
		}
	}
	ch.Close()
	if s.agent != nil {
		s.agent.Close()
	}
	if s.x11 != nil {
		s.x11.Close()
	}
}

// hangup ends a command whose channel went away: SIGHUP, then SIGKILL,
// then close our ends of its pipes so nothing waits on it. The signals go
// to its process group (it leads a session of its own): a child that
// ignores SIGHUP, as everything started under nohup does, would otherwise
// keep the terminal open after the shell is gone.
func (s *session) hangup(done chan struct{}) {
	s.mu.Lock()
	p := s.cmd.Process
	s.mu.Unlock()
	syscall.Kill(-p.Pid, syscall.SIGHUP)
	select {
	case <-done:
		return
	case <-time.After(hangupGrace):
	}
	syscall.Kill(-p.Pid, syscall.SIGKILL)
	s.mu.Lock()
	for _, c := range s.closers {
		c.Close()
	}
	s.mu.Unlock()
	<-done
}

func (s *session) ptyReq(b []byte) bool {
	var m ptyReqMsg
	if err := ssh.Unmarshal(b, &m); err != nil {
		return false
	}
	if s.c.Perms.NoPTY {
		s.c.Log.Warn("pty refused by authorized_keys options")
		return false
	}
	s.pty = &m
	return true
}

func (s *session) envReq(b []byte) bool {
	var m envMsg
	if err := ssh.Unmarshal(b, &m); err != nil || m.Name == "" || strings.ContainsAny(m.Name, "=\x00") || strings.ContainsRune(m.Value, 0) {
		return false
	}
	if !s.acceptEnv(m.Name) {
		s.c.Log.Info("env refused", "name", m.Name)
		return false
	}
	s.env = append(s.env, m.Name+"="+m.Value)
	return true
}

func (s *session) acceptEnv(name string) bool {
	if name == "LANG" || strings.HasPrefix(name, "LC_") {
		return true
	}
	ok := false
	for _, p := range s.c.srv.cfg.AcceptEnv {
		neg := strings.HasPrefix(p, "!")
		if authkeys.Wildcard(strings.TrimPrefix(p, "!"), name) {
			if neg {
				return false // a negated match wins, as in ssh_config patterns
			}
			ok = true
		}
	}
	return ok
}

func (s *session) windowChange(b []byte) bool {
	var m windowChangeMsg
	if err := ssh.Unmarshal(b, &m); err != nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pty != nil {
		s.pty.Cols, s.pty.Rows, s.pty.W, s.pty.H = m.Cols, m.Rows, m.W, m.H
	}
	if s.ptmx == nil {
		return s.pty != nil
	}
	return setSize(s.ptmx, m.Cols, m.Rows, m.W, m.H) == nil
}

func (s *session) signal(b []byte) bool {
	var m signalMsg
	if err := ssh.Unmarshal(b, &m); err != nil {
		return false
	}
	sig := unix.SignalNum("SIG" + m.Signal)
	s.mu.Lock()
	defer s.mu.Unlock()
	if sig == 0 || s.cmd == nil || s.cmd.Process == nil {
		return false
	}
	s.c.Log.Info("signal", "sig", m.Signal)
	return s.cmd.Process.Signal(sig) == nil
}

// command builds the process for a shell, exec or subsystem request.
func (s *session) command(kind string, payload []byte) (*exec.Cmd, string, error) {
	u := s.c.User
	var line string
	switch kind {
	case "exec", "subsystem":
		var m execMsg
		if err := ssh.Unmarshal(payload, &m); err != nil {
			return nil, "", fmt.Errorf("bad %s request", kind)
		}
		line = m.Command
	}
	original := line
	if kind == "subsystem" {
		cmdline, ok := s.c.srv.cfg.Subsystems[line]
		if !ok {
			return nil, "", fmt.Errorf("unknown subsystem %q", line)
		}
		line = cmdline
	}
	env := s.environ()
	if p := s.c.Perms; p.HasCommand {
		if kind == "exec" {
			env = setEnv(env, "SSH_ORIGINAL_COMMAND", original)
		}
		line = p.Command
	}
	base := filepath.Base(u.Shell)
	cmd := &exec.Cmd{Path: u.Shell, Env: env, SysProcAttr: &syscall.SysProcAttr{}}
	if kind == "shell" && !s.c.Perms.HasCommand {
		cmd.Args = []string{"-" + base} // a login shell, as sshd starts it
	} else {
		cmd.Args = []string{base, "-c", line}
	}
	cmd.Dir = u.Home
	if st, err := os.Stat(u.Home); err != nil || !st.IsDir() {
		cmd.Dir = "/"
	}
	if os.Getuid() == 0 && u.UID != 0 {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: u.UID, Gid: u.GID, Groups: u.Groups}
	}
	show := line
	if kind == "shell" && !s.c.Perms.HasCommand {
		show = "(shell)"
	}
	return cmd, show, nil
}

// environ is the command's environment, built as sshd's do_setup_env:
// the account, then authorized_keys environment=, then what the client
// sent, then the SSH_* variables.
func (s *session) environ() []string {
	u := s.c.User
	path := "/usr/local/bin:/usr/bin:/bin:/usr/games"
	if u.UID == 0 {
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	}
	env := []string{
		"USER=" + u.Name, "LOGNAME=" + u.Name, "HOME=" + u.Home, "SHELL=" + u.Shell,
		"PATH=" + path, "MAIL=/var/mail/" + u.Name,
	}
	for _, kv := range s.c.Perms.Environment {
		k, v, _ := strings.Cut(kv, "=")
		env = setEnv(env, k, v)
	}
	for _, kv := range s.env {
		k, v, _ := strings.Cut(kv, "=")
		env = setEnv(env, k, v)
	}
	rh, rp := splitAddr(s.c.RemoteAddr())
	lh, lp := splitAddr(s.c.LocalAddr())
	env = setEnv(env, "SSH_CLIENT", rh+" "+rp+" "+lp)
	env = setEnv(env, "SSH_CONNECTION", rh+" "+rp+" "+lh+" "+lp)
	if s.pty != nil {
		env = setEnv(env, "TERM", s.pty.Term)
	}
	if s.agent != nil {
		env = setEnv(env, "SSH_AUTH_SOCK", s.agent.path)
	}
	if s.x11 != nil {
		env = setEnv(env, "DISPLAY", s.x11.display)
	}
	return env
}

func splitAddr(a net.Addr) (string, string) {
	h, p, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String(), "0"
	}
	return h, p
}

func setEnv(env []string, k, v string) []string {
	for i, kv := range env {
		if strings.HasPrefix(kv, k+"=") {
			env[i] = k + "=" + v
			return env
		}
	}
	return append(env, k+"="+v)
}

// start runs the command; done closes once it has exited, its output has
// been sent and the channel closed.
func (s *session) start(ctx context.Context, kind string, payload []byte) (chan struct{}, error) {
	cmd, show, err := s.command(kind, payload)
	if err != nil {
		return nil, err
	}
	log := s.c.Log.With("req", kind, "cmd", show)
	if s.x11 != nil {
		if err := s.runXAuth(cmd.Env); err != nil {
			log.Warn("x11 forwarding", "err", err)
		}
	}
	var wait func() error
	if s.pty != nil {
		wait, err = s.startPTY(cmd)
	} else {
		wait, err = s.startPipes(cmd)
	}
	if err != nil {
		return nil, err
	}
	log.Info("session started", "pid", cmd.Process.Pid, "pty", s.pty != nil)
	done := make(chan struct{})
	s.c.wg.Go(func() {
		defer close(done)
		werr := wait()
		<-s.replied
		s.exit(log, cmd, werr)
	})
	return done, nil
}

// startPipes runs cmd on three pipes. Our ends are *os.File so that
// closing them unblocks reads (the runtime poller).
func (s *session) startPipes(cmd *exec.Cmd) (func() error, error) {
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		closeAll(inR, inW, outR, outW)
		return nil, err
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, errW
	cmd.SysProcAttr.Setsid = true
	s.mu.Lock()
	err = cmd.Start()
	if err == nil {
		s.cmd = cmd
		s.closers = []io.Closer{outR, errR}
	}
	s.mu.Unlock()
	closeAll(inR, outW, errW)
	if err != nil {
		closeAll(inW, outR, errR)
		return nil, err
	}
	// stdin: the client's EOF closes the command's stdin.
	s.c.wg.Go(func() {
		io.Copy(inW, s.ch)
		inW.Close()
	})
	var out sync.WaitGroup
	out.Go(func() { s.copyOut(s.ch, outR); outR.Close() })
	out.Go(func() { s.copyOut(s.ch.Stderr(), errR); errR.Close() })
	return func() error {
		err := cmd.Wait()
		out.Wait() // all output is sent before exit-status
		return err
	}, nil
}

// copyOut copies the command's output r to w, counting it.
func (s *session) copyOut(w io.Writer, r io.Reader) {
	n, err := io.Copy(w, r)
	s.sent.Add(n)
	if err != nil && !errors.Is(err, syscall.EIO) && !errors.Is(err, os.ErrClosed) {
		s.outErr.CompareAndSwap(nil, &err)
	}
}

// outAttrs are the output figures of the "session ended" line.
func (s *session) outAttrs() []any {
	a := []any{"sent", s.sent.Load()}
	if p := s.outErr.Load(); p != nil {
		a = append(a, "output_err", *p)
	}
	return a
}

func closeAll(cs ...io.Closer) {
	for _, c := range cs {
		c.Close()
	}
}

// exit sends exit-status or exit-signal, then EOF, and closes the channel.
// The status goes before EOF: a client whose own input is done closes the
// channel as soon as it has our EOF (OpenSSH's does, and its master always),
// and x/crypto/ssh answers that CLOSE at once, after which no exit-status
// could be sent.
func (s *session) exit(log *slog.Logger, cmd *exec.Cmd, werr error) {
	defer s.ch.Close()
	defer s.ch.CloseWrite()
	s.c.answerQueued()
	st := cmd.ProcessState
	if st == nil {
		log.Info("session ended", append([]any{"err", werr}, s.outAttrs()...)...)
		s.ch.SendRequest("exit-status", false, ssh.Marshal(exitStatusMsg{255}))
		return
	}
	ws, _ := st.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		name := strings.TrimPrefix(unix.SignalName(ws.Signal()), "SIG")
		if name == "" {
			name = strconv.Itoa(int(ws.Signal()))
		}
		log.Info("session ended", append([]any{"signal", name}, s.outAttrs()...)...)
		s.ch.SendRequest("exit-signal", false, ssh.Marshal(exitSignalMsg{Signal: name, CoreDumped: ws.CoreDump()}))
	} else {
		log.Info("session ended", append([]any{"status", st.ExitCode()}, s.outAttrs()...)...)
		s.ch.SendRequest("exit-status", false, ssh.Marshal(exitStatusMsg{uint32(st.ExitCode())}))
	}
}
