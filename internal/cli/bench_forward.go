package cli

// `jumpgate bench forward`: iperf3 through `ssh -L` over two hops in a lab,
// jumpgate ssh against OpenSSH's ssh, alternately, in both directions.

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/pflag"

	"github.com/jumpgate/jumpgate/internal/bench"
	"github.com/jumpgate/jumpgate/internal/lab"
)

type benchForwardFlags struct {
	benchCommon
	seconds int
	cipher  string
	masters bool
	rtt     time.Duration
}

// longPathTarget is the verdict's ratio to plain TCP on a long path: the
// engine's goal there (OpenSSH, held to 2 MiB a round trip, makes ~0.6).
const longPathTarget = 0.8

const benchForwardUse = "forward [--runs N] [--seconds S] [--server openssh|jumpgate] [--cipher NAME] [--client PATH] [--masters=false] [--rtt DURATION] [--keep] [--json]"

func parseBenchForward(e *env, args []string) (*benchForwardFlags, error) {
	var f benchForwardFlags
	flags := pflag.NewFlagSet("bench forward", pflag.ContinueOnError)
	f.add(flags, 5, "iperf3 runs per side and direction (after one warm-up)", "benchfwd", "key exchange forced on both sides (`name`)",
		"target jumpgate/OpenSSH throughput `ratio` for the verdict (with --rtt: jumpgate/plain TCP, 0.8 unless given)")
	flags.IntVar(&f.seconds, "seconds", 3, "length of each iperf3 run in `seconds`")
	flags.StringVar(&f.cipher, "cipher", bench.DefaultCipher, "cipher forced on both sides, every hop (`name`, or default for each side's own)")
	flags.BoolVar(&f.masters, "masters", true, "measure both clients through their control masters as well (ControlMaster auto, one master per host of the chain: jumpgate's default)")
	flags.DurationVar(&f.rtt, "rtt", 0, "measure a long path instead: downloads from hyper1 over a cable with this emulated round `trip`, plain TCP on it the ceiling (try --rtt 200ms --seconds 10)")
	if err := f.parse(e, flags, benchForwardUse, args); err != nil {
		return nil, err
	}
	if f.seconds < 1 {
		return nil, usageErrorf("bench forward: --seconds must be at least 1, got %d", f.seconds)
	}
	if f.rtt > 0 && !flags.Changed("target") {
		f.target = longPathTarget
	}
	return &f, nil
}

func runBenchForward(ctx context.Context, e *env, args []string) error {
	f, err := parseBenchForward(e, args)
	if err != nil {
		return helpOr(err)
	}
	return f.lab("forward", "jumpgate-bench-").run(ctx, e, func(l *lab.Lab, dir, bin string) error {
		jg, ossh := f.sides(bin)
		w := e.io.ErrOut
		results, err := bench.Forward(ctx, bench.ForwardOptions{Lab: l, A: jg, B: ossh, Kex: f.kex, Cipher: f.cipher,
			Runs: f.runs, Seconds: f.seconds, Dir: dir, Masters: f.masters, RTT: f.rtt, Emulator: []string{bin, "net", "link-emu"}}, w)
		if err != nil {
			return err
		}
		verdict := bench.ForwardVerdict(results, f.target)
		if f.json {
			return bench.WriteForwardJSON(e.io.Out, bench.Report{Server: f.server, Kex: f.kex, Cipher: f.cipher, Runs: f.runs,
				Seconds: f.seconds, Target: f.target, RTT: f.rtt, Verdict: verdict}, jg, ossh, results)
		}
		if err := bench.WriteForwardTable(e.io.Out, jg.Name, ossh.Name, results); err != nil {
			return err
		}
		_, err = fmt.Fprintf(e.io.Out, "verdict: %s\n", verdict)
		return err
	})
}
