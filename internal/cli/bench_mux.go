package cli

// `jumpgate bench mux`: multiplexing in a lab, jumpgate against OpenSSH,
// alternately: `true` through a master that is up (to hyper1, and to vm1
// through two jumps), and `vm2 true` right after `vm1 true`, jumpgate
// reusing the jump hosts' masters, OpenSSH with a fresh -J.

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
	kind, err := lab.ParseServerKind(f.server)
	if err != nil {
		return usageErrorf("bench mux: %v", err)
	}
	if _, err := os.Stat(f.client); err != nil {
		return withHint(fmt.Errorf("bench mux: OpenSSH's client: %w", err), 1,
			"install it (apt-get install openssh-client) or name it: --client PATH")
	}
	if os.Geteuid() != 0 {
		return withHint(errors.New("'jumpgate bench mux' needs root: it builds a lab of network namespaces"), 1,
			"run it as root: sudo jumpgate bench mux")
	}
	bin, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find the jumpgate binary: %w", err)
	}
	jg := bench.Client{Name: "jumpgate", Argv: []string{bin, "ssh"}}
	if f.jgClientCmd != "" {
		jg.Argv = strings.Fields(f.jgClientCmd)
	}
	ossh := bench.Client{Name: "OpenSSH", Argv: []string{f.client}}
	// Short: the control sockets of both sides live in it.
	dir, err := os.MkdirTemp("/run", "jgbm-")
	if err != nil {
		return fmt.Errorf("bench mux: %w", err)
	}
	defer os.RemoveAll(dir)

	w := e.io.ErrOut
	t := time.Now()
	l, err := lab.Up(ctx, lab.Options{Name: f.name, Server: kind, Binary: bin, Log: io.Discard})
	if err != nil {
		if ctx.Err() != nil {
			return withHint(errors.New("bench interrupted; its lab was removed"), 130)
		}
		return labHint(fmt.Errorf("bench mux: %w", err), kind)
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

	err = benchMux(ctx, e, f, l, dir, jg, ossh)
	if ctx.Err() != nil {
		if f.keep {
			return withHint(errors.New("bench interrupted"), 130)
		}
		return withHint(errors.New("bench interrupted; its lab was removed"), 130)
	}
	if err != nil {
		return fmt.Errorf("bench mux: %w", err)
	}
	return nil
}

// benchMux runs the benchmark in a lab that is up; its masters end before
// it returns, even with --keep.
func benchMux(ctx context.Context, e *env, f *benchMuxFlags, l *lab.Lab, dir string, jg, ossh bench.Client) error {
	w := e.io.ErrOut
	m, err := bench.NewMux(bench.MuxOptions{Lab: l, A: jg, B: ossh, Kex: f.kex, Dir: dir,
		Target: f.max, ReuseTarget: 1 / f.reuse})
	if err != nil {
		return err
	}
	defer m.Close()
	for _, side := range []bench.Client{jg, ossh} {
		fmt.Fprintf(w, "bench: in laptop, %s: %s\n", side.Name, strings.Join(m.Argv(side, "HOST", true, false), " "))
	}
	fmt.Fprintf(w, "bench: OpenSSH's hop-reuse row without its -o Control* options (fresh -J, as ssh(1) without a master)\n")
	var trace io.Writer
	if f.trace {
		trace = w
	}
	rows, err := m.Setup(ctx, w, trace)
	if err != nil {
		return err
	}
	results, err := bench.CompareMux(ctx, rows, f.runs, w)
	if err != nil {
		return err
	}
	verdict := bench.MuxVerdict(rows, results)
	if f.json {
		return writeBenchMuxJSON(e.io.Out, f, rows, results, verdict)
	}
	if err := bench.WriteTable(e.io.Out, results); err != nil {
		return err
	}
	_, err = fmt.Fprintf(e.io.Out, "verdict: %s\n", verdict)
	return err
}

// benchMuxJSON is `bench mux --json`; its fields only ever grow.
type benchMuxJSON struct {
	Benchmark string            `json:"benchmark"`
	Server    string            `json:"server"`
	Kex       string            `json:"kex_forced"`
	Runs      int               `json:"runs"`
	Rows      []benchMuxRowJSON `json:"rows"`
	Verdict   string            `json:"verdict"`
	OK        bool              `json:"ok"`
}

type benchMuxRowJSON struct {
	Name     string        `json:"name"`
	Target   float64       `json:"target_ratio"`
	Ratio    float64       `json:"ratio"`
	Jumpgate benchSideJSON `json:"jumpgate"`
	OpenSSH  benchSideJSON `json:"openssh"`
}

func writeBenchMuxJSON(w io.Writer, f *benchMuxFlags, rows []bench.MuxRow, results []bench.Result, verdict string) error {
	out := benchMuxJSON{Benchmark: "mux", Server: f.server, Kex: f.kex, Runs: f.runs, Verdict: verdict,
		OK: bench.MuxOK(rows, results), Rows: []benchMuxRowJSON{}}
	for i, r := range results {
		row := rows[i]
		out.Rows = append(out.Rows, benchMuxRowJSON{Name: row.Name, Target: row.Target, Ratio: r.Ratio(),
			Jumpgate: benchSideJSON{Argv: row.ArgvA, Kex: row.Kex.A, MedianMS: ms(bench.Median(r.A)), Samples: msAll(r.A)},
			OpenSSH:  benchSideJSON{Argv: row.ArgvB, Kex: row.Kex.B, MedianMS: ms(bench.Median(r.B)), Samples: msAll(r.B)},
		})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
