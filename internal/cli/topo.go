package cli

// `jumpgate topo [TARGET]`: discover a host's network topology, locally
// through netlink or on TARGET through an SSH exec channel (the same
// connection flags as `jumpgate ssh`), and render it.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path"
	"time"

	"github.com/spf13/pflag"

	"github.com/jumpgate/jumpgate/internal/client"
	"github.com/jumpgate/jumpgate/internal/dial"
	"github.com/jumpgate/jumpgate/internal/shquote"
	"github.com/jumpgate/jumpgate/internal/topo"
)

const topoUse = `Usage: jumpgate topo [flags] [TARGET]

Without TARGET, discovers this host's namespaces, links, bridges, veth
peers, taps, Open vSwitch and libvirt through netlink. With TARGET
([user@]host, a + chain or a config alias), runs iproute2 on it over SSH;
nothing needs to be installed there.

`

// topoFlags is the command line of `jumpgate topo`.
type topoFlags struct {
	format, serve, netns, output string
	poll                         time.Duration
	connFlags
}

func (f *topoFlags) add(fs *pflag.FlagSet) {
	fs.StringVar(&f.format, "format", "text", "output `format`: text, json, dot, svg or html")
	fs.StringVar(&f.serve, "serve", "", "serve a live page at `ADDR` (host:port; loopback unless a host is named)")
	fs.StringVar(&f.netns, "netns", "", "only namespaces whose name matches the glob `PATTERN` (the root namespace is always shown)")
	fs.StringVarP(&f.output, "output", "O", "", "write to `FILE` instead of standard output")
	fs.DurationVar(&f.poll, "poll", 2*time.Second, "with --serve on a TARGET, how often to rediscover")
	f.connFlags.add(fs, "the target")
}

func runTopo(ctx context.Context, e *env, args []string) error {
	fs := pflag.NewFlagSet("topo", pflag.ContinueOnError)
	var f topoFlags
	f.add(fs)
	if err := parseFlags(e, fs, topoUse, args); err != nil {
		return helpOr(err)
	}
	switch f.format {
	case "text", "json", "dot", "svg", "html":
	default:
		return usageErrorf("topo: unknown format %q", f.format).hint("use --format text, json, dot, svg or html")
	}
	if fs.NArg() > 1 {
		return usageErrorf("topo: one TARGET at most, got %d", fs.NArg()).hint("run 'jumpgate topo --help'")
	}
	if _, err := path.Match(f.netns, ""); err != nil {
		return usageErrorf("topo: bad --netns pattern %q: %v", f.netns, err)
	}

	var discover func(context.Context) (*topo.Topology, error)
	if fs.NArg() == 1 {
		conn, err := topoDial(ctx, e, &f.connFlags, fs.Arg(0))
		if err != nil {
			return err
		}
		defer conn.Close()
		discover = func(ctx context.Context) (*topo.Topology, error) {
			t, err := topo.DiscoverRemote(ctx, func(ctx context.Context, script string) ([]byte, error) {
				return client.Output(ctx, conn, "sh -c "+shquote.Quote(script))
			})
			if err != nil {
				return nil, fmt.Errorf("discover %s: %w", fs.Arg(0), err)
			}
			topo.KeepNamespaces(t, f.netns)
			return t, nil
		}
	} else {
		opts := topo.Options{Run: topo.ExecRunner}
		if f.netns != "" {
			opts.Filter = func(name string) bool { ok, _ := path.Match(f.netns, name); return ok }
		}
		discover = func(ctx context.Context) (*topo.Topology, error) {
			t, err := topo.Discover(ctx, opts)
			if err != nil {
				return nil, withHint(fmt.Errorf("discover local topology: %w", err), 1,
					"reading other namespaces needs root (CAP_SYS_ADMIN): run it with sudo")
			}
			return t, nil
		}
	}

	if f.serve != "" {
		return serveTopo(ctx, e, &f, fs.NArg() == 1, discover)
	}
	t, err := discover(ctx)
	if err != nil {
		return err
	}
	var out bytes.Buffer
	if err := topo.Render(ctx, &out, t, f.format); err != nil {
		if f.format == "svg" {
			return withHint(err, 1, "install graphviz (apt-get install graphviz), or use --format dot and render it elsewhere")
		}
		return err
	}
	for _, w := range t.Warnings {
		fmt.Fprintf(e.io.ErrOut, "jumpgate: warning: %s\n", w)
	}
	if f.output != "" {
		if err := os.WriteFile(f.output, out.Bytes(), 0o644); err != nil {
			return fmt.Errorf("write %s: %w", f.output, err)
		}
		return nil
	}
	_, err = e.io.Out.Write(out.Bytes())
	return err
}

// topoDial connects to target exactly as `jumpgate ssh` would (ssh_config,
// jump chains, known_hosts, agent, keys), and prints a failure the way
// ssh(1) does.
func topoDial(ctx context.Context, e *env, f *connFlags, target string) (*dial.Conn, error) {
	a, err := f.sshArgs(e, "topo", "target", target)
	if err != nil {
		return nil, err
	}
	conn, _, err := newClient(ctx, e, a).DialDest(ctx)
	return conn, err
}
