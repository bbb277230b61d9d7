package cli

// A running tunnel: serve one connection (with keepalives) → if it drops
// and --persist is set, redial with backoff and reattach the far end,
// keeping the near end as it is → again, until interrupted.

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jumpgate/jumpgate/internal/dial"
	"github.com/jumpgate/jumpgate/internal/sshconf"
	"github.com/jumpgate/jumpgate/internal/vpn"
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

// vpnSession is a tunnel with the connection that carries it.
type vpnSession struct {
	e       *env
	r       *sshRun
	h       *sshconf.Host
	target  string
	persist bool
	quiet   bool
	t       *vpn.Tunnel
	conn    *dial.Conn
	state   *vpnState // nil: not advertised
}

// serve carries the tunnel until ctx ends (nil) or, without --persist,
// the connection drops; it removes the near end on return.
func (s *vpnSession) serve(ctx context.Context) error {
	defer s.t.Close()
	for {
		err := s.serveConn(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if !s.persist {
			if err != nil {
				return withHint(fmt.Errorf("vpn to %s: %w", s.h.Hostname(), err), exitConnection)
			}
			return nil
		}
		why := "closed"
		if err != nil {
			why = err.Error()
		}
		fmt.Fprintf(s.e.io.ErrOut, "jumpgate: connection to %s lost (%s); reconnecting\n", s.target, why)
		s.state.set("reconnecting")
		if !s.reconnect(ctx) {
			return nil
		}
		s.state.set("up")
		if !s.quiet {
			fmt.Fprintf(s.e.io.ErrOut, "jumpgate: restored: %s\n", s.t.Summary(s.target))
		}
	}
}

// serveConn pumps over the current connection, with keepalives, until it
// or the far side ends, and closes it.
func (s *vpnSession) serveConn(ctx context.Context) error {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer s.conn.Close()
	client := s.conn.Conn
	// The connection's end ends the pump even if its channel lingers.
	go func() {
		client.Wait()
		cancel()
	}()
	interval, count := s.keepalive()
	alive := make(chan error, 1)
	go func() {
		alive <- dial.KeepAlive(sctx, client, s.h.Hostname(), interval, count, s.r.log)
	}()
	err := s.t.Serve(sctx)
	cancel()
	if kerr := <-alive; kerr != nil {
		err = kerr
	}
	return err
}

// keepalive is ServerAliveInterval and ServerAliveCountMax, with defaults
// for --persist.
func (s *vpnSession) keepalive() (time.Duration, int) {
	interval, _ := strconv.Atoi(s.h.Get("serveraliveinterval"))
	count, _ := strconv.Atoi(s.h.Get("serveralivecountmax"))
	if interval <= 0 {
		if !s.persist {
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
func (s *vpnSession) reconnect(ctx context.Context) bool {
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
		if errors.Is(err, vpn.ErrFarBusy) {
			// Cheap to ask again, and it ends when the far server
			// notices the old connection is gone.
			delay = min(delay, busyRetryMax)
		}
		fmt.Fprintf(s.e.io.ErrOut, "jumpgate: reconnect to %s: %v; next try in %s\n", s.target, err, delay)
	}
}

func (s *vpnSession) attempt(ctx context.Context) error {
	actx, cancel := context.WithTimeout(ctx, attemptTimeout)
	defer cancel()
	conn, err := s.r.dialer().Dial(actx, s.h)
	if err != nil {
		return err
	}
	if err := s.t.Reattach(actx, conn.Conn); err != nil {
		conn.Close()
		if errors.Is(err, vpn.ErrFarBusy) {
			return fmt.Errorf("%w; waiting for its server to drop it", err)
		}
		return err
	}
	s.conn = conn
	return nil
}
