package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"strings"

	"github.com/jumpgate/jumpgate/internal/dial"
	"github.com/jumpgate/jumpgate/internal/sshconf"
	"github.com/jumpgate/jumpgate/internal/vlog"
)

// newSSHRun is runSSH's setup without its session decisions.
func newSSHRun(ctx context.Context, e *env, a *sshArgs) *sshRun {
	home, uname, uid := localUser(e)
	host, _ := os.Hostname()
	r := &sshRun{e: e, args: a, logw: e.io.ErrOut}
	r.base = sshconf.Options{
		ConfigFile: a.configFile,
		LocalUser:  uname,
		UID:        uid,
		HomeDir:    home,
		LocalHost:  host,
		Getenv:     e.getenv,
		Exec:       func(cmd string) bool { return matchExec(e, cmd) },
		UserHome: func(name string) (string, bool) {
			u, err := user.Lookup(name)
			if err != nil {
				return "", false
			}
			return u.HomeDir, true
		},
		LookupHost: func(fqdn string) bool {
			_, err := net.DefaultResolver.LookupHost(ctx, fqdn)
			return err == nil
		},
	}
	return r
}

// dialDest resolves and dials the destination as jumpgate ssh does
// (chains, ProxyJump, config), printing failures as ssh(1) would.
func (r *sshRun) dialDest(ctx context.Context) (*dial.Conn, *sshconf.Host, error) {
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
func (r *sshRun) resolveDest() (*sshconf.Host, error) {
	a := r.args
	dest := a.dest
	if hops, last, ok, err := dial.ParseChain(dest); ok {
		if err != nil {
			return nil, r.fail("ssh: %v", err)
		}
		if _, dup := a.override["ProxyJump"]; dup {
			return nil, r.fail("Cannot combine -J with a + chain in the destination (%s)", dest)
		}
		a.set("ProxyJump", dial.JoinJumpList(hops))
		dest = last.Host
		if last.User != "" && a.destUser == "" {
			a.destUser = last.User
		}
		if last.Port > 0 && a.destPort == 0 {
			a.destPort = last.Port
		}
	}
	opts := r.base
	opts.CommandLine = a.options()
	opts.UserFromDestination = a.destUser
	opts.PortFromDestination = a.destPort
	opts.StdioForward = a.stdio != ""
	h, err := sshconf.Resolve(dest, opts)
	if err != nil {
		return nil, r.fail("%s", configErrorText(err))
	}
	r.log = vlog.New(r.logw, logLevel(h))
	if r.args.logLevel > 0 && r.log.Enabled(vlog.Debug1) {
		// ssh(1) names itself for -v only, not for a LogLevel option.
		fmt.Fprintf(r.logw, "jumpgate %s (ssh of OpenSSH 9.2 compatible), %s\r\n", version, goVersion())
	}
	for _, w := range h.Warnings() {
		r.log.Infof("%s", w)
	}
	return h, nil
}

// checkAgentPath is ssh(1)'s check of a ForwardAgent that names a socket
// (a path or $VAR): a missing one is an error, fatal with
// ExitOnForwardFailure, else the agent is simply not forwarded.
func (r *sshRun) checkAgentPath(h *sshconf.Host) error {
	v := h.Get("forwardagent")
	switch strings.ToLower(v) {
	case "", "yes", "no", "true", "false":
		return nil
	}
	p := v
	if strings.HasPrefix(v, "$") {
		p = r.e.getenv(strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(v, "$"), "{"), "}"))
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
	msg := fmt.Sprintf("Cannot forward agent socket path \"%s\": %s", p, strerrorText(err))
	if h.Get("exitonforwardfailure") == "yes" {
		return r.fail("%s", msg)
	}
	r.log.Errorf("%s", msg)
	r.noAgent = true
	return nil
}
