package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/jumpgate/jumpgate/internal/topo"
)

// serveAddr puts a listen address without a host on loopback: the page
// shows the host's network, so it is not offered to the LAN unless asked.
func serveAddr(addr string) string {
	if !strings.Contains(addr, ":") {
		return "127.0.0.1:" + addr
	}
	if strings.HasPrefix(addr, ":") {
		return "127.0.0.1" + addr
	}
	return addr
}

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
	}
	if err := s.Refresh(ctx); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", serveAddr(f.serve))
	if err != nil {
		return withHint(fmt.Errorf("serve topology: %w", err), 1, "pick a free port: --serve 127.0.0.1:0 chooses one")
	}
	fmt.Fprintf(e.io.ErrOut, "jumpgate: serving the topology at http://%s/ (Ctrl-C stops)\n", ln.Addr())
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go s.Run(ctx)
	go func() {
		<-ctx.Done()
		sctx, c := context.WithTimeout(context.Background(), time.Second)
		defer c()
		srv.Shutdown(sctx)
		srv.Close()
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve topology: %w", err)
	}
	return nil
}
