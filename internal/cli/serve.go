package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/jumpgate/jumpgate/internal/server"
	"github.com/jumpgate/jumpgate/internal/sshwire"
	"github.com/jumpgate/jumpgate/internal/vpn"
)

// serveOptions are the flags of `jumpgate serve`.
type serveOptions struct {
	listen         []string
	hostKeys       []string
	init           bool
	authorizedKeys string
	trustedCAKeys  string
	maxAuthTries   int
	loginGraceTime time.Duration
	maxStartups    string
	acceptEnv      []string
	logFile        string
	pidFile        string
	permitTunnel   string
	x11Forwarding  bool
	x11Offset      int
	xauth          string
}

func (o *serveOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringArrayVar(&o.listen, "listen", []string{":22"}, "`ADDR` to listen on (repeatable)")
	fs.StringArrayVar(&o.hostKeys, "host-key", nil, "host private key `FILE` in OpenSSH format (repeatable, at least one)")
	fs.BoolVar(&o.init, "init", false, "generate an ed25519 host key (and FILE.pub) for each --host-key that is missing")
	fs.StringVar(&o.authorizedKeys, "authorized-keys", server.DefaultAuthorizedKeys, "authorized_keys `PATH` (tokens %h home, %u user, %%)")
	fs.StringVar(&o.trustedCAKeys, "trusted-user-ca-keys", "", "`FILE` of CA public keys whose user certificates log in the users they name (sshd's TrustedUserCAKeys)")
	fs.IntVar(&o.maxAuthTries, "max-auth-tries", server.DefaultMaxAuthTries, "failed authentication attempts before disconnecting")
	fs.DurationVar(&o.loginGraceTime, "login-grace-time", server.DefaultLoginGraceTime, "time allowed to log in (0: no limit)")
	fs.StringVar(&o.maxStartups, "max-startups", server.DefaultMaxStartups.String(), "connections not logged in yet: `start:rate:full`, as sshd's MaxStartups")
	fs.StringArrayVar(&o.acceptEnv, "accept-env", nil, "`PATTERNS` of environment variables clients may set, besides LANG and LC_* (like sshd's AcceptEnv; repeatable, comma or space separated)")
	fs.StringVar(&o.logFile, "log", "", "append the log to `FILE` instead of stderr")
	fs.StringVar(&o.pidFile, "pid-file", "", "write the process id to `FILE` once listening, remove it on exit")
	fs.BoolVar(&o.x11Forwarding, "x11-forwarding", false, "accept X11 forwarding (ssh -X, -Y), like sshd's X11Forwarding: displays on localhost from --x11-display-offset")
	fs.IntVar(&o.x11Offset, "x11-display-offset", server.DefaultX11DisplayOffset, "first display number for X11 forwarding (sshd's X11DisplayOffset; 0 means the default)")
	fs.StringVar(&o.xauth, "xauth", server.DefaultXAuthLocation, "xauth program `PATH` that X11 forwarding gives cookies to (sshd's XAuthLocation)")
	fs.StringVar(&o.permitTunnel, "permit-tunnel", "no", "tun@openssh.com tunnels accepted (ssh -w, jumpgate vpn), as sshd's PermitTunnel: yes (the bare flag), point-to-point, ethernet or no; give a value as --permit-tunnel=VALUE")
	fs.Lookup("permit-tunnel").NoOptDefVal = "yes"
}

// runServe is `jumpgate serve`.
func runServe(ctx context.Context, e *env, args []string) error {
	var o serveOptions
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	o.AddFlags(fs)
	if err := parseNoArgs(e, fs, "Usage: jumpgate serve --host-key FILE [--init] [--listen ADDR]... [flags]\n\n"+
		"An SSH server for lab hosts: public-key auth from authorized_keys, sessions, forwarding.", args); err != nil {
		return helpOr(err)
	}
	if len(o.hostKeys) == 0 {
		return usageErrorf("serve: no host key given").
			hint("pass --host-key FILE; add --init to generate it if missing")
	}
	if o.x11Offset < 0 {
		return usageErrorf("serve: --x11-display-offset must not be negative")
	}
	if o.maxAuthTries < 1 {
		return usageErrorf("serve: --max-auth-tries must be at least 1")
	}
	ms, err := server.ParseMaxStartups(o.maxStartups)
	if err != nil {
		return usageErrorf("serve: --max-startups: %v", err)
	}
	cfg := server.Config{
		MaxStartups:       ms,
		AuthorizedKeys:    o.authorizedKeys,
		TrustedUserCAKeys: o.trustedCAKeys,
		MaxAuthTries:      o.maxAuthTries,
		LoginGraceTime:    o.loginGraceTime,
		X11Forwarding:     o.x11Forwarding,
		XAuthLocation:     o.xauth,
		// 0 is the server's default (10), as a Config's zero values are.
		X11DisplayOffset: o.x11Offset,
	}
	if o.loginGraceTime == 0 {
		cfg.LoginGraceTime = -1
	}
	permit, err := vpn.ParsePermitTunnel(o.permitTunnel)
	if err != nil {
		return usageErrorf("serve: --permit-tunnel: %v", err)
	}
	if permit != vpn.PermitNo {
		cfg.Channels = map[string]server.ChannelHandler{
			vpn.TunChannelType: func(ctx context.Context, c *server.Conn, nch sshwire.NewChannel) {
				vpn.ServeTunChannel(ctx, nch, permit, c.Log)
			},
		}
	}
	for _, a := range o.acceptEnv {
		cfg.AcceptEnv = append(cfg.AcceptEnv, strings.FieldsFunc(a, func(r rune) bool { return r == ',' || r == ' ' })...)
	}
	for _, path := range o.hostKeys {
		signer, err := server.LoadHostKey(path, o.init)
		if errors.Is(err, os.ErrNotExist) {
			return withHint(err, 0, "add --init to generate it")
		}
		if err != nil {
			return err
		}
		cfg.HostKeys = append(cfg.HostKeys, signer)
	}
	logw := e.io.ErrOut
	if o.logFile != "" {
		f, err := os.OpenFile(o.logFile, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return fmt.Errorf("open log: %w", err)
		}
		defer f.Close()
		logw = f
	}
	cfg.Logger = slog.New(slog.NewTextHandler(logw, nil))

	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	var lc net.ListenConfig
	for _, addr := range o.listen {
		ln, err := lc.Listen(ctx, "tcp", addr)
		if err != nil {
			return withHint(fmt.Errorf("listen on %s: %w", addr, err), 0,
				"is another server (sshd?) on that port? choose another with --listen")
		}
		lns = append(lns, ln)
		fmt.Fprintf(e.io.ErrOut, "jumpgate serve: listening on %s\n", ln.Addr())
	}
	if o.pidFile != "" {
		if err := os.WriteFile(o.pidFile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
			return fmt.Errorf("write pid file: %w", err)
		}
		defer os.Remove(o.pidFile)
	}
	return server.ServeAll(ctx, lns, cfg)
}
