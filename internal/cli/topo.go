package cli

// `jumpgate topo [TARGET]`: discover a host's network topology, locally
// through netlink or on TARGET through an SSH exec channel (the same
// connection flags as `jumpgate ssh`), and render it.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"time"

	"github.com/spf13/pflag"

	"github.com/jumpgate/jumpgate/internal/client"
	"github.com/jumpgate/jumpgate/internal/dial"
	"github.com/jumpgate/jumpgate/internal/topo"
)

const topoUse = `Usage: jumpgate topo [flags] [TARGET...]

Without TARGET, discovers this host's namespaces, links, bridges, veth
peers, taps, Open vSwitch and libvirt through netlink. With TARGET
([user@]host, a + chain or a config alias), runs iproute2 on it over SSH;
nothing needs to be installed there. With several TARGETs, --all or
--hosts-file, discovers a fleet in parallel (each jump host connected
once) and joins it into one graph with the links between hosts; a host
that cannot be reached is shown with its error, and the exit status is
1 (255 when no host was reached).

`

// topoFlags is the command line of `jumpgate topo`.
type topoFlags struct {
	format, serve, netns, output string
	poll                         time.Duration
	fleetFlags
}

func (f *topoFlags) add(fs *pflag.FlagSet) {
	fs.StringVar(&f.format, "format", "text", "output `format`: text, json, dot, svg or html")
	fs.StringVar(&f.serve, "serve", "", "serve a live page at `ADDR` (host:port; loopback unless a host is named)")
	fs.StringVar(&f.netns, "netns", "", "only namespaces whose name matches the glob `PATTERN` (the root namespace is always shown)")
	fs.StringVarP(&f.output, "output", "O", "", "write to `FILE` instead of standard output")
	fs.DurationVar(&f.poll, "poll", 2*time.Second, "with --serve on a TARGET, how often to rediscover")
	f.fleetFlags.add(fs, "the target")
}

func runTopo(ctx context.Context, e *env, args []string) error {
	fs := pflag.NewFlagSet("topo", pflag.ContinueOnError)
	var f topoFlags
	f.add(fs)
	if err := parseFlags(e, fs, topoUse, args); err != nil {
		return helpOr(err)
	}
	if !slices.Contains([]string{"text", "json", "dot", "svg", "html"}, f.format) {
		return usageErrorf("topo: unknown format %q", f.format).hint("use --format text, json, dot, svg or html")
	}
	if _, err := path.Match(f.netns, ""); err != nil {
		return usageErrorf("topo: bad --netns pattern %q: %v", f.netns, err)
	}
	if fs.NArg() > 1 || f.all || f.hostsFile != "" {
		return runTopoFleet(ctx, e, &f, fs.Args())
	}

	var discover func(context.Context) (*topo.Topology, error)
	if fs.NArg() == 1 {
		conn, err := topoDial(ctx, e, &f.connFlags, fs.Arg(0))
		if err != nil {
			return err
		}
		defer conn.Close()
		discover = func(ctx context.Context) (*topo.Topology, error) {
			t, err := topo.DiscoverRemote(ctx, client.Shell(conn))
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
	return writeTopo(e, f.output, f.format, t.Warnings, func(w io.Writer) error { return topo.Render(ctx, w, t, f.format) })
}

// writeTopo renders to -O FILE or standard output, after the warnings.
func writeTopo(e *env, output, format string, warnings []string, render func(io.Writer) error) error {
	var out bytes.Buffer
	if err := render(&out); err != nil {
		if format == "svg" {
			return withHint(err, 1, "install graphviz (apt-get install graphviz), or use --format dot and render it elsewhere")
		}
		return err
	}
	for _, w := range warnings {
		fmt.Fprintf(e.io.ErrOut, "jumpgate: warning: %s\n", w)
	}
	if output != "" {
		if err := os.WriteFile(output, out.Bytes(), 0o644); err != nil {
			return fmt.Errorf("write %s: %w", output, err)
		}
		return nil
	}
	_, err := e.io.Out.Write(out.Bytes())
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
