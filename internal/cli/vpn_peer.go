package cli

// The hidden far side of peer mode, `jumpgate vpn --serve-peer …`, run by
// the near side through an exec channel: it makes its end, writes a hello
// line, and carries frames on stdin/stdout until stdin ends.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/jumpgate/jumpgate/internal/rawio"
	"github.com/jumpgate/jumpgate/internal/vpn"
)

// vpnPeerFlag starts the helper; it is not in any usage text.
const vpnPeerFlag = "--serve-peer"

func runVPNPeer(ctx context.Context, e *env, args []string) error {
	var (
		mode, addr, bridge string
		routes             []string
		mtu                int
		nat, offload       bool
	)
	fs := pflag.NewFlagSet("vpn-peer", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&mode, "mode", "", "")
	fs.StringVar(&addr, "addr", "", "")
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
	if addr != "" {
		if cfg.Addr, err = netip.ParsePrefix(addr); err != nil {
			return usageErrorf("vpn peer: --addr: %v", err)
		}
	}
	for _, r := range routes {
		p, err := netip.ParsePrefix(r)
		if err != nil {
			return usageErrorf("vpn peer: --route: %v", err)
		}
		cfg.Routes = append(cfg.Routes, p)
	}
	// The channel's end is stdin's EOF; a hangup or a broken pipe must
	// not kill us before the devices are removed.
	signal.Ignore(syscall.SIGPIPE)
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGHUP)
	defer stop()
	// Raw reads and writes of the pipes from sshd: see rawio.
	in, out := rawio.NewFile(pollable(os.Stdin, 0)), rawio.NewFile(pollable(os.Stdout, 1))
	err = vpn.ServePeer(ctx, cfg, in, out, closers{in, out})
	if err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("vpn peer: %w", err)
	}
	return nil
}

// pollable makes a standard descriptor non-blocking, so that closing it
// ends a read blocked on it (Go's poller handles it then).
func pollable(f *os.File, fd int) *os.File {
	if err := syscall.SetNonblock(fd, true); err != nil {
		return f
	}
	return os.NewFile(uintptr(fd), f.Name())
}

type closers []io.Closer

func (c closers) Close() error {
	for _, x := range c {
		x.Close()
	}
	return nil
}
