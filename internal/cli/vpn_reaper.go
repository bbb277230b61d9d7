package cli

import (
	"context"
	"io"

	"github.com/spf13/pflag"

	"github.com/jumpgate/jumpgate/internal/vpn"
)

// vpnWatchFlag starts the watcher of kill -9 leftovers (see vpn.WatchLocal);
// it is not in any usage text.
const vpnWatchFlag = "--watch-local"

// runVPNWatch is the watcher.
func runVPNWatch(_ context.Context, e *env, args []string) error {
	var (
		bridge string
		remove bool
		ports  []string
	)
	fs := pflag.NewFlagSet("vpn-watch", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&bridge, "bridge", "", "")
	fs.BoolVar(&remove, "remove-bridge", false, "")
	fs.StringArrayVar(&ports, "port", nil, "")
	if err := fs.Parse(args); err != nil {
		return usageErrorf("vpn watch: %v", err)
	}
	return vpn.Watch(e.io.In, bridge, remove, ports)
}
