package cli

// `jumpgate fw`: anti-spoofing rules for bridges (see package fw and
// docs/fw-policy.md): plan prints them, apply installs them in one
// nftables transaction, flush removes our table.

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/pflag"

	"github.com/jumpgate/jumpgate/internal/cfgfile"
	"github.com/jumpgate/jumpgate/internal/fw"
	"github.com/jumpgate/jumpgate/internal/topo"
)

const fwUsage = `Usage: jumpgate fw COMMAND [FLAGS]

Anti-spoofing firewall rules for Linux bridges (nftables, table bridge jumpgate):
guests may send only from the MAC and IP addresses bound to their port, and
no station may appear on a bridge from the wrong side of a border port.

Commands:
  plan   print the rule set (and, with --print-policy, the policy it comes from)
  apply  install the rule set in one transaction, replacing our table only
  flush  remove our table, and nothing else

Without --policy, the policy is derived from the live topology: every guest
port is bound to the stations seen behind it. See docs/fw-policy.md.
`

// fwFlags are the flags of plan and apply.
type fwFlags struct {
	policy, netns string
	printPolicy   bool
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
	if err := parseFlags(e, flags, "Usage: jumpgate fw "+sub+" [FLAGS]", rest); err != nil {
		return helpOr(err)
	}
	if flags.NArg() > 0 {
		return usageErrorf("fw %s: unexpected argument %q", sub, flags.Arg(0)).hint("give the policy with --policy FILE")
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
		if had {
			fmt.Fprintf(e.io.ErrOut, "removed table bridge %s\n", fw.TableName)
		} else {
			fmt.Fprintf(e.io.ErrOut, "no table bridge %s: nothing to remove\n", fw.TableName)
		}
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
	s := rs.Summary
	summary := fmt.Sprintf("%d bridges, %d guest ports (%d stations), %d border ports: %d rules in table bridge %s",
		s.Bridges, s.GuestPorts, s.Stations, s.BorderPorts, s.Rules, fw.TableName)
	if sub == "plan" {
		fmt.Fprint(e.io.Out, rs.Text())
		fmt.Fprintln(e.io.ErrOut, summary)
		return nil
	}
	if err := fw.Apply(ctx, target, rs); err != nil {
		return fwErr(err)
	}
	fmt.Fprintln(e.io.ErrOut, "applied: "+summary)
	return nil
}

// fwPolicy reads --policy, or derives the policy from the live topology.
func fwPolicy(ctx context.Context, e *env, f fwFlags) (*fw.Policy, error) {
	if f.policy != "" {
		data, err := cfgfile.Read(ctx, f.policy)
		if err != nil {
			return nil, withHint(fmt.Errorf("read policy: %w", err), exitUsage, "see docs/fw-policy.md and examples/fw-two-bridges.yaml")
		}
		p, err := fw.ParsePolicy(f.policy, data)
		if err != nil {
			return nil, withHint(err, exitUsage, "see docs/fw-policy.md for the policy file's fields")
		}
		return p, nil
	}
	t, err := topo.Discover(ctx, topo.Options{Filter: func(name string) bool { return name == f.netns }})
	if err != nil {
		return nil, fmt.Errorf("discover the topology to derive a policy: %w", err)
	}
	p, warns, err := fw.FromTopology(t, f.netns)
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
