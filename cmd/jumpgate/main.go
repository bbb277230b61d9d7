// Command jumpgate reaches, links and shows the virtual machines on private
// hypervisor networks, with SSH as the only hole in the firewall.
package main

import (
	"context"
	"os"

	"github.com/jumpgate/jumpgate/internal/cli"
	"github.com/jumpgate/jumpgate/internal/iostreams"
)

func main() {
	ctx, stop := cli.SignalContext(context.Background())
	code := cli.Main(ctx, os.Args, iostreams.System())
	stop()
	os.Exit(code)
}
