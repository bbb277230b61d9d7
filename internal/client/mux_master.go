package client

// Being a master: started in the background (spawnMaster, then
// runBackgroundMaster in the copy) or in this process for
// ControlPersist no.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/jumpgate/jumpgate/internal/dial"
	"github.com/jumpgate/jumpgate/internal/forward"
	"github.com/jumpgate/jumpgate/internal/mux"
	"github.com/jumpgate/jumpgate/internal/selfexec"
	"github.com/jumpgate/jumpgate/internal/sshconf"
	"github.com/jumpgate/jumpgate/internal/sshconn"
	"github.com/jumpgate/jumpgate/internal/sshwire"
	"github.com/jumpgate/jumpgate/internal/tune"
)

// spawnMaster starts a background master with args (argv, argv[0]
// included) and waits until it listens at path or fails. It returns the
// path to use: path, or the master's private socket when the login
// prompted (see runBackgroundMaster). Its failure to authenticate comes
// back as a *StatusError with its exit status (it has printed why).
func (r *Client) spawnMaster(ctx context.Context, args []string, path string) (string, error) {
	r.log.Debugf("starting a background master for %s", path)
	child, err := selfexec.Start(selfexec.Options{Argv0: args[0], Args: args[1:],
		Env: append(r.e.Environ(), MasterEnv+"=3"), Stderr: os.Stderr})
	if err != nil {
		return "", err
	}
	// The master writes 1 (listening at path) or 2, its private path and
	// a newline.
	ok, err := child.WaitReady(ctx, func(rd io.Reader) bool {
		br := bufio.NewReader(rd)
		b, err := br.ReadByte()
		switch {
		case err != nil:
			return false
		case b == 2:
			p, err := br.ReadString('\n')
			path = strings.TrimSuffix(p, "\n")
			return err == nil
		default:
			return true
		}
	})
	if ok {
		child.Release()
		return path, nil
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == exitConnection {
		return "", &StatusError{exitConnection}
	}
	return "", fmt.Errorf("background master did not start: %v", err)
}

// promptCounter counts the questions a login asked.
type promptCounter struct {
	p sshconn.Prompter
	n atomic.Int32
}

func (c *promptCounter) Prompt(prompt string, echo bool) (string, error) {
	c.n.Add(1)
	return c.p.Prompt(prompt, echo)
}

// runBackgroundMaster is the process spawnMaster started: connect,
// listen, tell the parent, detach and serve until idle, -O stop or -O exit.
func (r *Client) runBackgroundMaster(ctx context.Context, h *sshconf.Host, s muxSettings) error {
	// Not for our children (a ProxyCommand): the parent reads to the end.
	unix.CloseOnExec(selfexec.ReadyFD)
	notify := os.NewFile(selfexec.ReadyFD, "mux-ready")
	errs, err := takeStderr()
	if err != nil {
		notify.Close()
		return r.fail("control master: %v", err)
	}
	started := false
	defer func() {
		if !started {
			errs.finish()
		}
	}()
	r.useMasterStderr(errs)
	// The master carries its clients' sessions and forwards.
	defer tune.For(tune.Master, r.e.Getenv)()
	d := r.dialer()
	prompts := &promptCounter{p: d.Prompter}
	d.Prompter = prompts
	conn, err := d.Dial(ctx, h)
	if err != nil {
		notify.Close()
		return r.connectError(h, err)
	}
	defer conn.Close()
	// jumpgate's default multiplexing must not change what the user sees:
	// a login that asked for a passphrase or password asks again next
	// time, as without a master. Such a master serves its creator alone,
	// on a socket of its own, and ends with it. (A ControlPath of the
	// user's keeps OpenSSH's semantics: shared.)
	private := s.ours && prompts.n.Load() > 0
	if private {
		s.path = fmt.Sprintf("%s.%d", s.path, os.Getpid())
		r.log.Debugf("login prompted: this master serves its first client only, at %s", s.path)
	}
	ln, err := mux.Listen(s.path)
	if errors.Is(err, mux.ErrExists) && !private {
		// Clients started together each start a master: the first to
		// listen serves, the others step aside (or replace a stale one).
		if c, _, _ := r.dialMaster(ctx, s.path, true); c != nil {
			c.Close()
			r.log.Debugf("another master serves %s; exiting", s.path)
			notify.Write([]byte{1})
			notify.Close()
			return nil
		}
		ln, err = mux.Listen(s.path)
	}
	if err != nil {
		notify.Close()
		return r.fail("%v", err)
	}
	cfg := r.masterConfig(h, conn, s)
	cfg.Creator = os.Getppid()
	// Its own ServerAliveInterval, as ssh(1)'s master. (A master in a
	// client's process leaves that to the client's own keepalives.)
	if interval, count := serverAlive(h); interval > 0 {
		cfg.KeepAlive = func(ctx context.Context) error {
			return dial.AliveCheck(ctx, conn.Conn, h.Hostname(), interval, count, r.log)
		}
	}
	cfg.Private = private
	m := mux.NewMaster(cfg)
	if private {
		notify.Write([]byte("\x02" + s.path + "\n"))
	} else {
		notify.Write([]byte{1})
	}
	notify.Close()
	syscall.Setsid()
	started = true
	if r.args.LogFile != "" {
		errs.detach(r.logw)
	} else {
		errs.detach(nil)
	}
	signal.Ignore(syscall.SIGHUP, syscall.SIGINT)
	go r.relayWinch(ctx, m)
	err = m.Serve(ctx, ln)
	r.log.Debugf("control master for %s exiting: %v", h.Original(), err)
	return nil
}

func (r *Client) relayWinch(ctx context.Context, m *mux.Master) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGWINCH)
	defer signal.Stop(ch)
	for {
		select {
		case <-ch:
			m.WindowChanged()
		case <-ctx.Done():
			return
		}
	}
}

func (r *Client) masterConfig(h *sshconf.Host, conn *dial.Conn, s muxSettings) mux.Config {
	cfg := mux.Config{Client: conn.Conn, Host: h.Original(), Log: r.log,
		Agent: func(sess *sshwire.Session) error { return conn.Auth.ForwardAgent(conn.Conn, sess) }}
	if s.persist > 0 {
		cfg.IdleTimeout = s.persist
	}
	pats := h.GetAll("sendenv")
	cfg.SendEnv = func(name string) bool { return matchEnv(pats, name) }
	if s.mode == "ask" || s.mode == "autoask" {
		cfg.Ask = askYesNo
	}
	mask, err := strconv.ParseUint(h.Get("streamlocalbindmask"), 8, 32)
	if err != nil {
		mask = 0o177
	}
	cfg.Forward = forward.Options{GatewayPorts: h.Get("gatewayports") == "yes",
		BindUnlink: h.Get("streamlocalbindunlink") == "yes", BindMask: os.FileMode(mask), Log: r.log,
		PermitRemoteOpen: h.GetAll("permitremoteopen")}
	return cfg
}

// askYesNo asks on /dev/tty, as ssh(1)'s ask_permission; no terminal
// means no.
func askYesNo(prompt string) bool {
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return false
	}
	defer tty.Close()
	fmt.Fprintf(tty, "%s(yes/no) ", prompt)
	var b [16]byte
	n, _ := tty.Read(b[:])
	ans := strings.ToLower(strings.TrimSpace(string(b[:n])))
	return ans == "yes" || ans == "y"
}

// serveInProcess serves a master from this process (ControlPersist no).
// The returned func stops listening and waits for the other clients'
// sessions to end. terminated is closed on -O exit.
func (r *Client) serveInProcess(h *sshconf.Host, conn *dial.Conn, s muxSettings) (stop func(), terminated, ended <-chan struct{}) {
	term := make(chan struct{})
	ln, err := mux.Listen(s.path)
	if errors.Is(err, mux.ErrExists) {
		if c, _, _ := r.dialMaster(context.Background(), s.path, true); c != nil {
			c.Close()
		} else {
			ln, err = mux.Listen(s.path)
		}
	}
	if err != nil {
		r.log.Infof("ControlSocket %s: %v; multiplexing disabled", s.path, err)
		return func() {}, term, nil
	}
	m := mux.NewMaster(r.masterConfig(h, conn, s))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		if err := m.Serve(ctx, ln); errors.Is(err, mux.ErrTerminated) {
			close(term)
		}
		close(done)
	}()
	return func() {
		m.Stop()
		if n := m.Info().Channels; len(n) > 0 {
			r.log.Infof("Waiting for %d multiplexed session(s) to finish.", len(n))
		}
		select {
		case <-done:
		case <-term:
		}
		cancel()
		<-done
	}, term, done
}

// startInProcessMaster serves a master from this process while it runs
// (ControlPersist no); -O exit cancels the returned context. stop waits
// for the other clients' sessions.
func (r *Client) startInProcessMaster(ctx context.Context, h *sshconf.Host, conn *dial.Conn, plan muxPlan) (context.Context, func()) {
	stop, term, ended := r.serveInProcess(h, conn, plan.settings)
	ctx, cancel := context.WithCancel(ctx)
	if !plan.none {
		// Our own session goes on after -O stop, as in ssh(1).
		ended = nil
	}
	go func() {
		// -O exit ends everything; with -N, so does -O stop once the
		// other clients' sessions are over (ssh(1)'s client_stop_mux).
		select {
		case <-term:
			cancel()
		case <-ended:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, func() {
		stop()
		cancel()
	}
}
