package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/pflag"

	"github.com/jumpgate/jumpgate/internal/client"
	"github.com/jumpgate/jumpgate/internal/fleet"
	"github.com/jumpgate/jumpgate/internal/topo"
)

// fleetFlags choose a fleet's hosts and how to reach them (topo, fw).
type fleetFlags struct {
	all       bool
	hostsFile string
	parallel  int
	connFlags
}

func (f *fleetFlags) add(fs *pflag.FlagSet, host string) {
	fs.BoolVar(&f.all, "all", false, "every concrete Host entry of ssh_config")
	fs.StringVar(&f.hostsFile, "hosts-file", "", "the hosts listed in `FILE`, one per line")
	fs.IntVar(&f.parallel, "parallel", fleet.DefaultParallel, "reach at most `N` hosts at once")
	f.connFlags.add(fs, host)
}

// fleet opens a fleet of the named hosts, --hosts-file's and --all's
// (netns: see [fleet.Options.Netns]); cmd names the command in errors.
func (f *fleetFlags) fleet(ctx context.Context, e *env, cmd, netns string, named []string) (*fleet.Fleet, []string, error) {
	mk := func(target string) (*client.Client, error) {
		a, err := f.sshArgs(e, cmd, "target", target)
		if err != nil {
			return nil, err
		}
		return newClient(ctx, e, a), nil
	}
	var configHosts func() ([]string, error)
	if f.all {
		configHosts = func() ([]string, error) {
			c, err := mk("localhost")
			if err != nil {
				return nil, err
			}
			return c.ConfigHosts()
		}
	}
	targets, err := fleet.Targets(ctx, named, f.hostsFile, configHosts)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", cmd, err)
	}
	if len(targets) == 0 {
		return nil, nil, usageErrorf("%s: no hosts to reach", cmd).hint("name hosts, or add Host entries to ssh_config for --all")
	}
	return fleet.New(ctx, fleet.Options{Client: mk, Parallel: f.parallel, Netns: netns, Log: e.io.ErrOut}), targets, nil
}

// fleetStatus is a fleet command's exit status: 0 when every host
// succeeded; 1 when some failed (the others' results are written); 255
// when no host could be reached (verb: discovered, reached), as ssh(1)
// when it reaches nothing.
func fleetStatus(cmd, verb string, failed, unreached, hosts int) error {
	switch {
	case unreached == hosts:
		return withHint(fmt.Errorf("%s: none of the %d hosts could be %s", cmd, hosts, verb), 255)
	case failed > 0 && failed == unreached:
		return withHint(fmt.Errorf("%s: %d of %d hosts could not be %s (shown with their errors)", cmd, failed, hosts, verb), 1)
	case failed > 0:
		return withHint(fmt.Errorf("%s: %d of %d hosts failed (shown with their errors)", cmd, failed, hosts), 1)
	}
	return nil
}

// runTopoFleet is `jumpgate topo` over several hosts.
func runTopoFleet(ctx context.Context, e *env, f *topoFlags, targets []string) error {
	fl, targets, err := f.fleet(ctx, e, "topo", f.netns, targets)
	if err != nil {
		return err
	}
	defer fl.Close()
	if f.serve != "" {
		return serveTopo(ctx, e, f, true, func(ctx context.Context) (*topo.Topology, error) {
			return fl.Discover(ctx, targets).Flatten(), nil
		})
	}
	r := fl.Discover(ctx, targets)
	if err := writeTopo(e, f.output, f.format, r.Flatten().Warnings, func(w io.Writer) error {
		return topo.RenderFleet(ctx, w, r, f.format)
	}); err != nil {
		return err
	}
	n := r.Unreachable()
	return fleetStatus("topo", "discovered", n, n, len(r.Hosts))
}
