// Package session runs one SSH session (RFC 4254 section 6) on an
// authenticated client the way OpenSSH 9.2's ssh(1) does: a command, a
// login shell or a subsystem, with or without a pty, environment
// variables, the local terminal in raw mode, window-size changes, the
// escape sequences of the escape character, and the remote exit status.
//
// Flow: [Run] opens the session channel → Setup hook → pty-req → env
// (without waiting for replies, as ssh(1)) → exec, shell or subsystem →
// raw mode, SIGWINCH watcher, stdin pump through the [Escaper] (pump.go),
// stdout/stderr copies → exit status → output drained → terminal
// restored → "Connection to HOST closed.".
package session

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/jumpgate/jumpgate/internal/sshwire"
	"github.com/jumpgate/jumpgate/internal/vlog"
)

// Options for one session.
type Options struct {
	// Command is the remote command; "" means a login shell.
	Command string
	// Subsystem says Command is a subsystem name (ssh -s).
	Subsystem bool
	// PTY requests a pty (the caller has applied the -t/-T/RequestTTY
	// rules).
	PTY bool
	// RequirePTY makes a refused pty fatal, as ssh(1) does when the pty
	// was asked for explicitly (-t, RequestTTY yes or force). Otherwise a
	// refusal is logged ("PTY allocation request failed on channel 0") and
	// the session goes on without one.
	RequirePTY bool
	// Term is TERM for the pty; "" sends "dumb".
	Term string
	// Env holds "NAME=value" pairs to send (SendEnv already matched, and
	// SetEnv), in order.
	Env []string
	// EscapeChar is the escape character, or -1 for none; it is active
	// only when PTY is true, as in ssh(1).
	EscapeChar int
	// EnableCommandLine enables the "~C" command line
	// (EnableEscapeCommandline; off by default in OpenSSH 9.2).
	EnableCommandLine bool
	// Forward carries out a forwarding typed at the "ssh>" prompt and
	// returns the message to show ("Forwarding port."). nil answers "Port
	// forwarding is not available yet."
	Forward func(ctx context.Context, req ForwardRequest) (string, error)
	// Stdin is copied to the channel; nil means /dev/null (-n): the remote
	// side sees EOF at once and Stdin is never read.
	Stdin io.Reader
	// Stdout and Stderr receive the remote output; nil discards it.
	Stdout, Stderr io.Writer
	// TTY is the local terminal (for raw mode, modes and window size)
	// when PTY is true and stdin is a terminal; nil otherwise.
	TTY *os.File
	// Host is the destination name for "Connection to %s closed.".
	Host string
	// Log has OpenSSH LogLevel semantics; nil discards (and counts as
	// QUIET for the messages ssh -q leaves out).
	Log *vlog.Logger
	// Setup runs on the new session before the pty and command requests
	// (the CLI uses it for agent forwarding).
	Setup func(*sshwire.Session) error
}

// DisconnectError is what [Run] returns when the user ended the
// connection with the escape sequence "~.". ssh(1) then exits 255 and
// prints nothing more than "Connection to HOST closed.", which Run has
// already written.
type DisconnectError struct {
	Host string
}

func (e *DisconnectError) Error() string {
	return fmt.Sprintf("connection to %s closed by the user (escape sequence)", e.Host)
}

// msgError is an error worded as ssh(1) words it, for the CLI to print
// as it stands.
type msgError struct {
	msg string
	err error
}

func (e *msgError) Error() string { return e.msg }
func (e *msgError) Unwrap() error { return e.err }

// closeGrace bounds the wait for the server to confirm the channel close
// once ctx is done, so a dead peer cannot hold Run.
const closeGrace = 2 * time.Second

// Run opens a session channel on client, runs it to the end and returns:
// nil for exit status 0; *[sshwire.ExitError] for a non-zero status or a
// signal; *[DisconnectError] when the user typed "~."; ctx.Err() when ctx
// ended first; other errors for failures. A refused pty is not an error
// unless [Options].RequirePTY is set.
//
// Subsystems: no exit status is awaited for a subsystem, so Run
// returns nil once the subsystem's output has ended.
func Run(ctx context.Context, client sshwire.Conn, o Options) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	sess, err := sshwire.NewSession(ctx, client)
	if err != nil {
		var oe *sshwire.OpenChannelError
		if errors.As(err, &oe) {
			return &msgError{fmt.Sprintf("channel 0: open failed: %s: %s", oe.Reason, oe.Message), err}
		}
		return fmt.Errorf("open session channel: %w", err)
	}
	r := &runner{o: o, client: client, sess: sess, log: o.Log, stderr: &lockedWriter{w: o.Stderr}}
	if r.o.Stdout == nil {
		r.o.Stdout = io.Discard
	}
	if o.Term == "" {
		r.o.Term = "dumb"
	}
	r.term = &terminal{f: o.TTY}
	// Restore the terminal on every way out, panics included; the
	// normal path restores it earlier, before the closing message.
	defer r.term.close()
	defer sess.Close()
	return r.run(ctx)
}

// runner is one running session.
type runner struct {
	o      Options
	client sshwire.Conn
	sess   *sshwire.Session
	log    *vlog.Logger
	stderr *lockedWriter
	term   *terminal

	disconnected atomic.Bool
	outErr       atomic.Pointer[error] // first failed write of remote output

	winMu   sync.Mutex
	lastWin winsize // the window size last sent
}

func (r *runner) run(ctx context.Context) error {
	o, sess := r.o, r.sess
	if o.Setup != nil {
		if err := o.Setup(sess); err != nil {
			return err
		}
	}
	var modes []ttyMode
	var ws winsize
	pty := false
	if o.PTY {
		ws = termSize(o.TTY)
		if o.TTY != nil {
			m, err := terminalModes(o.TTY)
			if err != nil {
				r.log.Debug3f("tty_make_modes: %v", err)
			}
			modes = m
		}
		ok, err := sess.SendRequest("pty-req", true, ptyRequest(o.Term, ws, modes))
		if err != nil {
			return fmt.Errorf("pty request on channel 0: %w", err)
		}
		pty = ok
		if !ok {
			if o.RequirePTY {
				return &msgError{"PTY allocation request failed on channel 0", nil}
			}
			r.log.Errorf("PTY allocation request failed on channel 0")
		} else {
			r.log.Debug2f("PTY allocation request accepted on channel 0")
		}
	}
	if len(o.Env) > 0 {
		r.log.Debugf("Sending environment.")
	}
	for _, kv := range o.Env {
		name, val, ok := strings.Cut(kv, "=")
		if !ok || name == "" {
			continue
		}
		r.log.Debugf("Sending env %s = %s", name, val)
		// No reply wanted, as ssh(1): a refused variable is not an error,
		// and the session does not wait a round trip per variable.
		if _, err := sess.SendRequest("env", false, ssh.Marshal(struct{ Name, Value string }{name, val})); err != nil {
			return fmt.Errorf("env request on channel 0: %w", err)
		}
	}

	stdin, err := sess.StdinPipe()
	if err != nil {
		return err
	}
	stdout, err := sess.StdoutPipe()
	if err != nil {
		return err
	}
	stderr, err := sess.StderrPipe()
	if err != nil {
		return err
	}

	kind := "shell"
	switch {
	case o.Subsystem:
		kind = "subsystem"
		r.log.Debugf("Sending subsystem: %s", o.Command)
		err = sess.RequestSubsystem(o.Command)
	case o.Command != "":
		kind = "exec"
		r.log.Debugf("Sending command: %s", o.Command)
		err = sess.Start(o.Command)
	default:
		err = sess.Shell()
	}
	if err != nil {
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("%s request on channel 0: %w", kind, err)
		}
		return &msgError{kind + " request failed on channel 0", err}
	}

	if pty {
		if err := r.term.enterRaw(); err != nil {
			r.log.Debugf("enter raw mode: %v", err)
		}
		stopWinch := r.watchWindow(ws)
		defer stopWinch()
	}

	var outputs sync.WaitGroup
	outputs.Go(func() { r.copyOutput(r.o.Stdout, stdout) })
	outputs.Go(func() { r.copyOutput(r.stderr, stderr) })

	stopStdin := func() {}
	if o.Stdin == nil {
		stdin.Close() // -n: EOF at once
	} else {
		var esc *Escaper
		if o.PTY && o.EscapeChar >= 0 && o.EscapeChar <= 0xff {
			esc = NewEscaper(byte(o.EscapeChar), o.EnableCommandLine)
		}
		stopStdin = r.pumpStdin(ctx, stdin, esc)
	}

	done := make(chan error, 1)
	if o.Subsystem {
		go func() { outputs.Wait(); done <- nil }()
	} else {
		go func() { done <- sess.Wait() }()
	}
	var werr error
	select {
	case werr = <-done:
		outputs.Wait()
	case <-ctx.Done():
		sess.Close()
		t := time.NewTimer(closeGrace)
		select {
		case <-done:
		case <-t.C:
		}
		t.Stop()
		stopStdin()
		r.term.close()
		return ctx.Err()
	}
	stopStdin()
	err = r.result(werr)
	r.term.close()
	if o.PTY && r.log.Enabled(vlog.Info) {
		fmt.Fprintf(r.stderr, "Connection to %s closed.\r\n", o.Host)
	}
	return err
}

// result turns what Wait returned into Run's error.
func (r *runner) result(werr error) error {
	if r.disconnected.Load() {
		return &DisconnectError{Host: r.o.Host}
	}
	var missing *sshwire.ExitMissingError
	if !errors.As(werr, &missing) {
		return werr
	}
	if p := r.outErr.Load(); p != nil {
		return fmt.Errorf("write remote output: %w", *p)
	}
	// Tell a lost connection from a server that closed the channel
	// without an exit status: a dead connection fails a global request
	// at once.
	if _, _, err := r.client.SendRequest(context.Background(), "keepalive@openssh.com", true, nil); err != nil {
		return &msgError{fmt.Sprintf("Connection to %s closed by remote host.", r.o.Host), werr}
	}
	return &msgError{"session channel 0 closed by the server without an exit status", werr}
}

// copyOutput copies remote output to w until the channel ends. If w
// fails (a closed pipe), the session is closed as ssh(1) closes its side
// of the channel, and the rest is drained so the channel never stalls.
func (r *runner) copyOutput(w io.Writer, rd io.Reader) {
	buf := make([]byte, 32*1024)
	for {
		n, err := rd.Read(buf)
		if n > 0 && w != nil {
			if _, werr := w.Write(buf[:n]); werr != nil {
				r.outErr.CompareAndSwap(nil, &werr)
				r.log.Debug2f("channel 0: write failed: %v", werr)
				r.sess.Close()
				w = nil
			}
		}
		if err != nil {
			return
		}
	}
}

// lockedWriter serialises writes to the local stderr, shared by the
// remote stderr copy and the escape messages.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	if l.w == nil {
		return len(p), nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
