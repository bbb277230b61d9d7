package cli

// `jumpgate net`: declarative virtual networks (see package netcfg): plan,
// apply, destroy and export a topology file; link-emu is the hidden
// userspace link emulator that apply starts where the kernel has no netem.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/jumpgate/jumpgate/internal/client"
	"github.com/jumpgate/jumpgate/internal/dial"
	"github.com/jumpgate/jumpgate/internal/linkemu"
	"github.com/jumpgate/jumpgate/internal/netcfg"
)

const netUsage = `Usage: jumpgate net COMMAND [FLAGS] FILE

Declarative networks from a YAML file (schema: docs/net-schema.md):
namespaces, bridges, veth pairs, taps, addresses, routes and link shaping.

Commands:
  plan     print the changes apply would make, making none
  apply    make the changes (idempotent; a failure rolls back this apply)
  destroy  remove exactly what the file owns
  export   write systemd-networkd files: jumpgate net export --systemd DIR FILE

Flags (plan, apply, destroy):
  --prefix P      put P in front of every namespace name (several copies side by side)
  --state-dir D   state files (default /run/jumpgate/net)
  -F, -J, -o, -i, -l, -p, -v, -q   as for ssh, reaching the hosts a file names (host:)

All but export need root.
`

func runNet(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(e.io.ErrOut, netUsage)
		return &statusError{exitUsage}
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "-h", "--help", "help":
		fmt.Fprint(e.io.Out, netUsage)
		return nil
	case "plan", "apply", "destroy":
		return runNetChange(ctx, e, sub, rest)
	case "export":
		return runNetExport(ctx, e, rest)
	case "link-emu":
		return runLinkEmu(ctx, e, rest)
	}
	return usageErrorf("unknown net command %q", sub).hint("run 'jumpgate net --help' for the list")
}

func parseNetFlags(e *env, flags *pflag.FlagSet, use string, args []string) (string, error) {
	if err := parseFlags(e, flags, "Usage: jumpgate net "+use, args); err != nil {
		return "", err
	}
	if flags.NArg() != 1 {
		return "", usageErrorf("net: expected one FILE, got %d arguments", flags.NArg()).hint("usage: jumpgate net %s", use)
	}
	return flags.Arg(0), nil
}

func runNetChange(ctx context.Context, e *env, sub string, args []string) error {
	flags := pflag.NewFlagSet("net "+sub, pflag.ContinueOnError)
	var o netcfg.Options
	flags.StringVar(&o.NetnsPrefix, "prefix", "", "put `P` in front of every namespace name")
	flags.StringVar(&o.StateDir, "state-dir", "", "state `dir` (default "+netcfg.DefaultStateDir+")")
	var cf connFlags
	cf.add(flags, "each host")
	file, err := parseNetFlags(e, flags, sub+" [--prefix P] [--state-dir D] FILE", args)
	if err != nil {
		return helpOr(err)
	}
	t, err := readNetFile(ctx, file)
	if err != nil {
		return err
	}
	bin, err := rootBinary("net "+sub, "reads and changes network namespaces and links")
	if err != nil {
		return err
	}
	o.Emulator = []string{bin, "net", "link-emu"}
	conns := map[string]*dial.Conn{}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	o.Remote = func(ctx context.Context, host string) (netcfg.Shell, error) {
		c := conns[host]
		if c == nil {
			if c, err = topoDial(ctx, e, &cf, host); err != nil {
				return nil, err
			}
			conns[host] = c
		}
		return client.Shell(c), nil
	}
	w := e.io.Out
	switch sub {
	case "plan":
		p, err := netcfg.PlanApply(ctx, t, o)
		if err != nil {
			return err
		}
		return p.Write(w)
	case "apply":
		n, err := netcfg.Apply(ctx, t, o, w)
		if err != nil {
			return withHint(err, 1, "nothing this apply made is left; fix the file and run apply again")
		}
		if n > 0 {
			fmt.Fprintf(w, "applied %d changes\n", n)
		}
		return nil
	default:
		n, err := netcfg.Destroy(ctx, t, o, w)
		if err != nil {
			return err
		}
		if n > 0 {
			fmt.Fprintf(w, "removed %d things\n", n)
		}
		return nil
	}
}

func runNetExport(ctx context.Context, e *env, args []string) error {
	flags := pflag.NewFlagSet("net export", pflag.ContinueOnError)
	dir := flags.String("systemd", "", "write systemd-networkd .netdev/.network files into `DIR`")
	file, err := parseNetFlags(e, flags, "export --systemd DIR FILE", args)
	if err != nil {
		return helpOr(err)
	}
	if *dir == "" {
		return usageErrorf("net export: --systemd DIR is required").hint("e.g. jumpgate net export --systemd /etc/systemd/network %s", file)
	}
	t, err := readNetFile(ctx, file)
	if err != nil {
		return err
	}
	files, skipped := netcfg.Export(t)
	if err := netcfg.WriteFiles(*dir, files); err != nil {
		return err
	}
	for _, f := range files {
		fmt.Fprintf(e.io.Out, "wrote %s/%s\n", *dir, f.Name)
	}
	for _, s := range skipped {
		fmt.Fprintf(e.io.ErrOut, "jumpgate: warning: skipped %s\n", s)
	}
	return nil
}

// readNetFile reads a network file; a schema error (file:line:column:
// field: message) is bad input, exit 2, with a pointer to the schema.
func readNetFile(ctx context.Context, file string) (*netcfg.Topology, error) {
	t, err := netcfg.ReadFile(ctx, file)
	var se *netcfg.SchemaError
	if errors.As(err, &se) {
		return nil, withHint(err, exitUsage, "see docs/net-schema.md for the fields of a network file, and examples/*.yaml")
	}
	if err != nil {
		return nil, withHint(err, exitUsage)
	}
	return t, nil
}

// runLinkEmu is the emulator process apply starts; it prints "ready" once
// its sockets are bound and runs until SIGTERM.
func runLinkEmu(ctx context.Context, e *env, args []string) error {
	cfg, err := linkemu.ParseArgs(args)
	if err != nil {
		return usageErrorf("%v", err)
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, os.Interrupt)
	defer stop()
	return linkemu.Run(ctx, cfg, func() { fmt.Fprintln(e.io.Out, "ready") })
}
