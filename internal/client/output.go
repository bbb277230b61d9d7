package client

import (
	"bytes"
	"context"
	"fmt"

	"github.com/jumpgate/jumpgate/internal/dial"
	"github.com/jumpgate/jumpgate/internal/shquote"
	"github.com/jumpgate/jumpgate/internal/sshwire"
)

// Output runs cmd on the far end of conn and returns its standard output;
// a failure carries its standard error.
func Output(ctx context.Context, conn *dial.Conn, cmd string) ([]byte, error) {
	s, err := sshwire.NewSession(ctx, conn.Conn)
	if err != nil {
		return nil, fmt.Errorf("open session: %w", err)
	}
	defer s.Close()
	var out, errb bytes.Buffer
	s.Stdout, s.Stderr = &out, &errb
	done := make(chan error, 1)
	go func() { done <- s.Run(cmd) }()
	select {
	case err := <-done:
		if err != nil {
			return nil, fmt.Errorf("sh on the remote host: %w: %s", err, bytes.TrimSpace(errb.Bytes()))
		}
		return out.Bytes(), nil
	case <-ctx.Done():
		s.Close()
		return nil, ctx.Err()
	}
}

// Shell runs scripts with sh on the far end of conn, as topo's and net's
// remote discovery want them run.
func Shell(conn *dial.Conn) func(ctx context.Context, script string) ([]byte, error) {
	return func(ctx context.Context, script string) ([]byte, error) {
		return Output(ctx, conn, "sh -c "+shquote.Quote(script))
	}
}
