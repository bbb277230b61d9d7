package cli

// `jumpgate bench`: measure jumpgate against OpenSSH in one run. Its one
// benchmark so far, connect, builds a lab, times fresh connections from the
// laptop with both clients alternately (package bench), prints the table
// and a verdict, and removes the lab on every way out.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/jumpgate/jumpgate/internal/bench"
	"github.com/jumpgate/jumpgate/internal/lab"
)

const benchUsage = `Usage: jumpgate bench BENCHMARK [FLAGS]

Measure jumpgate against OpenSSH in one run, alternating the two.

Benchmarks:
  connect  fresh connect + 'true' from a lab's laptop to hyper1 (direct),
           hyper2 (1 hop) and vm1 (2 hops), jumpgate ssh against OpenSSH's ssh
  forward  iperf3 through 'ssh -L' over two hops, both directions
  mux      'true' through a running master (hyper1, and vm1 behind two jumps),
           and 'vm2 true' right after 'vm1 true': jumpgate reusing the jump
           hosts' masters against OpenSSH's fresh -J

Run 'jumpgate bench BENCHMARK --help' for its flags. Benchmarks need root (they build a lab).
`

// runBench is `jumpgate bench`.
func runBench(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(e.io.ErrOut, benchUsage)
		return &statusError{exitUsage}
	}
	switch args[0] {
	case "-h", "--help", "help":
		fmt.Fprint(e.io.Out, benchUsage)
		return nil
	case "connect":
		return runBenchConnect(ctx, e, args[1:])
	case "forward":
		return runBenchForward(ctx, e, args[1:])
	case "mux":
		return runBenchMux(ctx, e, args[1:])
	}
	return usageErrorf("unknown benchmark %q", args[0]).hint("run 'jumpgate bench --help' for the list")
}

// benchCommon are the flags every benchmark takes.
type benchCommon struct {
	runs                int
	server, client, kex string
	name                string
	keep, json          bool
	target              float64
	jgClient            string // hidden: the jumpgate side's command, for tests
}

// add defines them: the default runs and lab name, and the help of --runs,
// --kex and --target, differ by benchmark.
func (c *benchCommon) add(fs *pflag.FlagSet, runs int, runsHelp, name, kexHelp, targetHelp string) {
	fs.IntVar(&c.runs, "runs", runs, runsHelp)
	fs.StringVar(&c.server, "server", "openssh", "SSH server on the lab's hosts: `openssh` (Debian's sshd) or jumpgate (jumpgate serve)")
	fs.StringVar(&c.client, "client", "/usr/bin/ssh", "OpenSSH's ssh client, the reference (`path`)")
	fs.StringVar(&c.kex, "kex", bench.DefaultKex, kexHelp)
	fs.StringVar(&c.name, "name", name, "the lab's `name`, prefix of its namespaces")
	fs.BoolVar(&c.keep, "keep", false, "keep the lab on exit (remove it with 'jumpgate lab down --name NAME')")
	fs.BoolVar(&c.json, "json", false, "print the results as JSON instead of a table")
	fs.Float64Var(&c.target, "target", 1.0, targetHelp)
	fs.StringVar(&c.jgClient, "jumpgate-client", "", "the jumpgate side's command (default: this binary's 'ssh')")
	_ = fs.MarkHidden("jumpgate-client")
}

// parse parses args and checks what every benchmark needs.
func (c *benchCommon) parse(e *env, fs *pflag.FlagSet, use string, args []string) error {
	if err := parseNoArgs(e, fs, "Usage: jumpgate bench "+use, args); err != nil {
		return err
	}
	switch {
	case c.runs < 1:
		return usageErrorf("%s: --runs must be at least 1, got %d", fs.Name(), c.runs)
	case c.target <= 0:
		return usageErrorf("%s: --target must be above 0, got %g", fs.Name(), c.target)
	}
	return nil
}

func (c *benchCommon) lab(what, dirPrefix string) benchLab {
	return benchLab{what: what, server: c.server, client: c.client, name: c.name, keep: c.keep, dirPrefix: dirPrefix}
}

// sides are jumpgate's client (this binary's ssh, or --jumpgate-client)
// and OpenSSH's.
func (c *benchCommon) sides(bin string) (jg, ossh bench.Client) {
	jg = bench.Client{Name: "jumpgate", Argv: []string{bin, "ssh"}}
	if c.jgClient != "" {
		jg.Argv = strings.Fields(c.jgClient)
	}
	return jg, bench.Client{Name: "OpenSSH", Argv: []string{c.client}}
}

// benchConnectFlags are the flags of `jumpgate bench connect`.
type benchConnectFlags struct {
	benchCommon
	trace bool
}

const benchConnectUse = "connect [--runs N] [--server openssh|jumpgate] [--client PATH] [--keep] [--json] [--trace]"

func parseBenchConnect(e *env, args []string) (*benchConnectFlags, error) {
	var f benchConnectFlags
	flags := pflag.NewFlagSet("bench connect", pflag.ContinueOnError)
	f.add(flags, 15, "timed runs per side and row (after one warm-up)", "bench",
		"key exchange forced on both sides (`name`)", "target jumpgate/OpenSSH `ratio` for the verdict")
	flags.BoolVar(&f.trace, "trace", false, "print each client's -v output, timed, on stderr (where does the time go?)")
	if err := f.parse(e, flags, benchConnectUse, args); err != nil {
		return nil, err
	}
	return &f, nil
}

func runBenchConnect(ctx context.Context, e *env, args []string) error {
	f, err := parseBenchConnect(e, args)
	if err != nil {
		return helpOr(err)
	}
	return f.lab("connect", "jumpgate-bench-").run(ctx, e, func(l *lab.Lab, dir, bin string) error {
		jg, ossh := f.sides(bin)
		return bench.RunConnect(ctx, bench.RunOptions{Lab: l, Dir: dir, A: jg, B: ossh,
			Server: f.server, Kex: f.kex, Runs: f.runs, Target: f.target, Trace: f.trace, JSON: f.json, Log: e.io.ErrOut, Out: e.io.Out})
	})
}

// benchLab is what every benchmark does around its run: check for
// OpenSSH's client and root, then bench.WithLab; its errors in words.
type benchLab struct {
	what, server, client, name string
	keep                       bool
	dirPrefix                  string // of the run's directory under /run
}

// run calls fn with the lab, the run's directory and this binary.
func (b benchLab) run(ctx context.Context, e *env, fn func(l *lab.Lab, dir, bin string) error) error {
	kind, err := lab.ParseServerKind(b.server)
	if err != nil {
		return usageErrorf("bench %s: %v", b.what, err)
	}
	if _, err := os.Stat(b.client); err != nil {
		return withHint(fmt.Errorf("bench %s: OpenSSH's client: %w", b.what, err), 1,
			"install it (apt-get install openssh-client) or name it: --client PATH")
	}
	bin, err := rootBinary("bench "+b.what, "builds a lab of network namespaces")
	if err != nil {
		return err
	}
	err = bench.WithLab(ctx, bench.LabOptions{What: b.what, Server: kind, Name: b.name, Binary: bin, Keep: b.keep,
		DirPrefix: b.dirPrefix, Log: e.io.ErrOut}, func(l *lab.Lab, dir string) error { return fn(l, dir, bin) })
	if errors.Is(err, bench.ErrInterrupted) {
		return withHint(err, 130)
	}
	if err != nil {
		return labHint(err, kind)
	}
	return nil
}
