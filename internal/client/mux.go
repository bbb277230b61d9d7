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
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jumpgate/jumpgate/internal/mux"
	"github.com/jumpgate/jumpgate/internal/sshconf"
	"github.com/jumpgate/jumpgate/internal/vlog"
)

// MasterEnv marks a background master started by spawnMaster; its
// value is the descriptor on which it reports that it is listening.
const MasterEnv = "JUMPGATE_MUX_MASTER_FD"

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
	return r.dialMasterFor(ctx, path, removeStale, true)
}

// dialMasterFor is dialMaster; ownForwards says in the hello that the
// forwards asked on this connection end with it.
func (r *Client) dialMasterFor(ctx context.Context, path string, removeStale, ownForwards bool) (c *mux.Client, dead bool, err error) {
	dctx, cancel := context.WithTimeout(ctx, MuxAnswerBound)
	defer cancel()
	exts := []mux.Extension{{Name: mux.ExtSessionEvents}, {Name: mux.ExtKeepAlive}}
	if ownForwards {
		// Our forwards are our command line's: they end with this connection.
		exts = append(exts, mux.Extension{Name: mux.ExtClientForwards})
	}
	c, err = mux.Dial(dctx, path, exts...)
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
	case errors.Is(err, context.DeadlineExceeded): // mux.Dial's timeouts, and a full queue (EAGAIN)
		return nil, true, err
	case errors.Is(err, io.EOF), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		// A master going away as we connected (killed, or exiting): as a
		// refused socket, nothing to say at the default level.
		r.log.Debugf("Control master at %s went away: %v", path, err)
		return nil, false, err
	}
	// As ssh(1): said at the default level, then on without the master.
	r.log.Errorf("Control socket connect(%s): %v", path, err)
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

// proxyViaMaster is -O proxy: the session through a running master and
// nothing else. ssh(1) then speaks the connection protocol itself over
// the control socket (PROTOCOL.mux's proxy mode); we ask the master with
// its ordinary requests, which run the same session with the same exit
// status, and fail as ssh(1) does when no master answers.
func (r *Client) proxyViaMaster(ctx context.Context, h *sshconf.Host, s muxSettings, sess muxSession) error {
	if !s.on() {
		return r.fail("No ControlPath specified for \"-O\" command")
	}
	c, _, err := r.dialMaster(ctx, s.path, false)
	if err != nil {
		var se syscall.Errno
		if errors.As(err, &se) {
			return r.fail("Control socket connect(%s): %s", s.path, StrerrorText(se))
		}
		return r.fail("Control socket connect(%s): %v", s.path, err)
	}
	return r.runViaMaster(ctx, h, s, c, sess)
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
	if r.args.MuxCommand == "proxy" {
		return true, plan, r.proxyViaMaster(ctx, h, s, sess)
	}
	if !s.on() {
		return false, plan, nil
	}
	if r.e.Master {
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
	// A master of the user's (ControlPath configured) has set up our
	// forwards as its own, as ssh(1)'s: see runBackgroundMaster.
	sess.owner = !s.ours
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
	owner     bool // started the master, which holds our forwards
}
