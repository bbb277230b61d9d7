package cli

// `jumpgate vpn status`: the tunnels running tunnels advertise (see
// vpn.Advertise).

import (
	"context"
	"fmt"

	"github.com/spf13/pflag"

	"github.com/jumpgate/jumpgate/internal/client"
	"github.com/jumpgate/jumpgate/internal/vpn"
)

// vpnBase is the directory under which running tunnels advertise
// themselves: the control directory.
func vpnBase(e *env, create bool) (string, error) {
	home, _, _ := localUser(e)
	return client.ControlDir(e.getenv, home, create)
}

const vpnStatusUsage = `Usage: jumpgate vpn status [--json]

Lists the tunnels of running jumpgate vpn processes of this user: devices,
addresses, bridges, transport, far end and current rates.
`

// runVPNStatus is `jumpgate vpn status`.
func runVPNStatus(_ context.Context, e *env, args []string) error {
	fs := pflag.NewFlagSet("vpn status", pflag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON (an array of tunnels)")
	if err := parseNoArgs(e, fs, vpnStatusUsage, args); err != nil {
		return helpOr(err)
	}
	base, err := vpnBase(e, false)
	if err != nil {
		return err
	}
	dir, _ := vpn.StateDir(base, false)
	recs, err := vpn.LiveTunnels(dir)
	if err != nil {
		return fmt.Errorf("read tunnels in %s: %w", dir, err)
	}
	if *asJSON {
		return vpn.WriteJSON(e.io.Out, recs)
	}
	if len(recs) == 0 {
		fmt.Fprintln(e.io.ErrOut, "jumpgate: no tunnels running")
		return nil
	}
	return vpn.WriteTable(e.io.Out, recs)
}
