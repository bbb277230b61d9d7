package bench

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/jumpgate/jumpgate/internal/lab"
)

// RunOptions is one run of a benchmark, A (jumpgate) against B (OpenSSH),
// in a lab that is up.
type RunOptions struct {
	Lab         *lab.Lab
	Dir         string // the run's scratch directory (control sockets)
	A, B        Client
	Server      string  // the lab's servers, for the report
	Kex         string  // forced on both sides
	Runs        int     // timed runs per side and row
	Target      float64 // connect: the ratio to meet; mux: the multiplexed rows'
	ReuseTarget float64 // mux: the hop-reuse row's ratio
	Trace       bool    // the clients' -v output on Log
	JSON        bool    // JSON on Out instead of the table
	Log, Out    io.Writer
}

// RunConnect runs the connect benchmark in a lab that is up and writes
// its table and verdict (or JSON) on o.Out.
func RunConnect(ctx context.Context, o RunOptions) error {
	w := o.Log
	co := ConnectOptions{Lab: o.Lab, A: o.A, B: o.B, Kex: o.Kex, Dir: o.Dir}
	if o.Trace {
		co.Trace = w
	}
	c, err := NewConnect(co)
	if err != nil {
		return err
	}
	defer c.Close()
	fmt.Fprintf(w, "bench: in laptop, alternately: %s\n", strings.Join(c.Argv(o.A, "HOST", false), " "))
	fmt.Fprintf(w, "bench:                    and: %s\n", strings.Join(c.Argv(o.B, "HOST", false), " "))
	rows, err := c.Rows(ctx, w)
	if err != nil {
		return err
	}
	plain := make([]Row, len(rows))
	for i, r := range rows {
		plain[i] = r.Row
	}
	results, err := Compare(ctx, plain, o.Runs, w)
	if err != nil {
		return err
	}
	verdict := ConnectVerdict(rows, results, o.Target)
	if o.JSON {
		return WriteConnectJSON(o.Out, Report{Server: o.Server, Kex: o.Kex, Runs: o.Runs, Target: o.Target, Verdict: verdict},
			c, o.A, o.B, rows, results)
	}
	if err := WriteTable(o.Out, results); err != nil {
		return err
	}
	_, err = fmt.Fprintf(o.Out, "verdict: %s\n", verdict)
	return err
}

// RunMux runs the mux benchmark in a lab that is up; its masters end before
// it returns, even with --keep.
func RunMux(ctx context.Context, o RunOptions) error {
	w := o.Log
	m, err := NewMux(MuxOptions{Lab: o.Lab, A: o.A, B: o.B, Kex: o.Kex, Dir: o.Dir,
		Target: o.Target, ReuseTarget: o.ReuseTarget})
	if err != nil {
		return err
	}
	defer m.Close()
	for _, side := range []Client{o.A, o.B} {
		fmt.Fprintf(w, "bench: in laptop, %s: %s\n", side.Name, strings.Join(m.Argv(side, "HOST", true, false), " "))
	}
	fmt.Fprintf(w, "bench: OpenSSH's hop-reuse row without its -o Control* options (fresh -J, as ssh(1) without a master)\n")
	var trace io.Writer
	if o.Trace {
		trace = w
	}
	rows, err := m.Setup(ctx, w, trace)
	if err != nil {
		return err
	}
	results, err := CompareMux(ctx, rows, o.Runs, w)
	if err != nil {
		return err
	}
	verdict := MuxVerdict(rows, results)
	if o.JSON {
		return WriteMuxJSON(o.Out, Report{Server: o.Server, Kex: o.Kex, Runs: o.Runs, Verdict: verdict}, rows, results)
	}
	if err := WriteTable(o.Out, results); err != nil {
		return err
	}
	_, err = fmt.Fprintf(o.Out, "verdict: %s\n", verdict)
	return err
}
