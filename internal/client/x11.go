package client

// X11 forwarding for jumpgate ssh (-X, -Y, ForwardX11, ForwardX11Trusted,
// ForwardX11Timeout, XAuthLocation), in ssh(1)'s order and words: the
// cookie is read (or, untrusted, generated) before the session opens, the
// x11-req carries a fake one, and each x11 channel the server opens is
// joined to the local display once it shows the fake cookie.

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/jumpgate/jumpgate/internal/dial"
	"github.com/jumpgate/jumpgate/internal/forward"
	"github.com/jumpgate/jumpgate/internal/sshconf"
	"github.com/jumpgate/jumpgate/internal/sshwire"
)

// wantX11 says whether the session asks for X11 forwarding.
func wantX11(h *sshconf.Host) bool { return h.Get("forwardx11") == "yes" }

// sshX11 is X11 forwarding set up on one connection.
type sshX11 struct {
	x   *forward.X11
	fwd *forward.Forwarder
}

// startX11 prepares X11 forwarding on conn when h asks for it. Like
// ssh(1), trouble with DISPLAY or xauth is reported and the session goes
// on without X11; nil means there is nothing to forward.
func (r *Client) startX11(ctx context.Context, h *sshconf.Host, conn *dial.Conn) *sshX11 {
	if !wantX11(h) {
		return nil
	}
	display := r.e.Getenv("DISPLAY")
	if display == "" {
		r.log.Debugf("X11 forwarding requested but DISPLAY not set")
		return nil
	}
	secs, _ := strconv.Atoi(h.Get("forwardx11timeout"))
	x, err := forward.PrepareX11(ctx, forward.X11Options{
		Display: display,
		XAuth:   h.Get("xauthlocation"),
		Trusted: h.Get("forwardx11trusted") == "yes",
		Timeout: time.Duration(secs) * time.Second,
		Log:     r.log,
	})
	switch {
	case errors.Is(err, forward.ErrInvalidDisplay):
		r.log.Infof("%v", errors.Unwrap(err))
		return nil
	case err != nil:
		r.log.Errorf("Warning: %v", err)
		return nil
	}
	fwd := forward.New(conn.Conn, forward.Options{Log: r.log})
	fwd.ServeX11(x)
	return &sshX11{x: x, fwd: fwd}
}

// request sends x11-req on s. A refusal is ssh(1)'s warning, not the
// end of the session.
func (sx *sshX11) request(r *Client, s *sshwire.Session) error {
	if sx == nil {
		return nil
	}
	r.log.Debugf("Requesting X11 forwarding with authentication spoofing.")
	if err := sx.x.Request(s); err != nil {
		if errors.Is(err, forward.ErrX11Refused) {
			r.log.Errorf("X11 forwarding request failed on channel 0")
			return nil
		}
		return err
	}
	return nil
}

// close stops the x11 channels and forgets the cookie.
func (sx *sshX11) close() {
	if sx == nil {
		return
	}
	sx.fwd.Close()
	sx.x.Close()
}
