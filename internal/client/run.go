package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"strings"
	"time"

	"github.com/jumpgate/jumpgate/internal/dial"
	"github.com/jumpgate/jumpgate/internal/iostreams"
	"github.com/jumpgate/jumpgate/internal/session"
	"github.com/jumpgate/jumpgate/internal/sshconf"
	"github.com/jumpgate/jumpgate/internal/sshconn"
	"github.com/jumpgate/jumpgate/internal/sshwire"
	"github.com/jumpgate/jumpgate/internal/tune"
	"github.com/jumpgate/jumpgate/internal/vlog"
)

// Client is one invocation of `jumpgate ssh`: what the command line and
// the process give, and where messages go.
type Client struct {
	e    Env
	args *Options
	base sshconf.Options // for the destination and, trimmed, for jump hosts
	logw io.Writer       // stderr, or the -E file
	log  *vlog.Logger
	// noAgent: ForwardAgent names a socket that is not there, so (as
	// ssh(1)) the agent is not forwarded after saying so.
	noAgent bool
	// notified: the background copy of -f has told its parent.
	notified bool
	// hopVia, when set, replaces the jump hosts' masters ([Client.ShareHops]).
	hopVia HopVia
}

// fail prints an ssh(1)-style message on the log and exits 255.
func (r *Client) fail(format string, args ...any) error {
	fmt.Fprintf(r.logw, "%s\r\n", vlog.Clip(fmt.Sprintf(format, args...)))
	return &StatusError{exitConnection}
}

// Run is ssh(1): connect (or share a master's connection) and run the
// session, -W or -N with the command line's forwards. Its failures have
// been printed in ssh(1)'s words; a *StatusError carries the exit status.
func (r *Client) Run(ctx context.Context) (retErr error) {
	a := r.args
	h, err := r.resolveDest()
	if err != nil {
		return err
	}

	for _, u := range a.commandLineUsers() {
		if !validRemoteUser(u) {
			return r.fail("remote username contains invalid characters")
		}
	}

	// Session decisions, in ssh(1)'s order.
	command := strings.Join(a.Command, " ")
	remoteCommand := h.Get("remotecommand")
	if strings.EqualFold(remoteCommand, "none") {
		remoteCommand = ""
	}
	if remoteCommand != "" && command != "" {
		return r.fail("Cannot execute command-line and remote command.")
	}
	if command == "" {
		command = remoteCommand // sshconf has expanded its tokens
	}
	sessionType := h.Get("sessiontype")
	if h.Get("forkafterauthentication") == "yes" && command == "" && sessionType != "none" {
		return r.fail("Cannot fork into background without a command to execute.")
	}
	stdinNull := h.Get("stdinnull") == "yes"
	// RequestTTY comes back as `ssh -G` spells it: true, false, force
	// or auto; yes and no are the config file's synonyms.
	requestTTY := h.Get("requesttty")
	ttyYes := requestTTY == "yes" || requestTTY == "true"
	ttyNo := requestTTY == "no" || requestTTY == "false"
	tty := ttyYes || requestTTY == "force"
	if command == "" {
		tty = !ttyNo
	}
	if ttyNo || sessionType == "none" {
		tty = false
	}
	if (!r.e.IO.InIsTerminal() || stdinNull) && requestTTY != "force" {
		if tty && a.MuxCommand == "" {
			r.log.Infof("Pseudo-terminal will not be allocated because stdin is not a terminal.")
		}
		tty = false
	}
	if err := r.checkAgentPath(h); err != nil {
		return err
	}
	if a.PrintG {
		if err := h.WriteG(r.e.IO.Out); err != nil {
			return r.fail("%v", err)
		}
		return nil
	}
	if a.MuxCommand != "" && a.MuxCommand != "proxy" {
		return r.muxControl(ctx, h)
	}
	if err := r.unsupported(h); err != nil {
		return err
	}

	if r.e.Master {
		_, _, err := r.viaMaster(ctx, h, muxSession{})
		return err
	}
	if a.ForkAfter && !r.e.Forked {
		return r.ForkToBackground(ctx)
	}
	// X11 goes straight to the server: a master would forward its own
	// DISPLAY, not ours (see x11.go).
	var (
		done bool
		plan muxPlan
	)
	if !wantX11(h) || a.Stdio != "" || sessionType == "none" || a.MuxCommand == "proxy" {
		done, plan, err = r.viaMaster(ctx, h, muxSession{command: command, tty: tty,
			subsystem: sessionType == "subsystem", none: sessionType == "none", stdinNull: stdinNull})
	}
	if done {
		return err
	}

	// Sessions and forwards may carry bulk data.
	defer tune.For(tune.Bulk, r.e.Getenv)()
	conn, err := r.dialer().Dial(ctx, h)
	if err != nil {
		return r.connectError(h, err)
	}
	defer conn.Close()
	// Before anything else reads from the connection: the server sends
	// its host keys right after authentication.
	defer conn.Auth.ServeGlobalRequests(conn.Conn)()
	if plan.inProc {
		var stop func()
		ctx, stop = r.startInProcessMaster(ctx, h, conn, plan)
		defer stop()
	}
	fwd, err := r.startForwards(ctx, h, conn)
	if err != nil {
		return err
	}
	if fwd != nil {
		defer fwd.Close()
	}
	x11 := r.startX11(ctx, h, conn)
	defer x11.close()
	r.runLocalCommand(h)
	r.NotifyForked() // -f: only once the forwards are up

	// A keepalive timeout closes the connection under the session, which
	// then fails in its own words ("closed by remote host"); ssh(1) says
	// only "Timeout, server … not responding." and exits 255, so the
	// timeout wins over whatever the session or -W returned.
	var ka keepaliveWatch
	if interval, count := serverAlive(h); interval > 0 {
		ka.start(ctx, func(kctx context.Context) error {
			return dial.KeepAlive(kctx, conn.Conn, h.Hostname(), interval, count, r.log)
		})
	}
	defer func() {
		if kerr := ka.take(); kerr != nil {
			retErr = r.fail("%v", kerr)
		}
	}()

	var stdin io.Reader = r.e.IO.In
	if stdinNull {
		stdin = nil
	}
	switch {
	case a.Stdio != "":
		return r.stdioForward(ctx, conn, stdin)
	case sessionType == "none":
		r.log.Debugf("Requesting no-more-sessions@openssh.com")
		return r.waitNoSession(ctx, conn)
	}
	so := session.Options{
		Command:           command,
		Subsystem:         sessionType == "subsystem",
		PTY:               tty,
		EnableCommandLine: h.Get("enableescapecommandline") == "yes",
		RequirePTY:        ttyYes || requestTTY == "force",
		Term:              r.e.Getenv("TERM"),
		Env:               sessionEnv(h, r.e),
		EscapeChar:        escapeChar(h.Get("escapechar")),
		Stdin:             stdin,
		Stdout:            r.e.IO.Out,
		Stderr:            r.e.IO.ErrOut,
		Host:              h.Hostname(),
		Log:               r.log,
		Setup: func(s *sshwire.Session) error {
			if err := x11.request(r, s); err != nil {
				return err
			}
			if r.noAgent {
				return nil
			}
			return conn.Auth.ForwardAgent(conn.Conn, s)
		},
	}
	if tty {
		if f, ok := r.e.IO.In.(*os.File); ok && iostreams.IsTerminal(f) {
			so.TTY = f
		}
	}
	err = session.Run(ctx, conn.Conn, so)
	if err != nil {
		if kerr := ka.take(); kerr != nil {
			return r.fail("%v", kerr)
		}
		// A broken transport is fatal in ssh(1): its words, and no
		// closing account of the connection.
		if msg := transportFailure(conn.Conn); msg != "" {
			return r.fail("%s", msg)
		}
	}
	r.logTransferred(conn)
	var ee *sshwire.ExitError
	var de *session.DisconnectError
	switch {
	case err == nil:
		r.log.Debugf("Exit status 0")
		return nil
	case errors.As(err, &ee):
		r.log.Debugf("Exit status %d", ee.ExitStatus())
		if ee.Signal() != "" {
			r.log.Infof("Remote command on %s was killed by signal %s.", h.Hostname(), ee.Signal())
			return &StatusError{exitConnection}
		}
		return &StatusError{ee.ExitStatus()}
	case errors.As(err, &de):
		return &StatusError{exitConnection}
	case ctx.Err() != nil:
		return &StatusError{exitConnection}
	default:
		return r.fail("%v", err)
	}
}

// logTransferred is ssh(1)'s closing account of the connection, at
// LogLevel VERBOSE.
func (r *Client) logTransferred(conn *dial.Conn) {
	if !r.log.Enabled(vlog.Verbose) {
		return
	}
	sent, received, up := conn.Transferred()
	secs := up.Seconds()
	r.log.Verbosef("Transferred: sent %d, received %d bytes, in %.1f seconds", sent, received, secs)
	if secs > 0 {
		r.log.Verbosef("Bytes per second: sent %.1f, received %.1f", float64(sent)/secs, float64(received)/secs)
	}
}

// unsupported refuses what later issues deliver, before connecting, so that
// nobody is left thinking a forward or tunnel is up.
func (r *Client) unsupported(h *sshconf.Host) error {
	var what []string
	if t := h.Get("tunnel"); t != "" && t != "no" && t != "false" {
		what = append(what, "tun/tap forwarding (-w, Tunnel)")
	}
	if len(what) > 0 {
		return r.fail("%s: jumpgate ssh does not open tunnels; jumpgate vpn %s --l3 (or --l2) does, configuring both ends. Nothing was started.", strings.Join(what, ", "), h.Original())
	}
	if h.Get("compression") == "yes" && r.e.Handshake != nil {
		// Only our engine compresses; the other is x/crypto's.
		r.log.Debugf("Compression is not supported by this SSH engine; continuing uncompressed.")
	}
	return nil
}

func (r *Client) dialer() *dial.Dialer {
	var prompter sshconn.Prompter = sshconn.NewTTYPrompter(r.log)
	d := &dial.Dialer{
		Resolve:  r.resolveHop,
		Prompter: prompter,
		Log:      r.log,
		Warn:     r.logw,
		Getenv:   r.e.Getenv,
		Stderr:   r.e.IO.ErrOut,
		Banner:   r.e.IO.ErrOut,

		ViaMaster:     r.hopViaMaster,
		ResolveDomain: r.resolveDomain,
		Handshake:     r.e.Handshake,
	}
	if r.hopVia != nil {
		d.ViaMaster = func(ctx context.Context, hop *sshconf.Host, addr string) (net.Conn, error) {
			return r.hopVia(ctx, d, hop, addr)
		}
	}
	return d
}

// resolveHop resolves a jump host as ssh(1) does for the
// `ssh -l user -p port -J extra -F config -v -W … host` it would run: the
// hop's own config, the -F file and the verbosity, but not -o options.
func (r *Client) resolveHop(hop dial.Hop, extra string) (*sshconf.Host, error) {
	opts := r.base
	opts.CommandLine = nil
	if r.args.LogLevel >= int(vlog.Debug1) {
		opts.CommandLine = append(opts.CommandLine, sshconf.Option{Key: "LogLevel", Value: logLevelNames[r.args.LogLevel]})
	}
	if hop.User != "" {
		opts.CommandLine = append(opts.CommandLine, sshconf.Option{Key: "User", Value: hop.User})
	}
	if hop.Port > 0 {
		opts.CommandLine = append(opts.CommandLine, sshconf.Option{Key: "Port", Value: strconv.Itoa(hop.Port)})
	}
	if extra != "" {
		opts.CommandLine = append(opts.CommandLine, sshconf.Option{Key: "ProxyJump", Value: extra})
	}
	opts.StdioForward = true
	return sshconf.Resolve(hop.Host, opts)
}

// connectError prints a failed connection as ssh(1) would.
func (r *Client) connectError(h *sshconf.Host, err error) error {
	var (
		hk  *sshconn.HostKeyError
		hs  *dial.HandshakeError
		hop *dial.HopError
		ce  *dial.ConnectError
		re  *dial.ResolveError
		pe  *sshconf.ParseError
	)
	prefix := ""
	if errors.As(err, &hop) {
		prefix = "jump host " + hop.Hop + ": "
	}
	switch {
	case errors.Is(err, context.Canceled):
		return &StatusError{exitConnection}
	case errors.As(err, &hk):
		if prefix != "" {
			return r.fail("Host key verification failed (%s).", strings.TrimSuffix(prefix, ": "))
		}
		return r.fail("Host key verification failed.")
	case errors.As(err, &hs) && hs.AuthFailed():
		return r.fail("%s%s@%s: Permission denied (%s).", prefix, hs.Host.Get("user"), hs.Host.Hostname(), hs.Methods())
	case errors.As(err, &re):
		return r.fail("ssh: %s%v", prefix, re)
	case errors.As(err, &ce):
		return r.fail("ssh: %s%v", prefix, ce)
	case errors.As(err, &pe):
		return r.fail("%s%s", prefix, configErrorText(pe))
	case errors.As(err, &hs):
		return r.fail("%sConnection to %s port %s failed during the SSH handshake: %v", prefix, hs.Host.Hostname(), hs.Host.Get("port"), trimSSHPrefix(hs.Err))
	default:
		if prefix != "" {
			return r.fail("ssh: %v", err)
		}
		return r.fail("ssh: connect to %s: %v", h.Hostname(), err)
	}
}

func trimSSHPrefix(err error) string {
	s := err.Error()
	for {
		t := strings.TrimPrefix(strings.TrimPrefix(s, "ssh: "), "handshake failed: ")
		if t == s {
			return s
		}
		s = t
	}
}

// stdioForward is -W: standard input and output joined to host:port (or a
// Unix socket path) on the far side.
func (r *Client) stdioForward(ctx context.Context, conn *dial.Conn, stdin io.Reader) error {
	a := r.args
	var (
		c   net.Conn
		err error
	)
	if a.StdioPort == 0 {
		c, err = sshwire.Dial(context.Background(), conn.Conn, "unix", a.StdioHost)
	} else {
		c, err = sshwire.Dial(context.Background(), conn.Conn, "tcp", net.JoinHostPort(a.StdioHost, strconv.Itoa(a.StdioPort)))
	}
	if err != nil {
		fmt.Fprintf(r.logw, "channel 0: open failed: %s\r\n", dial.OpenFailure(err))
		return r.fail("stdio forwarding failed")
	}
	defer c.Close()
	done := make(chan struct{})
	go func() {
		if stdin != nil {
			io.Copy(c, stdin)
		}
		if cw, ok := c.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		}
	}()
	go func() {
		io.Copy(r.e.IO.Out, c)
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return &StatusError{exitConnection}
	}
}

// waitNoSession is -N: stay connected until the server or a signal ends it.
func (r *Client) waitNoSession(ctx context.Context, conn *dial.Conn) error {
	r.releaseForkedStdio()
	closed := make(chan error, 1)
	go func() { closed <- conn.Conn.Wait() }()
	select {
	case <-closed:
		return &StatusError{exitConnection}
	case <-ctx.Done():
		return &StatusError{exitConnection}
	}
}

// sessionEnv is SendEnv (patterns over the local environment) then SetEnv.
func sessionEnv(h *sshconf.Host, e Env) []string {
	var out []string
	pats := h.GetAll("sendenv")
	if len(pats) > 0 {
		for _, kv := range e.Environ() {
			name, _, _ := strings.Cut(kv, "=")
			if matchEnv(pats, name) {
				out = append(out, name+"="+e.Getenv(name))
			}
		}
	}
	return append(out, h.GetAll("setenv")...)
}

func matchEnv(pats []string, name string) bool {
	ok := false
	for _, p := range pats {
		neg := strings.HasPrefix(p, "-")
		if sshconf.MatchPattern(name, strings.TrimPrefix(p, "-")) {
			ok = !neg
		}
	}
	return ok
}

// escapeChar decodes EscapeChar as `ssh -G` prints it: "none", "~", or
// "\^A" for a control character.
func escapeChar(v string) int {
	switch {
	case v == "none" || v == "":
		return -1
	case len(v) == 3 && v[0] == '\\' && v[1] == '^':
		return int(v[2] & 31)
	case strings.HasPrefix(v, "^") && len(v) == 2:
		return int(v[1] & 31)
	case strings.HasPrefix(v, `\\`):
		return '\\'
	default:
		return int(v[0])
	}
}

func logLevel(h *sshconf.Host) vlog.Level {
	l, err := vlog.ParseLevel(h.Get("loglevel"))
	if err != nil {
		return vlog.Info
	}
	return l
}

// configErrorText words a config error as ssh(1): "FILE line N: …", and
// for -o "command-line line 0: …" (with OpenSSH's own inconsistency for
// unknown keywords).
func configErrorText(err error) string {
	var bo *sshconf.BadOptionsError
	if errors.As(err, &bo) {
		return strings.ReplaceAll(bo.Error(), "\n", "\r\n")
	}
	var pe *sshconf.ParseError
	if !errors.As(err, &pe) {
		return err.Error()
	}
	if pe.File == "" {
		msg := pe.Err.Error()
		if strings.HasPrefix(msg, "Bad configuration option") {
			return "command-line: line 0: " + msg
		}
		return "command-line line 0: " + msg
	}
	if pe.Line == 0 {
		return pe.Err.Error()
	}
	return err.Error()
}

func matchExec(e Env, cmd string) bool {
	sh := e.Getenv("SHELL")
	if sh == "" {
		sh = "/bin/sh"
	}
	c := exec.Command(sh, "-c", cmd)
	c.Stdout = e.IO.ErrOut
	c.Stderr = e.IO.ErrOut
	return c.Run() == nil
}

// LocalUser is who runs us: home from the passwd entry as ssh(1) takes it.
func LocalUser(getenv func(string) string) (home, name string, uid int) {
	uid = os.Getuid()
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		return u.HomeDir, u.Username, uid
	}
	return getenv("HOME"), getenv("USER"), uid
}

// StrerrorText is the C library's wording of an errno ("No such file or
// directory").
func StrerrorText(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	s := err.Error()
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// serverAlive is h's ServerAliveInterval (0: none) and ServerAliveCountMax.
func serverAlive(h *sshconf.Host) (time.Duration, int) {
	interval, _ := strconv.Atoi(h.Get("serveraliveinterval"))
	count, _ := strconv.Atoi(h.Get("serveralivecountmax"))
	return time.Duration(max(interval, 0)) * time.Second, count
}

// keepaliveWatch runs ServerAliveInterval's keepalives beside the session.
type keepaliveWatch struct {
	stop context.CancelFunc
	done chan error
}

func (k *keepaliveWatch) start(ctx context.Context, run func(context.Context) error) {
	kctx, stop := context.WithCancel(ctx)
	k.stop, k.done = stop, make(chan error, 1)
	go func() { k.done <- run(kctx) }()
}

// take stops the keepalives and returns their timeout, if any, once;
// later calls (and a watch never started) return nil.
func (k *keepaliveWatch) take() error {
	if k.done == nil {
		return nil
	}
	k.stop()
	err := <-k.done
	k.done = nil
	return err
}
