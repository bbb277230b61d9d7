package cli

// `jumpgate bench mux`: multiplexing in a lab, jumpgate against OpenSSH,
// alternately: `true` through a master that is up (to hyper1, and to vm1
// through two jumps), and `vm2 true` right after `vm1 true`, jumpgate
// reusing the jump hosts' masters, OpenSSH with a fresh -J.

import (
	"context"

	"github.com/spf13/pflag"

	"github.com/jumpgate/jumpgate/internal/bench"
	"github.com/jumpgate/jumpgate/internal/lab"
)

type benchMuxFlags struct {
	benchCommon
	trace bool
	reuse float64
}

const benchMuxUse = "mux [--runs N] [--server openssh|jumpgate] [--client PATH] [--keep] [--json] [--trace]"

func parseBenchMux(e *env, args []string) (*benchMuxFlags, error) {
	var f benchMuxFlags
	flags := pflag.NewFlagSet("bench mux", pflag.ContinueOnError)
	f.add(flags, 15, "timed runs per side and row (after one warm-up)", "benchmux",
		"key exchange forced on both sides, every hop (`name`)", "target jumpgate/OpenSSH `ratio` of the multiplexed rows")
	flags.BoolVar(&f.trace, "trace", false, "print the -v output of the runs that start the masters on stderr")
	flags.Float64Var(&f.reuse, "reuse-speedup", 3, "how many `times` faster than OpenSSH's fresh -J jumpgate's hop reuse must be")
	if err := f.parse(e, flags, benchMuxUse, args); err != nil {
		return nil, err
	}
	if f.reuse <= 0 {
		return nil, usageErrorf("bench mux: --reuse-speedup must be above 0, got %g", f.reuse)
	}
	return &f, nil
}

func runBenchMux(ctx context.Context, e *env, args []string) error {
	f, err := parseBenchMux(e, args)
	if err != nil {
		return helpOr(err)
	}
	return f.lab("mux", "jgbm-").run(ctx, e, func(l *lab.Lab, dir, bin string) error {
		jg, ossh := f.sides(bin)
		return bench.RunMux(ctx, bench.RunOptions{Lab: l, Dir: dir, A: jg, B: ossh,
			Server: f.server, Kex: f.kex, Runs: f.runs, Target: f.target, ReuseTarget: 1 / f.reuse, Trace: f.trace, JSON: f.json,
			Log: e.io.ErrOut, Out: e.io.Out})
	})
}
