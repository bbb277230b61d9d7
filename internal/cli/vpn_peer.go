package cli

// The hidden far side of peer mode, `jumpgate vpn --serve-peer …`, run by
// the near side through an exec channel: it makes its end, writes a hello
// line, and carries frames on stdin/stdout until stdin ends.

import (
	"context"
	"fmt"
	"io"
	"net/netip"

	"github.com/spf13/pflag"

	"github.com/jumpgate/jumpgate/internal/vpn"
)

// vpnPeerFlag starts the helper; it is not in any usage text.
const vpnPeerFlag = "--serve-peer"

func runVPNPeer(ctx context.Context, e *env, args []string) error {
	var (
		mode, bridge  string
		addrs, routes []string
		mtu           int
		nat, offload  bool
	)
	fs := pflag.NewFlagSet("vpn-peer", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&mode, "mode", "", "")
	fs.StringArrayVar(&addrs, "addr", nil, "")
	fs.StringVar(&bridge, "bridge", "", "")
	fs.StringArrayVar(&routes, "route", nil, "")
	fs.IntVar(&mtu, "mtu", 1500, "")
	fs.BoolVar(&nat, "nat", false, "")
	fs.BoolVar(&offload, "offload", false, "")
	if err := fs.Parse(args); err != nil {
		return usageErrorf("vpn peer: %v", err)
	}
	cfg := vpn.Config{MTU: mtu, NAT: nat, Bridge: bridge, Offload: offload}
	var err error
	if cfg.Mode, err = vpn.ParseMode(mode); err != nil {
		return usageErrorf("vpn peer: %v", err)
	}
	for _, a := range addrs {
		p, err := netip.ParsePrefix(a)
		if err != nil {
			return usageErrorf("vpn peer: --addr: %v", err)
		}
		cfg.Addrs = append(cfg.Addrs, p)
	}
	for _, r := range routes {
		p, err := netip.ParsePrefix(r)
		if err != nil {
			return usageErrorf("vpn peer: --route: %v", err)
		}
		cfg.Routes = append(cfg.Routes, p)
	}
	if err := vpn.ServePeerStdio(ctx, cfg); err != nil {
		return fmt.Errorf("vpn peer: %w", err)
	}
	return nil
}
