package cli

// `jumpgate vpn status`: the tunnels running tunnels advertise (see
// vpn.Advertise).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"

	"github.com/jumpgate/jumpgate/internal/client"
	"github.com/jumpgate/jumpgate/internal/vpn"
)

// vpnStateDir is where running tunnels advertise themselves.
func vpnStateDir(e *env, create bool) (string, error) {
	home, _, _ := localUser(e)
	dir, err := client.ControlDir(e.getenv, home, create)
	if err != nil {
		return "", err
	}
	return vpn.StateDir(dir, create)
}

const vpnStatusUsage = `Usage: jumpgate vpn status [--json]

Lists the tunnels of running jumpgate vpn processes of this user: devices,
addresses, bridges, transport, far end and current rates.
`

// runVPNStatus is `jumpgate vpn status`.
func runVPNStatus(_ context.Context, e *env, args []string) error {
	fs := pflag.NewFlagSet("vpn status", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	asJSON := fs.Bool("json", false, "print JSON (an array of tunnels)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			fmt.Fprint(e.io.Out, vpnStatusUsage+"\n")
			fs.SetOutput(e.io.Out)
			fs.PrintDefaults()
			return nil
		}
		return usageErrorf("vpn status: %v", err)
	}
	if fs.NArg() > 0 {
		return usageErrorf("vpn status: unexpected argument %q", fs.Arg(0))
	}
	dir, err := vpnStateDir(e, false)
	if err != nil {
		return err
	}
	recs, err := vpn.LiveTunnels(dir)
	if err != nil {
		return fmt.Errorf("read tunnels in %s: %w", dir, err)
	}
	if *asJSON {
		if recs == nil {
			recs = []vpn.Record{}
		}
		enc := json.NewEncoder(e.io.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(recs)
	}
	if len(recs) == 0 {
		fmt.Fprintln(e.io.ErrOut, "jumpgate: no tunnels running")
		return nil
	}
	tw := tabwriter.NewWriter(e.io.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PID\tTARGET\tMODE\tSTATE\tTRANSPORT\tLOCAL\tREMOTE\tMTU\tTX\tRX\tUP")
	for _, r := range recs {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", r.PID, r.Target, r.Mode, r.State, r.Transport,
			endText(r.Device, r.Address, r.Bridge), endText(r.RemoteDevice, r.RemoteAddress, r.RemoteBridge), r.MTU,
			rateText(r.TxBitsPerSec), rateText(r.RxBitsPerSec), time.Since(r.Since).Truncate(time.Second))
	}
	return tw.Flush()
}

// endText is one end: "jgtun0 198.19.252.1/30" or "jgtap0@virtual 198.18.3.99/24".
func endText(dev, addr, bridge string) string {
	s := dev
	if bridge != "" {
		s += "@" + bridge
	}
	if addr != "" {
		s += " " + addr
	}
	return s
}

func rateText(bps float64) string {
	switch {
	case bps >= 1e9:
		return fmt.Sprintf("%.2f Gbit/s", bps/1e9)
	case bps >= 1e6:
		return fmt.Sprintf("%.1f Mbit/s", bps/1e6)
	case bps >= 1e3:
		return fmt.Sprintf("%.1f kbit/s", bps/1e3)
	}
	return fmt.Sprintf("%.0f bit/s", bps)
}
