package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/user"
	"runtime"
	"strings"

	"github.com/jumpgate/jumpgate/internal/cfgfile"
	"github.com/jumpgate/jumpgate/internal/dial"
	"github.com/jumpgate/jumpgate/internal/sshconf"
	"github.com/jumpgate/jumpgate/internal/vlog"
)

// New is the client for one command line, ready to [Client.Run] it or to
// dial its destination for another command ([Client.DialDest]).
func New(ctx context.Context, e Env, a *Options) *Client {
	home, uname, uid := LocalUser(e.Getenv)
	host, _ := os.Hostname()
	r := &Client{e: e, args: a, logw: e.IO.ErrOut}
	wd, _ := os.Getwd()
	r.base = sshconf.Options{
		// A signal ends a read that never would (a FIFO, /dev/zero).
		FS:         cfgfile.FS(ctx),
		WorkDir:    wd,
		ConfigFile: a.ConfigFile,
		LocalUser:  uname,
		UID:        uid,
		HomeDir:    home,
		LocalHost:  host,
		Getenv:     e.Getenv,
		Exec:       func(cmd string) bool { return matchExec(e, cmd) },
		UserHome: func(name string) (string, bool) {
			u, err := user.Lookup(name)
			if err != nil {
				return "", false
			}
			return u.HomeDir, true
		},
		Unhonoured: unhonoured,
		LookupHost: func(fqdn string) bool {
			_, err := net.DefaultResolver.LookupHost(ctx, fqdn)
			return err == nil
		},
	}
	return r
}

// DialDest resolves and dials the destination as jumpgate ssh does
// (chains, ProxyJump, config), printing failures as ssh(1) would.
func (r *Client) DialDest(ctx context.Context) (*dial.Conn, *sshconf.Host, error) {
	h, err := r.resolveDest()
	if err != nil {
		return nil, nil, err
	}
	conn, err := r.dialer().Dial(ctx, h)
	if err != nil {
		return nil, nil, r.connectError(h, err)
	}
	return conn, h, nil
}

// resolveDest resolves the destination's configuration: the + chain
// syntax becomes ProxyJump, then ssh_config with the command line's
// options. It sets r.log from the resolved LogLevel.
func (r *Client) resolveDest() (*sshconf.Host, error) {
	a := r.args
	dest := a.Dest
	if hops, last, ok, err := dial.ParseChain(dest); ok {
		if err != nil {
			return nil, r.fail("ssh: %v", err)
		}
		if _, dup := a.Override["ProxyJump"]; dup {
			return nil, r.fail("Cannot combine -J with a + chain in the destination (%s)", dest)
		}
		a.Set("ProxyJump", dial.JoinJumpList(hops))
		dest = last.Host
		if last.User != "" && a.DestUser == "" {
			a.DestUser = last.User
		}
		if last.Port > 0 && a.DestPort == 0 {
			a.DestPort = last.Port
		}
	}
	opts := r.base
	opts.CommandLine = a.CommandLine()
	opts.UserFromDestination = a.DestUser
	opts.PortFromDestination = a.DestPort
	opts.StdioForward = a.Stdio != ""
	h, err := sshconf.Resolve(dest, opts)
	if errors.Is(err, context.Canceled) {
		return nil, err // a signal: nothing to say, as ssh(1)
	}
	if err != nil {
		return nil, r.fail("%s", configErrorText(err))
	}
	r.log = vlog.New(r.logw, logLevel(h))
	if r.args.LogLevel > 0 && r.log.Enabled(vlog.Debug1) {
		// ssh(1) names itself for -v only, not for a LogLevel option.
		fmt.Fprintf(r.logw, "jumpgate %s (ssh of OpenSSH 9.2 compatible), %s\r\n", r.e.Version, runtime.Version())
	}
	for _, w := range h.Warnings() {
		r.log.Infof("%s", w)
	}
	return h, nil
}

// checkAgentPath is ssh(1)'s check of a ForwardAgent that names a socket
// (a path or $VAR): a missing one is an error, fatal with
// ExitOnForwardFailure, else the agent is simply not forwarded.
func (r *Client) checkAgentPath(h *sshconf.Host) error {
	v := h.Get("forwardagent")
	switch strings.ToLower(v) {
	case "", "yes", "no", "true", "false":
		return nil
	}
	p := v
	if strings.HasPrefix(v, "$") {
		p = r.e.Getenv(strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(v, "$"), "{"), "}"))
	} else if x, err := h.Expand(v); err == nil {
		p = x
	}
	_, err := os.Stat(p)
	if err == nil {
		return nil
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	msg := fmt.Sprintf("Cannot forward agent socket path \"%s\": %s", p, StrerrorText(err))
	if h.Get("exitonforwardfailure") == "yes" {
		return r.fail("%s", msg)
	}
	r.log.Errorf("%s", msg)
	r.noAgent = true
	return nil
}

// LogTo sends the client's messages to w (the -E file) instead of stderr.
func (r *Client) LogTo(w io.Writer) { r.logw = w }

// Log is the client's logger, at the resolved LogLevel once the
// destination has been resolved.
func (r *Client) Log() *vlog.Logger { return r.log }

// Dialer dials as the client does: its jump hosts' config, masters and
// prompts.
func (r *Client) Dialer() *dial.Dialer { return r.dialer() }

// HopVia connects to addr through the jump host hop, dialling hop (when
// it must) with d, the dialer of the connection that needs it.
type HopVia func(ctx context.Context, d *dial.Dialer, hop *sshconf.Host, addr string) (net.Conn, error)

// ShareHops makes the client reach what lies behind jump hosts through
// via instead of the jump hosts' masters: a fleet connects to each jump
// host once for all the hosts behind it, inside one process.
func (r *Client) ShareHops(via HopVia) { r.hopVia = via }

// ConfigHosts lists the concrete Host entries of the client's ssh_config
// (see [sshconf.Hosts]).
func (r *Client) ConfigHosts() ([]string, error) {
	hosts, err := sshconf.Hosts(r.base)
	if err != nil {
		return nil, r.fail("%s", configErrorText(err))
	}
	return hosts, nil
}
