package vpn

// A running tunnel: serve one connection (with keepalives) → if it drops
// and --persist is set, redial with backoff and reattach the far end,
// keeping the near end as it is → again, until interrupted.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/jumpgate/jumpgate/internal/dial"
	"github.com/jumpgate/jumpgate/internal/sshconf"
	"github.com/jumpgate/jumpgate/internal/vlog"
)

// Reconnect backoff of --persist: 1 s, doubling up to 30 s, back to 1 s
// after a tunnel is restored. One attempt may take attemptTimeout.
const (
	backoffFirst   = time.Second
	backoffMax     = 30 * time.Second
	attemptTimeout = 20 * time.Second
	busyRetryMax   = 4 * time.Second
)

// Keepalives of --persist when ssh_config sets no ServerAliveInterval: a
// dead connection is noticed within about 15 s.
const (
	persistAliveInterval = 5 * time.Second
	persistAliveCount    = 3
)

// Link is a tunnel with the connection that carries it.
type Link struct {
	Out     io.Writer // progress messages (stderr)
	Log     *vlog.Logger
	Redial  func(ctx context.Context, h *sshconf.Host) (*dial.Conn, error)
	Host    *sshconf.Host
	Target  string // as the user named it
	Persist bool   // reconnect when the connection drops
	Quiet   bool
	Tunnel  *Tunnel
	Conn    *dial.Conn
	State   *State // nil: not advertised
}

// Serve carries the tunnel until ctx ends (nil) or, without --persist,
// the connection drops; it removes the near end on return.
func (s *Link) Serve(ctx context.Context) error {
	defer s.Tunnel.Close()
	for {
		err := s.serveConn(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if !s.Persist {
			if err != nil {
				return fmt.Errorf("vpn to %s: %w", s.Host.Hostname(), err)
			}
			return nil
		}
		why := "closed"
		if err != nil {
			why = err.Error()
		}
		fmt.Fprintf(s.Out, "jumpgate: connection to %s lost (%s); reconnecting\n", s.Target, why)
		s.State.Set("reconnecting")
		if !s.reconnect(ctx) {
			return nil
		}
		s.State.Set("up")
		if !s.Quiet {
			fmt.Fprintf(s.Out, "jumpgate: restored: %s\n", s.Tunnel.Summary(s.Target))
		}
	}
}

// serveConn pumps over the current connection, with keepalives, until it
// or the far side ends, and closes it.
func (s *Link) serveConn(ctx context.Context) error {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer s.Conn.Close()
	client := s.Conn.Conn
	// The connection's end ends the pump even if its channel lingers.
	go func() {
		client.Wait()
		cancel()
	}()
	interval, count := s.keepalive()
	alive := make(chan error, 1)
	go func() {
		alive <- dial.KeepAlive(sctx, client, s.Host.Hostname(), interval, count, s.Log)
	}()
	err := s.Tunnel.Serve(sctx)
	cancel()
	if kerr := <-alive; kerr != nil {
		err = kerr
	}
	return err
}

// keepalive is ServerAliveInterval and ServerAliveCountMax, with defaults
// for --persist.
func (s *Link) keepalive() (time.Duration, int) {
	interval, _ := strconv.Atoi(s.Host.Get("serveraliveinterval"))
	count, _ := strconv.Atoi(s.Host.Get("serveralivecountmax"))
	if interval <= 0 {
		if !s.Persist {
			return 0, 0
		}
		return persistAliveInterval, persistAliveCount
	}
	if count <= 0 {
		count = persistAliveCount
	}
	return time.Duration(interval) * time.Second, count
}

// reconnect redials and reattaches with backoff until it works (true) or
// ctx ends (false).
func (s *Link) reconnect(ctx context.Context) bool {
	delay := backoffFirst
	for {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(delay):
		}
		err := s.attempt(ctx)
		if err == nil {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		delay = min(delay*2, backoffMax)
		if errors.Is(err, ErrFarBusy) {
			// Cheap to ask again, and it ends when the far server
			// notices the old connection is gone.
			delay = min(delay, busyRetryMax)
		}
		fmt.Fprintf(s.Out, "jumpgate: reconnect to %s: %v; next try in %s\n", s.Target, err, delay)
	}
}

func (s *Link) attempt(ctx context.Context) error {
	actx, cancel := context.WithTimeout(ctx, attemptTimeout)
	defer cancel()
	conn, err := s.Redial(actx, s.Host)
	if err != nil {
		return err
	}
	if err := s.Tunnel.Reattach(actx, conn.Conn); err != nil {
		conn.Close()
		if errors.Is(err, ErrFarBusy) {
			return fmt.Errorf("%w; waiting for its server to drop it", err)
		}
		return err
	}
	s.Conn = conn
	return nil
}
