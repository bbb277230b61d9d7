package client

// Connection multiplexing for jumpgate ssh: ControlMaster,
// ControlPath, ControlPersist, -M, -S and -O, with jumpgate's defaults
// applied after resolution (so `ssh -G` stays OpenSSH's), and jump hosts
// reused through their own masters.
//
// Backgrounding: Go cannot fork, so a persistent master (ControlPersist
// yes or a time, jumpgate's default 10m) is a separate copy of ourselves
// started at once, which authenticates (with the terminal still there for
// prompts), listens, tells us it is ready over a pipe, detaches (setsid,
// stderr to /dev/null) and serves until idle. The first command is then a
// client of it like every later one, so no session ever depends on which
// process came first. With ControlPersist no the master is this process,
// as in ssh(1): it serves while its own session runs, then stops listening
// and waits for the clients it has.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/sys/unix"
	"golang.org/x/term"

	"github.com/jumpgate/jumpgate/internal/dial"
	"github.com/jumpgate/jumpgate/internal/forward"
	"github.com/jumpgate/jumpgate/internal/mux"
	"github.com/jumpgate/jumpgate/internal/selfexec"
	"github.com/jumpgate/jumpgate/internal/sshconf"
	"github.com/jumpgate/jumpgate/internal/sshconn"
	"github.com/jumpgate/jumpgate/internal/sshio"
	"github.com/jumpgate/jumpgate/internal/tune"
	"github.com/jumpgate/jumpgate/internal/vlog"
)

// muxMasterEnv marks a background master started by spawnMaster; its
// value is the descriptor on which it reports that it is listening.
const muxMasterEnv = "JUMPGATE_MUX_MASTER_FD"

// MuxAnswerBound is how long a master may take to answer before a new
// client treats it as dead and connects on its own.
const MuxAnswerBound = 2 * time.Second

// defaultPersist is jumpgate's ControlPersist when the config says nothing.
const defaultPersist = 10 * time.Minute

// muxSettings is the multiplexing decided for one host.
type muxSettings struct {
	mode    string        // no, yes, auto, ask, autoask
	path    string        // "" when multiplexing is off
	persist time.Duration // 0: no; <0: yes (forever)
	ours    bool          // jumpgate's defaults, not the user's config
}

func (s muxSettings) on() bool { return s.path != "" }

// tryMaster reports whether this mode first looks for a running master.
func (s muxSettings) tryMaster() bool {
	return s.on() && (s.mode == "no" || s.mode == "auto" || s.mode == "autoask")
}

// becomeMaster reports whether this mode starts a master when none runs.
func (s muxSettings) becomeMaster() bool { return s.on() && s.mode != "no" }

// muxSettingsFor decides multiplexing for h. cmdline holds the command
// line's options (for -o ControlMaster=no), nil for a jump host.
func (r *Client) muxSettingsFor(h *sshconf.Host, cmdline []sshconf.Option) (muxSettings, error) {
	norm := func(v string) string {
		switch v {
		case "true":
			return "yes"
		case "false", "":
			return "no"
		}
		return v
	}
	s := muxSettings{mode: norm(h.Get("controlmaster"))}
	persist := h.Get("controlpersist")
	switch persist {
	case "yes", "true":
		s.persist = -1
	case "no", "false", "":
	default:
		n, _ := strconv.Atoi(persist)
		s.persist = time.Duration(n) * time.Second
	}
	if cp := h.Get("controlpath"); cp != "" {
		s.path = cp
		return s, nil
	}
	if h.IsSet("controlmaster") || h.IsSet("controlpath") {
		// The user's config chose (ControlMaster no, ControlPath none):
		// OpenSSH's semantics, not jumpgate's defaults.
		if s.mode == "no" || h.IsSet("controlpath") {
			return muxSettings{mode: "no"}, nil
		}
	}
	if r.args.OpenSSHDefaults {
		// ssh(1) without a ControlPath: every command connects anew.
		return muxSettings{mode: "no"}, nil
	}
	// No ControlPath: jumpgate multiplexes by default, unless the command
	// line (or, for a hop, the destination's command line) said no.
	cmdMaster := ""
	for _, o := range append(cmdline, r.args.CommandLine()...) {
		k, v := OptionKey(o), o.Value
		if o.Key == "" {
			_, v, _ = strings.Cut(strings.TrimSpace(o.Value[len(k):]), "=")
			if v == "" {
				v = strings.TrimSpace(o.Value[len(k):])
			}
		}
		if strings.EqualFold(k, "ControlMaster") && cmdMaster == "" {
			cmdMaster = norm(strings.ToLower(strings.TrimSpace(v)))
		}
	}
	if cmdMaster == "no" {
		return muxSettings{mode: "no"}, nil
	}
	if s.mode == "no" {
		s.mode = "auto"
	}
	if s.persist == 0 {
		s.persist = defaultPersist
	}
	dir, err := r.controlDir()
	if err != nil {
		return muxSettings{mode: "no"}, err
	}
	s.path = r.defaultControlPath(dir, h)
	s.ours = true
	return s, nil
}

// controlDir is $XDG_RUNTIME_DIR/jumpgate or ~/.cache/jumpgate, 0700.
func (r *Client) controlDir() (string, error) {
	return ControlDir(r.e.Getenv, r.base.HomeDir, true)
}

func ControlDir(getenv func(string) string, home string, create bool) (string, error) {
	dir := filepath.Join(home, ".cache", "jumpgate")
	if x := getenv("XDG_RUNTIME_DIR"); x != "" {
		if fi, err := os.Stat(x); err == nil && fi.IsDir() {
			dir = filepath.Join(x, "jumpgate")
		}
	}
	if !create {
		return dir, nil
	}
	return dir, mux.PrepareDir(dir)
}

// dialMaster connects to the master at path within MuxAnswerBound. A
// stale socket is removed (one debug line); dead reports a master that
// exists but did not answer in time.
func (r *Client) dialMaster(ctx context.Context, path string, removeStale bool) (c *mux.Client, dead bool, err error) {
	dctx, cancel := context.WithTimeout(ctx, MuxAnswerBound)
	defer cancel()
	// Our forwards are our command line's: they end with this connection.
	c, err = mux.Dial(dctx, path, mux.Extension{Name: mux.ExtClientForwards}, mux.Extension{Name: mux.ExtSessionEvents})
	if err == nil {
		if _, err = c.Check(dctx); err != nil {
			c.Close()
		}
	}
	switch {
	case err == nil:
		return c, false, nil
	case errors.Is(err, syscall.ECONNREFUSED):
		if removeStale {
			r.log.Debugf("Stale control socket %s, unlinking", path)
			os.Remove(path)
		}
		return nil, false, err
	case errors.Is(err, os.ErrNotExist):
		r.log.Debugf("Control socket %q does not exist", path)
		return nil, false, err
	case errors.Is(err, context.DeadlineExceeded):
		return nil, true, err
	}
	r.log.Debugf("Control socket %s: %v", path, err)
	return nil, false, err
}

// muxControl is -O: talk to the master and exit as ssh(1) does.
func (r *Client) muxControl(ctx context.Context, h *sshconf.Host) error {
	cmd := r.args.MuxCommand
	s, err := r.muxSettingsFor(h, nil)
	if err != nil || !s.on() {
		return r.fail("No ControlPath specified for \"-O\" command")
	}
	dctx, cancel := context.WithTimeout(ctx, MuxAnswerBound)
	defer cancel()
	c, err := mux.Dial(dctx, s.path)
	if err != nil {
		var se syscall.Errno
		if errors.As(err, &se) {
			return r.fail("Control socket connect(%s): %s", s.path, StrerrorText(se))
		}
		return r.fail("Control socket connect(%s): %v", s.path, err)
	}
	defer c.Close()
	switch cmd {
	case "check":
		pid, err := c.Check(dctx)
		if err != nil {
			return r.fail("master alive check failed: %v", err)
		}
		fmt.Fprintf(r.logw, "Master running (pid=%d)\r\n", pid)
	case "exit":
		if err := c.Terminate(dctx); err != nil {
			return r.fail("termination request failed: %v", err)
		}
		if r.log.Enabled(vlog.Error) {
			fmt.Fprintf(r.logw, "Exit request sent.\r\n")
		}
	case "stop":
		if err := c.StopListening(dctx); err != nil {
			return r.fail("stop listening request failed: %v", err)
		}
		if r.log.Enabled(vlog.Error) {
			fmt.Fprintf(r.logw, "Stop listening request sent.\r\n")
		}
	case "forward", "cancel":
		// ssh(1)'s mux_client_forwards: every forward is tried, a
		// failure is an error line (quiet under -q), then one summary;
		// a failed cancel still exits 0.
		failed := false
		for _, fw := range h.Forwards() {
			port, err := c.Forward(dctx, muxForward(fw, cmd == "cancel"))
			var re *mux.RefusedError
			switch {
			case errors.As(err, &re) && re.Denied:
				failed = true
				r.log.Errorf("Master refused forwarding request: %s", re.Reason)
			case errors.As(err, &re):
				failed = true
				// Our master says why; ssh(1)'s master only that it failed.
				reason, why, _ := strings.Cut(re.Reason, "Port forwarding failed: ")
				if why != "" {
					r.log.Debugf("forwarding request: %s", why)
					reason += "Port forwarding failed"
				}
				r.log.Errorf("mux_client_forward: forwarding request failed: %s", reason)
			case err != nil:
				return r.fail("mux_client_forward: read from master failed: %v", err)
			case port > 0 && cmd == "forward":
				r.log.Verbosef("Allocated port %d for remote forward to %s", port, remoteTarget(fw))
				fmt.Fprintf(r.e.IO.Out, "%d\n", port)
			}
		}
		switch {
		case failed && cmd == "forward":
			r.log.Errorf("muxclient: master forward request failed")
			return &StatusError{exitConnection}
		case failed:
			r.log.Errorf("muxclient: master cancel forward request failed")
		}
	case "proxy":
		return r.fail("ssh -O proxy: proxy mode is not supported by jumpgate")
	default:
		return r.fail("Invalid multiplex command.")
	}
	return nil
}

// muxForward turns a forward of the command line into its mux request.
func muxForward(fw sshconf.Forward, cancel bool) mux.Forward {
	q := mux.Forward{Close: cancel, ListenHost: fw.ListenHost, ListenPort: uint32(fw.ListenPort),
		ConnectHost: fw.ConnectHost, ConnectPort: uint32(fw.ConnectPort)}
	if fw.HasListenHost && fw.ListenHost == "" {
		q.ListenHost = "*"
	}
	if fw.ListenPath != "" {
		q.ListenHost, q.ListenPort = fw.ListenPath, mux.PortStreamLocal
	}
	if fw.ConnectPath != "" {
		q.ConnectHost, q.ConnectPort = fw.ConnectPath, mux.PortStreamLocal
	}
	switch fw.Kind {
	case sshconf.Local:
		q.Kind = mux.FwdLocal
	case sshconf.Dynamic:
		q.Kind = mux.FwdDynamic
	default:
		q.Kind = mux.FwdRemote
	}
	return q
}

// muxPlan is what run does about multiplexing for the destination.
type muxPlan struct {
	settings muxSettings
	inProc   bool // serve a master from this process once connected
	none     bool // -N: the master is all this process does
}

// viaMaster runs the command through a master when there is one (or
// starts one in the background); done reports that it did.
func (r *Client) viaMaster(ctx context.Context, h *sshconf.Host, sess muxSession) (done bool, plan muxPlan, err error) {
	s, err := r.muxSettingsFor(h, nil)
	if err != nil {
		r.log.Debugf("multiplexing off: %v", err)
		return false, plan, nil
	}
	plan.settings, plan.none = s, sess.none
	if !s.on() {
		return false, plan, nil
	}
	if os.Getenv(muxMasterEnv) != "" {
		return true, plan, r.runBackgroundMaster(ctx, h, s)
	}
	if s.tryMaster() || s.mode == "yes" || s.mode == "ask" {
		c, dead, _ := r.dialMaster(ctx, s.path, true)
		if c != nil {
			if s.mode == "yes" || s.mode == "ask" {
				// ssh(1) disables multiplexing here; we say so once.
				c.Close()
				r.log.Infof("ControlSocket %s already in use by a running master; not starting another", s.path)
				return false, plan, nil
			}
			r.log.Debugf("auto-mux: using the master at %s", s.path)
			return true, plan, r.runViaMaster(ctx, h, s, c, sess)
		}
		if dead {
			r.log.Infof("Control master at %s did not answer within %v; connecting directly.", s.path, MuxAnswerBound)
			return false, plan, nil
		}
	}
	if !s.becomeMaster() {
		return false, plan, nil
	}
	if s.persist == 0 {
		plan.inProc = true
		return false, plan, nil
	}
	path, err := r.spawnMaster(ctx, r.e.Argv, s.path)
	if err != nil {
		var se *StatusError
		if errors.As(err, &se) {
			return true, plan, err
		}
		r.log.Debugf("background master: %v; connecting directly", err)
		return false, plan, nil
	}
	s.path = path
	c, _, err := r.dialMaster(ctx, s.path, false)
	if err != nil {
		r.log.Debugf("new master at %s: %v; connecting directly", s.path, err)
		return false, plan, nil
	}
	return true, plan, r.runViaMaster(ctx, h, s, c, sess)
}

// muxSession is what run decided about the session, for a master.
type muxSession struct {
	command   string
	tty       bool
	subsystem bool
	none      bool // -N
	stdinNull bool
}

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
	opened, err := r.muxForwards(ctx, h, c)
	if !c.HasExtension(mux.ExtClientForwards) {
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
		NotifyForked()
		return c.Wait(ctx)
	}
	if sess.none {
		NotifyForked()
		r.releaseForkedStdio()
		c.Wait(ctx)
		return &StatusError{exitConnection}
	}
	req := mux.NewSession{TTY: sess.tty, Subsystem: sess.subsystem, Command: sess.command,
		Term: r.e.Getenv("TERM"), EscapeChar: mux.NoEscape, Env: sessionEnv(h, r.e.Getenv),
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
			NotifyForked()
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

// spawnMaster starts a background master with args (argv, argv[0]
// included) and waits until it listens at path or fails. It returns the
// path to use: path, or the master's private socket when the login
// prompted (see runBackgroundMaster). Its failure to authenticate comes
// back as a *StatusError with its exit status (it has printed why).
func (r *Client) spawnMaster(ctx context.Context, args []string, path string) (string, error) {
	env := []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, forkedEnv+"=") && !strings.HasPrefix(kv, muxMasterEnv+"=") {
			env = append(env, kv)
		}
	}
	r.log.Debugf("starting a background master for %s", path)
	child, err := selfexec.Start(selfexec.Options{Argv0: args[0], Args: args[1:],
		Env: append(env, muxMasterEnv+"=3"), Stderr: os.Stderr})
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
	os.Unsetenv(muxMasterEnv)
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
	cfg := mux.Config{Client: conn.Client, Host: h.Original(), Log: r.log,
		Agent: func(sess *ssh.Session) error { return conn.Auth.ForwardAgent(conn.Client, sess) }}
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

// hopViaMaster is dial's ViaMaster: a connection to addr through the
// jump host hop's master, started in the background if none runs.
func (r *Client) hopViaMaster(ctx context.Context, hop *sshconf.Host, addr string) (net.Conn, error) {
	s, err := r.muxSettingsFor(hop, nil)
	if err != nil || !s.on() || s.mode == "no" && !s.tryMaster() {
		return nil, nil
	}
	c, dead, _ := r.dialMaster(ctx, s.path, true)
	if dead {
		r.log.Infof("Control master at %s for jump host %s did not answer within %v; connecting directly.", s.path, hop.Original(), MuxAnswerBound)
		return nil, nil
	}
	if c == nil {
		if !s.becomeMaster() || s.persist == 0 {
			return nil, nil
		}
		path, err := r.spawnMaster(ctx, r.hopMasterArgs(hop), s.path)
		if err != nil {
			var se *StatusError
			if errors.As(err, &se) {
				return nil, fmt.Errorf("master for jump host %s failed to connect", hop.Original())
			}
			r.log.Debugf("jump host %s: %v", hop.Original(), err)
			return nil, nil
		}
		if c, _, err = r.dialMaster(ctx, path, false); err != nil {
			return nil, nil
		}
	}
	host, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	fds, err := socketPair()
	if err != nil {
		c.Close()
		return nil, err
	}
	theirs := os.NewFile(uintptr(fds[1]), "hop-theirs")
	ours := os.NewFile(uintptr(fds[0]), "hop-ours")
	defer ours.Close()
	err = c.StdioForward(ctx, host, uint32(p), theirs, theirs)
	theirs.Close()
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("cannot reach %s from jump host %s through its master: %v", addr, hop.Original(), err)
	}
	nc, err := net.FileConn(ours)
	if err != nil {
		c.Close()
		return nil, err
	}
	r.log.Debugf("Reusing the master connection of jump host %s", hop.Original())
	return &hopConn{Conn: nc, c: c}, nil
}

// hopConn keeps the control connection of its stdio forward open.
type hopConn struct {
	net.Conn
	c *mux.Client
}

// SyscallConn exposes the socket, so the transport over it reads and
// writes with raw system calls (see rawio) as it does over TCP.
func (h *hopConn) SyscallConn() (syscall.RawConn, error) {
	sc, ok := h.Conn.(syscall.Conn)
	if !ok {
		return nil, errors.ErrUnsupported
	}
	return sc.SyscallConn()
}

func (h *hopConn) Close() error {
	err := h.Conn.Close()
	h.c.Close()
	return err
}

// hopMasterArgs is the command line of a background master for a jump
// host, resolved as resolveHop resolves it.
func (r *Client) hopMasterArgs(hop *sshconf.Host) []string {
	args := []string{"jumpgate", "ssh"}
	if r.args.ConfigFile != "" {
		args = append(args, "-F", r.args.ConfigFile)
	}
	if r.args.LogFile != "" {
		args = append(args, "-E", r.args.LogFile)
	}
	if r.args.LogLevel >= 0 {
		args = append(args, "-o", "LogLevel="+logLevelNames[r.args.LogLevel])
	}
	args = append(args, "-o", "ClearAllForwardings=yes", "-o", "ControlMaster=auto",
		"-l", hop.Get("user"), "-p", hop.Get("port"))
	if pj := hop.Get("proxyjump"); pj != "" {
		args = append(args, "-J", pj)
	}
	return append(args, "-N", hop.Original())
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
