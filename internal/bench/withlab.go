package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/jumpgate/jumpgate/internal/lab"
)

// LabOptions is the lab a benchmark runs in.
type LabOptions struct {
	What      string         // the benchmark's name: connect, forward, mux
	Server    lab.ServerKind // the lab's SSH servers
	Name      string         // the lab's name
	Binary    string         // this jumpgate, for the lab's servers and A
	Keep      bool           // leave the lab up afterwards
	DirPrefix string         // of the run's directory under /run
	Log       io.Writer      // progress lines
}

// ErrInterrupted is returned when ctx ended the benchmark.
var ErrInterrupted = errors.New("bench interrupted")

// WithLab brings a lab up, calls fn with it and a scratch directory under
// /run (short, since control sockets live there), and takes the lab down on
// every way out unless o.Keep. An interrupt still removes the lab and
// returns an error wrapping [ErrInterrupted].
func WithLab(ctx context.Context, o LabOptions, fn func(l *lab.Lab, dir string) error) error {
	dir, err := os.MkdirTemp("/run", o.DirPrefix)
	if err != nil {
		return fmt.Errorf("bench %s: %w", o.What, err)
	}
	defer os.RemoveAll(dir)

	t := time.Now()
	l, err := lab.Up(ctx, lab.Options{Name: o.Name, Server: o.Server, Binary: o.Binary, Log: io.Discard})
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%w; its lab was removed", ErrInterrupted)
		}
		return fmt.Errorf("bench %s: %w", o.What, err)
	}
	fmt.Fprintf(o.Log, "bench: lab %s up (%s servers) in %v\n", l.Name(), o.Server, time.Since(t).Round(time.Millisecond))
	defer func() {
		if o.Keep {
			fmt.Fprintf(o.Log, "bench: lab %s kept; remove it with: jumpgate lab down --name %s\n", l.Name(), l.Name())
			return
		}
		// Ctrl-C cancels ctx: the lab still goes.
		if derr := l.Down(context.WithoutCancel(ctx)); derr != nil {
			fmt.Fprintf(o.Log, "bench: lab %s down: %v\n", l.Name(), derr)
		}
	}()

	err = fn(l, dir)
	switch {
	case ctx.Err() != nil && o.Keep:
		return ErrInterrupted
	case ctx.Err() != nil:
		return fmt.Errorf("%w; its lab was removed", ErrInterrupted)
	case err != nil:
		return fmt.Errorf("bench %s: %w", o.What, err)
	}
	return nil
}
