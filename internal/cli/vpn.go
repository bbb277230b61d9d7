package cli

// `jumpgate vpn`: ssh's connection flags (-F -J -o -i -l -p -v -q -f) go
// through ssh's own parser and dialer; the tunnel's flags are long options.

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/jumpgate/jumpgate/internal/dial"
	"github.com/jumpgate/jumpgate/internal/sshconf"
	"github.com/jumpgate/jumpgate/internal/tune"
	"github.com/jumpgate/jumpgate/internal/vpn"
)

// vpnOptions are the flags of `jumpgate vpn`.
type vpnOptions struct {
	// connection, as jumpgate ssh
	connFlags
	fork    bool
	persist bool

	l3, l2       bool
	localAddr    []string
	remoteAddr   []string
	routes       []string
	remoteRoutes []string
	nat          bool
	remoteBridge string
	localBridge  string
	localPorts   []string
	mtu          int
	transport    string
	helper       string
}

func (o *vpnOptions) AddFlags(fs *pflag.FlagSet) {
	o.connFlags.add(fs, "the far host")
	fs.BoolVarP(&o.fork, "background", "f", false, "go to the background once the tunnel is up")
	fs.BoolVar(&o.persist, "persist", false, "when the connection drops, reconnect with backoff (1 s doubling to 30 s) and restore the tunnel; keepalives default to ServerAliveInterval 5, ServerAliveCountMax 3")

	fs.BoolVar(&o.l3, "l3", false, "layer-3 tunnel: tun devices, point-to-point addresses, routes")
	fs.BoolVar(&o.l2, "l2", false, "layer-2 tunnel: tap devices joined to bridges")
	fs.StringSliceVar(&o.localAddr, "local-addr", nil, "`CIDR`s of this end, IPv4 and/or IPv6 (l3), or put on the local bridge or tap (l2); l3 default: a free /30 of "+vpn.AutoRange.String())
	fs.StringSliceVar(&o.remoteAddr, "remote-addr", nil, "`CIDR`s of the far end, IPv4 and/or IPv6 (l3; with --local-addr)")
	fs.StringArrayVar(&o.routes, "route", nil, "`CIDR` reached through the tunnel from here (repeatable)")
	fs.StringArrayVar(&o.remoteRoutes, "remote-route", nil, "`CIDR` reached through the tunnel from the far end (repeatable)")
	fs.BoolVar(&o.nat, "nat", false, "forward and masquerade on the far end what comes through the tunnel (l3)")
	fs.StringVar(&o.remoteBridge, "remote-bridge", "", "far bridge `NAME` the far tap joins (l2, required)")
	fs.StringVar(&o.localBridge, "local-bridge", "", "local bridge `NAME` the tap joins, created if missing (l2)")
	fs.StringArrayVar(&o.localPorts, "local-port", nil, "`IFACE` added to the local bridge (l2; repeatable)")
	fs.IntVar(&o.mtu, "mtu", 0, "tunnel MTU (default: the smallest MTU of the links the SSH connection uses; l2: the far bridge's)")
	fs.StringVar(&o.transport, "transport", "auto", "auto, tun@openssh.com (sshd with PermitTunnel) or peer (a jumpgate helper on the far host)")
	fs.StringVar(&o.helper, "remote-helper", "auto", "peer mode helper: auto (copy this jumpgate, cached by hash), never, or its `PATH` on the far host")
}

const vpnUsage = `Usage: jumpgate vpn [-F FILE] [-J HOSTS] [-o OPTION]... [-i FILE] [-l USER] [-p PORT] [-f] TARGET (--l3|--l2) [flags]
       jumpgate vpn status [--json]

A layer-3 (tun) or layer-2 (tap) tunnel to TARGET over SSH, configured on both
ends and removed on exit. The transport is OpenSSH's tun@openssh.com where the
server permits it, else peer mode: a copy of jumpgate on the far host.
tun@openssh.com carries TCP to the far host itself in large segments but what
the far host routes on (--route, --nat, its VMs) packet by packet, as ssh -w
does; for bulk traffic to those, --transport peer is several times faster.
`

// runVPN is `jumpgate vpn`.
func runVPN(ctx context.Context, e *env, args []string) error {
	if len(args) > 0 && args[0] == vpnPeerFlag {
		return runVPNPeer(ctx, e, args[1:])
	}
	if len(args) > 0 && args[0] == vpnWatchFlag {
		return runVPNWatch(ctx, e, args[1:])
	}
	if len(args) > 0 && args[0] == "status" {
		return runVPNStatus(ctx, e, args[1:])
	}
	var o vpnOptions
	fs := pflag.NewFlagSet("vpn", pflag.ContinueOnError)
	fs.SetInterspersed(true)
	o.AddFlags(fs)
	if err := parseFlags(e, fs, vpnUsage, args); err != nil {
		return helpOr(err)
	}
	if fs.NArg() != 1 {
		return usageErrorf("vpn: want one TARGET, got %d arguments", fs.NArg()).hint("jumpgate vpn [connection flags] TARGET --l3|--l2 …")
	}
	vo, err := o.tunnelOptions()
	if err != nil {
		return err
	}
	a, err := o.sshArgs(e, "vpn", "target", fs.Arg(0))
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGHUP)
	defer stop()

	r := newClient(ctx, e, a)
	if o.fork && !r.Forked() {
		return r.ForkToBackground(ctx)
	}
	conn, h, err := r.DialDest(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	vo.LocalMTU = vpn.FirstHopMTU(conn)
	vo.Announce = e.io.ErrOut
	if vo.Binary, err = os.Executable(); err != nil {
		return fmt.Errorf("find this jumpgate binary: %w", err)
	}
	t, err := vpn.Connect(ctx, conn.Conn, vo)
	if err != nil {
		var hint []string
		if errors.Is(err, vpn.ErrNotRoot) {
			hint = append(hint, "run jumpgate vpn as root, and log in as root on the far host (-l root)")
		}
		return withHint(fmt.Errorf("vpn to %s: %w", h.Hostname(), err), exitConnection, hint...)
	}
	if !o.quiet {
		fmt.Fprintf(e.io.ErrOut, "jumpgate: %s\n", t.Summary(fs.Arg(0)))
	}
	if t.Transport == vpn.TransportNative {
		tune.For(tune.Tunnel, e.getenv)
	}
	// kill -9 must not leave a bridge behind either.
	lw, err := vpn.WatchLocal(t, []string{"vpn", vpnWatchFlag})
	if err != nil {
		fmt.Fprintf(e.io.ErrOut, "jumpgate: warning: %v; a kill -9 would leave bridge %s behind\n", err, t.Near.Config().Bridge)
	}
	defer lw.Done() // after serve has removed the near end
	link := &vpn.Link{Out: e.io.ErrOut, Log: r.Log(), Host: h,
		Redial: func(ctx context.Context, h *sshconf.Host) (*dial.Conn, error) { return r.Dialer().Dial(ctx, h) }, Target: fs.Arg(0),
		Persist: o.persist, Quiet: o.quiet, Tunnel: t, Conn: conn}
	if link.State, err = advertise(e, t, fs.Arg(0)); err != nil && o.verbose > 0 {
		fmt.Fprintf(e.io.ErrOut, "jumpgate: not listed by vpn status: %v\n", err)
	}
	defer link.State.Close()
	r.NotifyForked()
	if err := link.Serve(ctx); err != nil {
		return withHint(err, exitConnection)
	}
	return nil
}

// tunnelOptions checks the tunnel flags and turns them into vpn.Options.
func (o *vpnOptions) tunnelOptions() (vpn.Options, error) {
	var vo vpn.Options
	hint := "run 'jumpgate vpn --help' for the flags"
	switch {
	case o.l3 == o.l2:
		return vo, usageErrorf("vpn: give one of --l3 and --l2").hint("%s", hint)
	case o.l3:
		vo.Mode = vpn.L3
		if (len(o.localAddr) == 0) != (len(o.remoteAddr) == 0) {
			return vo, usageErrorf("vpn: --local-addr and --remote-addr go together for --l3").hint("leave both out to pick a free /30 of %s", vpn.AutoRange)
		}
		if o.remoteBridge != "" || o.localBridge != "" || len(o.localPorts) > 0 {
			return vo, usageErrorf("vpn: bridges and ports are for --l2").hint("%s", hint)
		}
	case o.l2:
		vo.Mode = vpn.L2
		if o.remoteBridge == "" {
			return vo, usageErrorf("vpn: --l2 needs --remote-bridge NAME").hint("the far tap joins that bridge, as brctl addif would")
		}
		if len(o.routes)+len(o.remoteRoutes) > 0 || o.nat {
			return vo, usageErrorf("vpn: --route, --remote-route and --nat are for --l3").hint("%s", hint)
		}
		if len(o.localPorts) > 0 && o.localBridge == "" {
			return vo, usageErrorf("vpn: --local-port needs --local-bridge").hint("%s", hint)
		}
	}
	var err error
	for _, f := range []struct {
		flag   string
		in     []string
		out    *[]netip.Prefix
		masked bool
	}{{"--local-addr", o.localAddr, &vo.Local, false}, {"--remote-addr", o.remoteAddr, &vo.Remote, false},
		{"--route", o.routes, &vo.Routes, true}, {"--remote-route", o.remoteRoutes, &vo.RemoteRoutes, true}} {
		if *f.out, err = parsePrefixes(f.flag, f.in, f.masked); err != nil {
			return vo, err
		}
	}
	if o.mtu != 0 && (o.mtu < 576 || o.mtu > 65535) {
		return vo, usageErrorf("vpn: --mtu %d out of range 576…65535", o.mtu)
	}
	switch o.transport {
	case vpn.TransportAuto, vpn.TransportNative, vpn.TransportPeer:
	case "native":
		o.transport = vpn.TransportNative
	default:
		return vo, usageErrorf("vpn: unknown --transport %q", o.transport).hint("auto, tun@openssh.com or peer")
	}
	if o.helper == "" {
		return vo, usageErrorf("vpn: empty --remote-helper").hint("auto, never or a PATH on the far host")
	}
	vo.NAT, vo.RemoteBridge, vo.LocalBridge, vo.LocalPorts = o.nat, o.remoteBridge, o.localBridge, o.localPorts
	vo.MTU, vo.Transport, vo.Helper = o.mtu, o.transport, o.helper
	return vo, nil
}

// parsePrefixes parses a flag's addresses with their prefix lengths;
// masked keeps only the network (a route).
func parsePrefixes(flag string, in []string, masked bool) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range in {
		p, err := netip.ParsePrefix(s)
		if err != nil || p.Addr().Is4In6() || p.Addr().Zone() != "" {
			return nil, usageErrorf("vpn: %s %q: want an address with its prefix length, like 198.19.252.1/30 or 2001:2::1/64", flag, s)
		}
		if masked {
			p = p.Masked()
		}
		out = append(out, p)
	}
	return out, nil
}

// advertise lists t for `jumpgate vpn status`; errors only cost the entry.
func advertise(e *env, t *vpn.Tunnel, target string) (*vpn.State, error) {
	base, err := vpnBase(e, true)
	if err != nil {
		return nil, err
	}
	return vpn.Advertise(base, t, target)
}
