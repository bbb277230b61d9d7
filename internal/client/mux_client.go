package client

// Being a client of a master: the session, -W or -N through the control
// socket, with our descriptors passed to the master.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/term"

	"github.com/jumpgate/jumpgate/internal/dial"
	"github.com/jumpgate/jumpgate/internal/mux"
	"github.com/jumpgate/jumpgate/internal/sshconf"
	"github.com/jumpgate/jumpgate/internal/sshio"
	"github.com/jumpgate/jumpgate/internal/vlog"
)

// runViaMaster runs the session (or -W, or -N) as a client of c, the
// master at path.
func (r *Client) runViaMaster(ctx context.Context, h *sshconf.Host, s muxSettings, c *mux.Client, sess muxSession) error {
	path := s.path
	defer c.Close()
	if r.log.Enabled(vlog.Debug1) {
		r.log.Debugf("auto-mux: Trying existing master at '%s'", path)
		r.log.Debugf("Sharing the connection of the master at %s: %s", path, strings.Join(r.route(h), " -> "))
	}
	a := r.args
	fc := c
	if interval, count := serverAlive(h); c.KeepAlive(interval, count) {
		r.log.Debugf("ServerAliveInterval %v through the master", interval)
	}
	if sess.owner {
		// The forwards of the command that started the master are the
		// master's, as ssh(1)'s: asked on a control connection of their
		// own that says nothing of owning them and has no session, they
		// stay when this command is done (as -O forward's do).
		var err error
		if fc, _, err = r.dialMasterFor(ctx, path, false, false); err != nil {
			return r.fail("%v", err)
		}
		defer fc.Close()
	}
	opened, err := r.muxForwards(ctx, h, fc)
	if !c.HasExtension(mux.ExtClientForwards) && !sess.owner {
		defer r.cancelMuxForwards(path, opened)
	}
	if err != nil {
		return err
	}
	stdin, stdout, stderr, cleanup, err := r.muxFiles(sess.stdinNull)
	if err != nil {
		return r.fail("%v", err)
	}
	defer cleanup()
	if a.Stdio != "" {
		port := uint32(a.StdioPort)
		if a.StdioPort == 0 {
			port = mux.PortStreamLocal
		}
		if err := c.StdioForward(ctx, a.StdioHost, port, stdin, stdout); err != nil {
			// Through jumpgate's own master (the user asked for no
			// multiplexing) the failure reads as without one.
			var re *mux.RefusedError
			if reason, ok := strings.CutPrefix(fmt.Sprint(err), "Session open refused by peer: "); ok && s.ours && errors.As(err, &re) {
				fmt.Fprintf(r.logw, "channel 0: open failed: %s\r\n", reason)
				return r.fail("stdio forwarding failed")
			}
			return r.fail("Stdio forwarding request failed: %v", err)
		}
		r.NotifyForked()
		err := c.Wait(ctx)
		if ferr := r.muxLost(h, err); ferr != nil {
			return ferr
		}
		return err
	}
	if sess.none {
		r.NotifyForked()
		r.releaseForkedStdio()
		if ferr := r.muxLost(h, c.Wait(ctx)); ferr != nil {
			return ferr
		}
		return &StatusError{exitConnection}
	}
	req := mux.NewSession{TTY: sess.tty, Subsystem: sess.subsystem, Command: sess.command,
		Term: r.e.Getenv("TERM"), EscapeChar: mux.NoEscape, Env: sessionEnv(h, r.e),
		Agent: h.Get("forwardagent") != "no" && h.Get("forwardagent") != ""}
	if ec := escapeChar(h.Get("escapechar")); ec >= 0 {
		req.EscapeChar = uint32(ec)
	}
	var (
		restore      func()
		rmu          sync.Mutex
		signalled    *mux.ExitSignal
		disconnected bool
	)
	ev := mux.SessionEvents{
		Opened: func(id uint32) {
			r.log.Debugf("mux_client_request_session: master session id: %d", id)
			r.NotifyForked()
		},
		ExitSignal:   func(m *mux.ExitSignal) { signalled = m },
		Disconnected: func() { disconnected = true },
		TTYAllocFailed: func() {
			rmu.Lock()
			defer rmu.Unlock()
			if restore != nil {
				restore()
				restore = nil
			}
		},
	}
	// As ssh(1), pass window changes on to the master's process.
	winch := make(chan os.Signal, 1)
	if sess.tty {
		signal.Notify(winch, syscall.SIGWINCH)
		defer signal.Stop(winch)
	}
	mctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if sess.tty {
		pctx, pcancel := context.WithTimeout(ctx, MuxAnswerBound)
		pid, _ := c.Check(pctx)
		pcancel()
		go func() {
			for {
				select {
				case <-winch:
					if pid > 1 {
						syscall.Kill(pid, syscall.SIGWINCH)
					}
				case <-mctx.Done():
					return
				}
			}
		}()
	}
	// Raw before asking: the master writes the remote's first output to
	// our terminal as soon as the command runs, which can be before its
	// answer reaches us, and a cooked terminal would turn its "\r\n"
	// into "\r\r\n".
	if sess.tty {
		if f, ok := r.e.IO.In.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			if st, err := term.MakeRaw(int(f.Fd())); err == nil {
				rmu.Lock()
				restore = func() { term.Restore(int(f.Fd()), st) }
				rmu.Unlock()
			}
		}
	}
	status, err := c.Session(mctx, req, stdin, stdout, stderr, ev)
	rmu.Lock()
	if restore != nil {
		restore()
	}
	rmu.Unlock()
	if ferr := r.muxLost(h, err); ferr != nil {
		return ferr
	}
	if sess.tty && r.log.Enabled(vlog.Info) {
		if disconnected && s.ours {
			// "~." through our own master ends as it does without one.
			fmt.Fprintf(r.logw, "Connection to %s closed.\r\n", h.Hostname())
		} else {
			fmt.Fprintf(r.logw, "Shared connection to %s closed.\r\n", h.Original())
		}
	}
	switch {
	case err == nil && signalled != nil:
		r.log.Debugf("Exit status -1")
		if s.ours {
			// As the direct path says it (run.go); OpenSSH's master
			// tells its clients nothing of a signal.
			r.log.Infof("Remote command on %s was killed by signal %s.", h.Hostname(), signalled.Signal)
		}
		return &StatusError{exitConnection}
	case err == nil:
		r.log.Debugf("Received exit status from master %d", status)
		return &StatusError{status}
	case ctx.Err() != nil:
		return &StatusError{exitConnection}
	case errors.Is(err, mux.ErrNoExitStatus):
		r.log.Debugf("Control master terminated unexpectedly")
		return &StatusError{exitConnection}
	default:
		return r.fail("session request failed: %v", err)
	}
}

// muxLost words a shared connection that died under us as ssh(1) words
// its own: our keepalives through the master went unanswered, or the
// master said why (its own keepalives); nil for anything else.
func (r *Client) muxLost(h *sshconf.Host, err error) error {
	var le *mux.LostError
	switch {
	case errors.Is(err, mux.ErrServerTimeout):
		r.log.Debugf("Timeout, server %s not responding.", h.Hostname())
		return r.fail("%v", &dial.TimeoutError{Host: h.Hostname()})
	case errors.As(err, &le):
		return r.fail("%s", le.Reason)
	}
	return nil
}

// muxFiles returns descriptors to pass for stdin, stdout and stderr: ours
// when they are files, else pipes copied to the streams we were given.
func (r *Client) muxFiles(stdinNull bool) (in, out, errf *os.File, cleanup func(), err error) {
	var closers []func()
	var wg sync.WaitGroup
	cleanup = func() {
		for _, c := range closers {
			c()
		}
		wg.Wait()
	}
	if stdinNull {
		if in, err = os.Open(os.DevNull); err != nil {
			return nil, nil, nil, cleanup, err
		}
		closers = append(closers, func() { in.Close() })
	} else if f, ok := r.e.IO.In.(*os.File); ok {
		in = f
	} else {
		pr, pw, err := os.Pipe()
		if err != nil {
			return nil, nil, nil, cleanup, err
		}
		go func() { sshio.Copy(pw, r.e.IO.In); pw.Close() }()
		in = pr
		closers = append(closers, func() { pr.Close() })
	}
	outFile := func(w io.Writer) (*os.File, error) {
		if f, ok := w.(*os.File); ok {
			return f, nil
		}
		pr, pw, err := os.Pipe()
		if err != nil {
			return nil, err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sshio.Copy(w, pr)
			pr.Close()
		}()
		// Our copy of the write end goes once passed; the master holds its own.
		closers = append([]func(){func() { pw.Close() }}, closers...)
		return pw, nil
	}
	if out, err = outFile(r.e.IO.Out); err != nil {
		return nil, nil, nil, cleanup, err
	}
	if errf, err = outFile(r.e.IO.ErrOut); err != nil {
		return nil, nil, nil, cleanup, err
	}
	return in, out, errf, cleanup, nil
}
