package cli

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"syscall"
)

// signalCause ends the context of [SignalContext].
type signalCause struct{ sig syscall.Signal }

func (s signalCause) Error() string { return s.sig.String() + " signal received" }

// SignalContext is parent ended by SIGINT or SIGTERM, as
// signal.NotifyContext, with a cause naming the signal: a command it cuts
// short exits 128+N, as a shell reports a process the signal killed.
func SignalContext(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(parent)
	c := make(chan os.Signal, 1)
	signal.Notify(c, os.Interrupt, syscall.SIGTERM)
	go func() {
		select {
		case s := <-c:
			if n, ok := s.(syscall.Signal); ok {
				cancel(signalCause{n})
			}
		case <-ctx.Done():
		}
	}()
	return ctx, func() {
		signal.Stop(c)
		cancel(context.Canceled)
	}
}

// signaled returns the signal that ended ctx, if one did.
func signaled(ctx context.Context) (syscall.Signal, bool) {
	var s signalCause
	if errors.As(context.Cause(ctx), &s) {
		return s.sig, true
	}
	return 0, false
}
