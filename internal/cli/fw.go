package cli

// `jumpgate fw`: anti-spoofing rules for bridges (see package fw and
// docs/fw-policy.md): plan prints them, apply installs them in one
// nftables transaction, flush removes our table.

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/pflag"

	"github.com/jumpgate/jumpgate/internal/fw"
)

const fwUsage = `Usage: jumpgate fw COMMAND [FLAGS] [HOST...]

Anti-spoofing firewall rules for Linux bridges (nftables, table bridge jumpgate):
guests may send only from the MAC and IP addresses bound to their port, and
no station may appear on a bridge from the wrong side of a border port.

Commands:
  plan   print the rule set (and, with --print-policy, the policy it comes from)
  apply  install the rule set in one transaction, replacing our table only
  flush  remove our table, and nothing else

Without --policy, the policy is derived from the live topology: every guest
port is bound to the stations seen behind it. With HOSTs (or --all,
--hosts-file), each host's policy is derived from the fleet's joined
topology and its rules planned, applied (nft -f - over SSH) or flushed
there; exit status 1 if a host failed, 255 if none was reached. See
docs/fw-policy.md.
`

// fwFlags are the flags of plan and apply.
type fwFlags struct {
	policy, netns string
	printPolicy   bool
	fleetFlags
}

func runFw(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(e.io.ErrOut, fwUsage)
		return &statusError{exitUsage}
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "-h", "--help", "help":
		fmt.Fprint(e.io.Out, fwUsage)
		return nil
	case "plan", "apply", "flush":
	default:
		return usageErrorf("unknown fw command %q", sub).hint("run 'jumpgate fw --help' for the list")
	}
	var f fwFlags
	flags := pflag.NewFlagSet("fw "+sub, pflag.ContinueOnError)
	flags.StringVar(&f.netns, "netns", "", "work on the bridges of network namespace `name` (/run/netns/NAME)")
	if sub != "flush" {
		flags.StringVar(&f.policy, "policy", "", "read the policy from `file` instead of deriving it")
	}
	if sub == "plan" {
		flags.BoolVar(&f.printPolicy, "print-policy", false, "print the policy instead of the rules")
	}
	f.fleetFlags.add(flags, "the hosts")
	if err := parseFlags(e, flags, "Usage: jumpgate fw "+sub+" [FLAGS] [HOST...]", rest); err != nil {
		return helpOr(err)
	}
	if flags.NArg() > 0 || f.all || f.hostsFile != "" {
		return runFwFleet(ctx, e, sub, &f, flags.Args())
	}
	target := fw.Target{}
	if f.netns != "" {
		target.NetNS = "/run/netns/" + f.netns
	}
	if sub == "flush" {
		had, err := fw.Flush(ctx, target)
		if err != nil {
			return fwErr(err)
		}
		fmt.Fprintln(e.io.ErrOut, fw.FlushNote(had))
		return nil
	}
	p, err := fwPolicy(ctx, e, f)
	if err != nil {
		return err
	}
	if f.printPolicy {
		_, err := e.io.Out.Write(p.Encode())
		return err
	}
	rs, err := fw.Generate(p)
	if err != nil {
		return err
	}
	if sub == "plan" {
		fmt.Fprint(e.io.Out, rs.Text())
		fmt.Fprintln(e.io.ErrOut, rs.Summary)
		return nil
	}
	if err := fw.Apply(ctx, target, rs); err != nil {
		return fwErr(err)
	}
	fmt.Fprintln(e.io.ErrOut, "applied:", rs.Summary)
	return nil
}

// runFwFleet is `jumpgate fw` on the hosts of a fleet, over SSH.
func runFwFleet(ctx context.Context, e *env, sub string, f *fwFlags, named []string) error {
	if f.policy != "" {
		return usageErrorf("fw %s: --policy names one namespace's ports, not a fleet's", sub).hint("drop --policy to derive each host's, or run jumpgate fw on the host")
	}
	fl, targets, err := f.fleet(ctx, e, "fw "+sub, fw.FleetNetns(f.netns), named)
	if err != nil {
		return err
	}
	defer fl.Close()
	if sub == "flush" {
		return fleetStatus("fw flush", "reached", fw.FlushFleet(ctx, targets, fl.Run, e.io.ErrOut), 0, len(targets))
	}
	plans := fw.PlanFleet(fl.Discover(ctx, targets), f.netns)
	if sub == "apply" {
		fw.ApplyFleet(ctx, plans, fl.Run, e.io.ErrOut)
	} else if err := fw.WritePlans(e.io.Out, e.io.ErrOut, plans, f.printPolicy); err != nil {
		return err
	}
	failed, unreached := fw.Failed(plans)
	return fleetStatus("fw "+sub, "reached", failed, unreached, len(plans))
}

// fwPolicy reads --policy, or derives the policy from the live topology.
func fwPolicy(ctx context.Context, e *env, f fwFlags) (*fw.Policy, error) {
	if f.policy != "" {
		p, err := fw.LoadPolicy(ctx, f.policy)
		if err != nil {
			return nil, withHint(err, exitUsage, "see docs/fw-policy.md and examples/fw-two-bridges.yaml")
		}
		return p, nil
	}
	p, warns, err := fw.DeriveLocal(ctx, f.netns)
	for _, w := range warns {
		fmt.Fprintf(e.io.ErrOut, "jumpgate: warning: %s\n", w)
	}
	if err != nil {
		return nil, withHint(err, 1, "write a policy (see docs/fw-policy.md) and pass it with --policy FILE")
	}
	return p, nil
}

func fwErr(err error) error {
	if os.Geteuid() != 0 {
		return withHint(err, 1, "changing nftables needs root (CAP_NET_ADMIN): run it as root")
	}
	return withHint(err, 1)
}
