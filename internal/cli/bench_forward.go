package cli

// `jumpgate bench forward`: iperf3 through `ssh -L` over two hops in a lab,
// jumpgate ssh against OpenSSH's ssh, alternately, in both directions.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/pflag"

	"github.com/jumpgate/jumpgate/internal/bench"
	"github.com/jumpgate/jumpgate/internal/lab"
)

type benchForwardFlags struct {
	runs, seconds int
	server        string
	client        string
	kex, cipher   string
	name          string
	keep, json    bool
	masters       bool
	min           float64
	rtt           time.Duration
}

const benchForwardUse = "forward [--runs N] [--seconds S] [--server openssh|jumpgate] [--cipher NAME] [--client PATH] [--masters=false] [--rtt DURATION] [--keep] [--json]"

func parseBenchForward(e *env, args []string) (*benchForwardFlags, error) {
	var f benchForwardFlags
	flags := pflag.NewFlagSet("bench forward", pflag.ContinueOnError)
	flags.IntVar(&f.runs, "runs", 5, "iperf3 runs per side and direction (after one warm-up)")
	flags.IntVar(&f.seconds, "seconds", 3, "length of each iperf3 run in `seconds`")
	flags.StringVar(&f.server, "server", "openssh", "SSH server on the lab's hosts: `openssh` (Debian's sshd) or jumpgate (jumpgate serve)")
	flags.StringVar(&f.client, "client", "/usr/bin/ssh", "OpenSSH's ssh client, the reference (`path`)")
	flags.StringVar(&f.kex, "kex", bench.DefaultKex, "key exchange forced on both sides (`name`)")
	flags.StringVar(&f.cipher, "cipher", bench.DefaultCipher, "cipher forced on both sides, every hop (`name`, or default for each side's own)")
	flags.StringVar(&f.name, "name", "benchfwd", "the lab's `name`, prefix of its namespaces")
	flags.BoolVar(&f.keep, "keep", false, "keep the lab on exit (remove it with 'jumpgate lab down --name NAME')")
	flags.BoolVar(&f.json, "json", false, "print the results as JSON instead of a table")
	flags.BoolVar(&f.masters, "masters", true, "measure both clients through their control masters as well (ControlMaster auto, one master per host of the chain: jumpgate's default)")
	flags.Float64Var(&f.min, "target", 1.0, "target jumpgate/OpenSSH throughput `ratio` for the verdict (with --rtt: jumpgate/plain TCP)")
	flags.DurationVar(&f.rtt, "rtt", 0, "measure a long path instead: downloads from hyper1 over a cable with this emulated round `trip`, plain TCP on it the ceiling (try --rtt 200ms --seconds 10)")
	flags.SetOutput(io.Discard)
	flags.Usage = func() {}
	err := flags.Parse(args)
	if errors.Is(err, pflag.ErrHelp) {
		fmt.Fprintf(e.io.Out, "Usage: jumpgate bench %s\n\n%s", benchForwardUse, flags.FlagUsages())
		return nil, errHelp
	}
	switch {
	case err != nil:
		return nil, usageErrorf("bench forward: %v", err).hint("run 'jumpgate bench forward --help'")
	case flags.NArg() > 0:
		return nil, usageErrorf("bench forward takes no arguments, got %q", flags.Args())
	case f.runs < 1:
		return nil, usageErrorf("bench forward: --runs must be at least 1, got %d", f.runs)
	case f.seconds < 1:
		return nil, usageErrorf("bench forward: --seconds must be at least 1, got %d", f.seconds)
	case f.min <= 0:
		return nil, usageErrorf("bench forward: --target must be above 0, got %g", f.min)
	}
	return &f, nil
}

func runBenchForward(ctx context.Context, e *env, args []string) error {
	f, err := parseBenchForward(e, args)
	if err != nil {
		return helpOr(err)
	}
	b := benchLab{what: "forward", server: f.server, client: f.client, name: f.name, keep: f.keep, dirPrefix: "jumpgate-bench-"}
	return b.run(ctx, e, func(l *lab.Lab, dir, bin string) error {
		jg := bench.Client{Name: "jumpgate", Argv: []string{bin, "ssh"}}
		ossh := bench.Client{Name: "OpenSSH", Argv: []string{f.client}}
		w := e.io.ErrOut
		results, err := bench.Forward(ctx, bench.ForwardOptions{Lab: l, A: jg, B: ossh, Kex: f.kex, Cipher: f.cipher,
			Runs: f.runs, Seconds: f.seconds, Dir: dir, Masters: f.masters, RTT: f.rtt, Emulator: []string{bin, "net", "link-emu"}}, w)
		if err != nil {
			return err
		}
		verdict := bench.ForwardVerdict(results, f.min)
		if f.json {
			return bench.WriteForwardJSON(e.io.Out, bench.Report{Server: f.server, Kex: f.kex, Cipher: f.cipher, Runs: f.runs,
				Seconds: f.seconds, Target: f.min, RTT: f.rtt, Verdict: verdict}, jg, ossh, results)
		}
		if err := bench.WriteForwardTable(e.io.Out, jg.Name, ossh.Name, results); err != nil {
			return err
		}
		_, err = fmt.Fprintf(e.io.Out, "verdict: %s\n", verdict)
		return err
	})
}
