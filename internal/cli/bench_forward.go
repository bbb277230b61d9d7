package cli

// `jumpgate bench forward`: iperf3 through `ssh -L` over two hops in a lab,
// jumpgate ssh against OpenSSH's ssh, alternately, in both directions.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
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
}

const benchForwardUse = "forward [--runs N] [--seconds S] [--server openssh|jumpgate] [--cipher NAME] [--client PATH] [--masters=false] [--keep] [--json]"

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
	flags.Float64Var(&f.min, "target", 1.0, "target jumpgate/OpenSSH throughput `ratio` for the verdict")
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
	kind, err := lab.ParseServerKind(f.server)
	if err != nil {
		return usageErrorf("bench forward: %v", err)
	}
	if _, err := os.Stat(f.client); err != nil {
		return withHint(fmt.Errorf("bench forward: OpenSSH's client: %w", err), 1,
			"install it (apt-get install openssh-client) or name it: --client PATH")
	}
	if os.Geteuid() != 0 {
		return withHint(errors.New("'jumpgate bench forward' needs root: it builds a lab of network namespaces"), 1,
			"run it as root: sudo jumpgate bench forward")
	}
	bin, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find the jumpgate binary: %w", err)
	}
	jg := bench.Client{Name: "jumpgate", Argv: []string{bin, "ssh"}}
	ossh := bench.Client{Name: "OpenSSH", Argv: []string{f.client}}
	dir, err := os.MkdirTemp("/run", "jumpgate-bench-")
	if err != nil {
		return fmt.Errorf("bench forward: %w", err)
	}
	defer os.RemoveAll(dir)

	w := e.io.ErrOut
	t := time.Now()
	l, err := lab.Up(ctx, lab.Options{Name: f.name, Server: kind, Binary: bin, Log: io.Discard})
	if err != nil {
		if ctx.Err() != nil {
			return withHint(errors.New("bench interrupted; its lab was removed"), 130)
		}
		return labHint(fmt.Errorf("bench forward: %w", err), kind)
	}
	fmt.Fprintf(w, "bench: lab %s up (%s servers) in %v\n", l.Name(), kind, time.Since(t).Round(time.Millisecond))
	defer func() {
		if f.keep {
			fmt.Fprintf(w, "bench: lab %s kept; remove it with: jumpgate lab down --name %s\n", l.Name(), l.Name())
			return
		}
		if derr := l.Down(context.WithoutCancel(ctx)); derr != nil {
			fmt.Fprintf(w, "bench: lab %s down: %v\n", l.Name(), derr)
		}
	}()

	results, err := bench.Forward(ctx, bench.ForwardOptions{Lab: l, A: jg, B: ossh, Kex: f.kex, Cipher: f.cipher,
		Runs: f.runs, Seconds: f.seconds, Dir: dir, Masters: f.masters}, w)
	if ctx.Err() != nil {
		return withHint(errors.New("bench interrupted"), 130)
	}
	if err != nil {
		return fmt.Errorf("bench forward: %w", err)
	}
	verdict := bench.ForwardVerdict(results, f.min)
	if f.json {
		return writeBenchForwardJSON(e.io.Out, f, jg, ossh, results, verdict)
	}
	if err := bench.WriteForwardTable(e.io.Out, jg.Name, ossh.Name, results); err != nil {
		return err
	}
	_, err = fmt.Fprintf(e.io.Out, "verdict: %s\n", verdict)
	return err
}

// benchForwardJSON is `bench forward --json`; its fields only ever grow.
type benchForwardJSON struct {
	Benchmark string                `json:"benchmark"`
	Server    string                `json:"server"`
	Kex       string                `json:"kex_forced"`
	Cipher    string                `json:"cipher_forced"`
	Runs      int                   `json:"runs"`
	Seconds   int                   `json:"seconds"`
	Target    float64               `json:"target_ratio"`
	Rows      []benchForwardRowJSON `json:"rows"`
	Verdict   string                `json:"verdict"`
	OK        bool                  `json:"ok"`
}

type benchForwardRowJSON struct {
	Name     string               `json:"name"`
	Ratio    float64              `json:"ratio"`
	Jumpgate benchForwardSideJSON `json:"jumpgate"`
	OpenSSH  benchForwardSideJSON `json:"openssh"`
}

type benchForwardSideJSON struct {
	Argv       []string  `json:"argv"`
	MedianMbps float64   `json:"median_mbps"`
	Samples    []float64 `json:"samples_mbps"`
}

func writeBenchForwardJSON(w io.Writer, f *benchForwardFlags, jg, ossh bench.Client, results []bench.ForwardResult, verdict string) error {
	out := benchForwardJSON{Benchmark: "forward", Server: f.server, Kex: f.kex, Cipher: f.cipher, Runs: f.runs,
		Seconds: f.seconds, Target: f.min, Verdict: verdict, OK: strings.HasPrefix(verdict, "ok"), Rows: []benchForwardRowJSON{}}
	mbps := func(xs []float64) []float64 {
		out := make([]float64, len(xs))
		for i, x := range xs {
			out[i] = x / 1e6
		}
		return out
	}
	for _, r := range results {
		out.Rows = append(out.Rows, benchForwardRowJSON{Name: r.Name, Ratio: r.Ratio(),
			Jumpgate: benchForwardSideJSON{Argv: jg.Argv, MedianMbps: bench.MedianFloat(r.A) / 1e6, Samples: mbps(r.A)},
			OpenSSH:  benchForwardSideJSON{Argv: ossh.Argv, MedianMbps: bench.MedianFloat(r.B) / 1e6, Samples: mbps(r.B)}})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
