package cli

import (
	"context"
	"fmt"
	"net"
	"path"
	"time"

	"github.com/jumpgate/jumpgate/internal/topo"
)

// serveTopo serves the live page until ctx ends.
func serveTopo(ctx context.Context, e *env, f *topoFlags, remote bool, discover func(context.Context) (*topo.Topology, error)) error {
	s := &topo.Server{
		Discover: discover,
		Logf:     func(format string, args ...any) { fmt.Fprintf(e.io.ErrOut, "jumpgate: warning: "+format+"\n", args...) },
	}
	if remote {
		s.Poll = f.poll
	} else {
		opts := topo.Options{}
		if f.netns != "" {
			opts.Filter = func(name string) bool { ok, _ := path.Match(f.netns, name); return ok }
		}
		s.Changes = topo.Watch(ctx, opts, 2*time.Second)
		s.Poll = 30 * time.Second // neighbour ageing emits no event
		s.Counters = func(ctx context.Context) (*topo.Counters, error) { return topo.ReadCounters(ctx, opts) }
	}
	if err := s.Refresh(ctx); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", topo.ServeAddr(f.serve))
	if err != nil {
		return withHint(fmt.Errorf("serve topology: %w", err), 1, "pick a free port: --serve 127.0.0.1:0 chooses one")
	}
	fmt.Fprintf(e.io.ErrOut, "jumpgate: serving the topology at http://%s/ (Ctrl-C stops)\n", ln.Addr())
	if err := s.Serve(ctx, ln); err != nil {
		return fmt.Errorf("serve topology: %w", err)
	}
	return nil
}
