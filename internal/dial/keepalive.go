package dial

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jumpgate/jumpgate/internal/sshwire"
	"github.com/jumpgate/jumpgate/internal/vlog"
)

// TimeoutError is a server that stopped answering keepalives.
type TimeoutError struct{ Host string }

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("Timeout, server %s not responding.", e.Host)
}

// KeepAlive sends keepalive@openssh.com requests every interval, as
// ServerAliveInterval does, and once countMax of them in a row are
// unanswered it closes c and returns a *TimeoutError. It returns nil when
// ctx ends or the connection closes for another reason.
func KeepAlive(ctx context.Context, c sshwire.Conn, host string, interval time.Duration, countMax int, log *vlog.Logger) error {
	err := AliveCheck(ctx, c, host, interval, countMax, log)
	if err != nil {
		c.Close()
	}
	return err
}

// AliveCheck is [KeepAlive] leaving c open on a timeout, for a caller
// that notes why before it closes c (a master tells its clients).
func AliveCheck(ctx context.Context, c sshwire.Conn, host string, interval time.Duration, countMax int, log *vlog.Logger) error {
	if interval <= 0 {
		return nil
	}
	if countMax < 1 {
		countMax = 1
	}
	closed := make(chan struct{})
	go func() { c.Wait(); close(closed) }()
	var outstanding atomic.Int32
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-closed:
			return nil
		case <-t.C:
		}
		if int(outstanding.Load()) >= countMax {
			log.Debugf("Timeout, server %s not responding.", host)
			return &TimeoutError{Host: host}
		}
		outstanding.Add(1)
		log.Debug3f("send keepalive@openssh.com")
		go func() {
			// Any reply, success or failure, shows the server is alive.
			if _, _, err := c.SendRequest(context.WithoutCancel(ctx), "keepalive@openssh.com", true, nil); err == nil {
				outstanding.Store(0)
			}
		}()
	}
}
