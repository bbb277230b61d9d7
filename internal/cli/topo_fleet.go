package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/jumpgate/jumpgate/internal/client"
	"github.com/jumpgate/jumpgate/internal/fleet"
	"github.com/jumpgate/jumpgate/internal/topo"
)

// runTopoFleet is `jumpgate topo` over several hosts. Exit status: 0 when
// every host was discovered; 1 when some could not be (the graph is
// written, showing them with their errors); 255 when none could, as ssh(1)
// when it reaches nothing.
func runTopoFleet(ctx context.Context, e *env, f *topoFlags, targets []string) error {
	mk := func(target string) (*client.Client, error) {
		a, err := f.sshArgs(e, "topo", "target", target)
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
	targets, err := fleet.Targets(ctx, targets, f.hostsFile, configHosts)
	if err != nil {
		return fmt.Errorf("topo: %w", err)
	}
	if len(targets) == 0 {
		return usageErrorf("topo: no hosts to discover").hint("name hosts, or add Host entries to ssh_config for --all")
	}
	fl := fleet.New(ctx, fleet.Options{Client: mk, Parallel: f.parallel, Netns: f.netns, Log: e.io.ErrOut})
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
	switch n := r.Unreachable(); {
	case n == len(r.Hosts):
		return withHint(fmt.Errorf("topo: none of the %d hosts could be discovered", n), 255)
	case n > 0:
		return withHint(fmt.Errorf("topo: %d of %d hosts could not be discovered (shown with their errors)", n, len(r.Hosts)), 1)
	}
	return nil
}
