package vpn

import (
	"context"
	"errors"
	"io"
	"os/signal"
	"syscall"

	"github.com/jumpgate/jumpgate/internal/rawio"
)

// ServePeerStdio is the far side of peer mode in its own process, run by
// the near side through an exec channel: [ServePeer] over this process's
// stdin and stdout (the channel), until stdin ends or a hangup.
func ServePeerStdio(ctx context.Context, cfg Config) error {
	// The channel's end is stdin's EOF; a hangup or a broken pipe must
	// not kill us before the devices are removed.
	signal.Ignore(syscall.SIGPIPE)
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGHUP)
	defer stop()
	// Raw reads and writes of the pipes from sshd: see rawio.
	in, out := rawio.Stdio()
	err := ServePeer(ctx, cfg, in, out, closers{in, out})
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

type closers []io.Closer

func (c closers) Close() error {
	for _, x := range c {
		x.Close()
	}
	return nil
}
