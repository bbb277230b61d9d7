package cli

// `jumpgate bench mux`: multiplexing in a lab, jumpgate against OpenSSH,
// alternately: `true` through a master that is up (to hyper1, and to vm1
// through two jumps), and `vm2 true` right after `vm1 true`, jumpgate
// reusing the jump hosts' masters, OpenSSH with a fresh -J.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"

	"github.com/jumpgate/jumpgate/internal/bench"
	"github.com/jumpgate/jumpgate/internal/lab"
)

type benchMuxFlags struct {
	runs        int
	server      string
	client      string
	kex         string
	name        string
	keep, json  bool
	trace       bool
	max, reuse  float64
	jgClientCmd string // hidden: the jumpgate side's command, for tests
}

const benchMuxUse = "mux [--runs N] [--server openssh|jumpgate] [--client PATH] [--keep] [--json] [--trace]"

func parseBenchMux(e *env, args []string) (*benchMuxFlags, error) {
	var f benchMuxFlags
	flags := pflag.NewFlagSet("bench mux", pflag.ContinueOnError)
	flags.IntVar(&f.runs, "runs", 15, "timed runs per side and row (after one warm-up)")
	flags.StringVar(&f.server, "server", "openssh", "SSH server on the lab's hosts: `openssh` (Debian's sshd) or jumpgate (jumpgate serve)")
	flags.StringVar(&f.client, "client", "/usr/bin/ssh", "OpenSSH's ssh client, the reference (`path`)")
	flags.StringVar(&f.kex, "kex", bench.DefaultKex, "key exchange forced on both sides, every hop (`name`)")
	flags.StringVar(&f.name, "name", "benchmux", "the lab's `name`, prefix of its namespaces")
	flags.BoolVar(&f.keep, "keep", false, "keep the lab on exit (remove it with 'jumpgate lab down --name NAME')")
	flags.BoolVar(&f.json, "json", false, "print the results as JSON instead of a table")
	flags.BoolVar(&f.trace, "trace", false, "print the -v output of the runs that start the masters on stderr")
	flags.Float64Var(&f.max, "target", 1.0, "target jumpgate/OpenSSH `ratio` of the multiplexed rows")
	flags.Float64Var(&f.reuse, "reuse-speedup", 3, "how many `times` faster than OpenSSH's fresh -J jumpgate's hop reuse must be")
	flags.StringVar(&f.jgClientCmd, "jumpgate-client", "", "the jumpgate side's command (default: this binary's 'ssh')")
	_ = flags.MarkHidden("jumpgate-client")
	flags.SetOutput(io.Discard)
	flags.Usage = func() {}
	err := flags.Parse(args)
	if errors.Is(err, pflag.ErrHelp) {
		fmt.Fprintf(e.io.Out, "Usage: jumpgate bench %s\n\n%s", benchMuxUse, flags.FlagUsages())
		return nil, errHelp
	}
	switch {
	case err != nil:
		return nil, usageErrorf("bench mux: %v", err).hint("run 'jumpgate bench mux --help'")
	case flags.NArg() > 0:
		return nil, usageErrorf("bench mux takes no arguments, got %q", flags.Args())
	case f.runs < 1:
		return nil, usageErrorf("bench mux: --runs must be at least 1, got %d", f.runs)
	case f.max <= 0:
		return nil, usageErrorf("bench mux: --target must be above 0, got %g", f.max)
	case f.reuse <= 0:
		return nil, usageErrorf("bench mux: --reuse-speedup must be above 0, got %g", f.reuse)
	}
	return &f, nil
}

func runBenchMux(ctx context.Context, e *env, args []string) error {
	f, err := parseBenchMux(e, args)
	if err != nil {
		return helpOr(err)
	}
	b := benchLab{what: "mux", server: f.server, client: f.client, name: f.name, keep: f.keep, dirPrefix: "jgbm-"}
	return b.run(ctx, e, func(l *lab.Lab, dir, bin string) error {
		jg := bench.Client{Name: "jumpgate", Argv: []string{bin, "ssh"}}
		if f.jgClientCmd != "" {
			jg.Argv = strings.Fields(f.jgClientCmd)
		}
		return bench.RunMux(ctx, bench.RunOptions{Lab: l, Dir: dir, A: jg, B: bench.Client{Name: "OpenSSH", Argv: []string{f.client}},
			Server: f.server, Kex: f.kex, Runs: f.runs, Target: f.max, ReuseTarget: 1 / f.reuse, Trace: f.trace, JSON: f.json,
			Log: e.io.ErrOut, Out: e.io.Out})
	})
}
