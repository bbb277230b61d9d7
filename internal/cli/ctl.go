package cli

// jumpgate ctl: the masters of connection multiplexing, seen from outside.
// list shows each live master under jumpgate's control directory; stats
// shows one master's channels with their rates; check, stop and exit are
// `jumpgate ssh -O` by host name.

import (
	"context"
	"fmt"
	"slices"

	"github.com/spf13/pflag"

	"github.com/jumpgate/jumpgate/internal/client"
	"github.com/jumpgate/jumpgate/internal/mux"
)

const ctlUse = `usage: jumpgate ctl list [--json]
       jumpgate ctl stats HOST [--json]
       jumpgate ctl check|stop|exit HOST

Masters are found in $XDG_RUNTIME_DIR/jumpgate (or ~/.cache/jumpgate).
`

func runCtl(ctx context.Context, e *env, args []string) error {
	fs := pflag.NewFlagSet("ctl", pflag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseFlags(e, fs, ctlUse, args); err != nil {
		return helpOr(err)
	}
	rest := fs.Args()
	if len(rest) == 0 {
		return usageErrorf("ctl: missing command").hint("run 'jumpgate ctl --help'")
	}
	home, _, _ := localUser(e)
	dir, _ := client.ControlDir(e.getenv, home, false)
	masters := client.FindMasters(ctx, dir)
	switch cmd := rest[0]; cmd {
	case "list":
		if len(rest) != 1 {
			return usageErrorf("ctl list takes no arguments")
		}
		if *asJSON {
			return writeJSON(e.io.Out, masters)
		}
		return client.WriteMasters(e.io.Out, masters)
	case "stats", "check", "stop", "exit":
		if len(rest) != 2 {
			return usageErrorf("ctl %s: one HOST, got %d", cmd, len(rest)-1)
		}
		i := slices.IndexFunc(masters, func(m client.Master) bool { return m.Info != nil && m.Info.Host == rest[1] })
		if i < 0 {
			return withHint(fmt.Errorf("no live master for %s in %s", rest[1], dir), exitConnection,
				"run 'jumpgate ctl list' to see the masters")
		}
		return ctlHost(ctx, e, cmd, &masters[i], *asJSON)
	default:
		return usageErrorf("ctl: unknown command %q", cmd).hint("run 'jumpgate ctl --help'")
	}
}

func ctlHost(ctx context.Context, e *env, cmd string, m *client.Master, asJSON bool) error {
	cctx, cancel := context.WithTimeout(ctx, client.MuxAnswerBound)
	defer cancel()
	c, err := mux.Dial(cctx, m.Path)
	if err != nil {
		return fmt.Errorf("master %s: %w", m.Path, err)
	}
	defer c.Close()
	switch cmd {
	case "check":
		pid, err := c.Check(cctx)
		if err != nil {
			return fmt.Errorf("master %s: %w", m.Path, err)
		}
		fmt.Fprintf(e.io.Out, "Master running (pid=%d)\n", pid)
	case "stop":
		return c.StopListening(cctx)
	case "exit":
		return c.Terminate(cctx)
	case "stats":
		in := m.Info
		if asJSON {
			return writeJSON(e.io.Out, in)
		}
		return client.WriteStats(e.io.Out, in)
	}
	return nil
}
