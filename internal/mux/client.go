package mux

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync/atomic"
	"time"
)

// RefusedError is a master's MUX_S_PERMISSION_DENIED or MUX_S_FAILURE.
type RefusedError struct {
	Denied bool
	Reason string
}

func (e *RefusedError) Error() string { return e.Reason }

// ErrNoExitStatus is returned by [Client.Session] when the master closed
// the connection without an exit message.
var ErrNoExitStatus = errors.New("control master terminated unexpectedly")

// ErrServerTimeout is returned by [Client.Session] and [Client.Wait] when
// the master left ServerAliveCountMax keepalives in a row unanswered (see
// [Client.KeepAlive]); the caller words it as ssh(1): "Timeout, server
// HOST not responding.".
var ErrServerTimeout = errors.New("server not responding")

// LostError is a master's [ConnectionLost]: the shared connection ended,
// and Reason says why in ssh(1)'s words.
type LostError struct{ Reason string }

func (e *LostError) Error() string { return e.Reason }

// Client is a connection to a master's control socket (jumpgate's or
// OpenSSH's).
type Client struct {
	fc     *fdConn
	nextID atomic.Uint32
	// Extensions are those of the master's hello.
	Extensions []Extension

	aliveEvery time.Duration // see KeepAlive; 0 none
	aliveMax   int
}

// Dial connects to the control socket at path and exchanges hellos,
// sending exts in ours. ctx bounds the whole exchange, so a frozen master
// cannot hold us.
func Dial(ctx context.Context, path string, exts ...Extension) (*Client, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, ctxErr(ctx, err)
	}
	cl := &Client{fc: newFDConn(c.(*net.UnixConn))}
	stop := cl.bound(ctx)
	defer stop()
	if err := cl.fc.writePacket(&Hello{Version: Version, Extensions: exts}); err != nil {
		cl.Close()
		return nil, ctxErr(ctx, fmt.Errorf("send hello: %w", err))
	}
	msg, err := cl.read()
	if err != nil {
		cl.Close()
		return nil, ctxErr(ctx, fmt.Errorf("read hello: %w", err))
	}
	h, ok := msg.(*Hello)
	if !ok {
		cl.Close()
		return nil, protoErr("expected hello, got message type 0x%08x", uint32(msg.Type()))
	}
	if h.Version != Version {
		cl.Close()
		return nil, protoErr("unsupported multiplexing protocol version %d (expected %d)", h.Version, Version)
	}
	cl.Extensions = h.Extensions
	return cl, nil
}

// bound makes ctx's deadline and cancellation end blocked reads and
// writes; the returned func undoes it.
func (c *Client) bound(ctx context.Context) func() {
	if dl, ok := ctx.Deadline(); ok {
		c.fc.uc.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { c.fc.uc.SetDeadline(time.Unix(1, 0)) })
	return func() {
		stop()
		c.fc.uc.SetDeadline(time.Time{})
	}
}

// ctxErr makes an error that came of ctx's end, or of a timeout, wrap
// ctx's error: callers tell "did not answer" by context.DeadlineExceeded.
func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("%w (%v)", context.DeadlineExceeded, err)
	}
	return err
}

// HasExtension reports whether the master's hello offered name.
func (c *Client) HasExtension(name string) bool {
	for _, e := range c.Extensions {
		if e.Name == name {
			return true
		}
	}
	return false
}

// Close closes the control connection.
func (c *Client) Close() error { return c.fc.Close() }

func (c *Client) read() (Message, error) {
	body, err := ReadPacket(c.fc)
	if err != nil {
		return nil, err
	}
	return Decode(body)
}

// call sends a request and reads its reply, checking the request id.
func (c *Client) call(ctx context.Context, req Message, id uint32) (Message, error) {
	stop := c.bound(ctx)
	defer stop()
	if err := c.fc.writePacket(req); err != nil {
		return nil, ctxErr(ctx, err)
	}
	return c.reply(ctx, id)
}

func (c *Client) reply(ctx context.Context, id uint32) (Message, error) {
	msg, err := c.read()
	if err != nil {
		return nil, ctxErr(ctx, err)
	}
	if rid, ok := replyID(msg); ok && rid != id {
		return nil, protoErr("out of sequence reply: my id %d theirs %d", id, rid)
	}
	if r, ok := msg.(*Refusal); ok {
		return nil, &RefusedError{Denied: r.Denied, Reason: r.Reason}
	}
	return msg, nil
}

func replyID(m Message) (uint32, bool) {
	switch r := m.(type) {
	case *Request:
		return r.ID, true
	case *Refusal:
		return r.ID, true
	case *Alive:
		return r.ID, true
	case *SessionOpened:
		return r.ID, true
	case *RemotePort:
		return r.ID, true
	case *InfoReply:
		return r.ID, true
	}
	return 0, false
}

func (c *Client) id() uint32 { return c.nextID.Add(1) - 1 }

func unexpected(m Message) error {
	return protoErr("unexpected reply type 0x%08x", uint32(m.Type()))
}

// Check is MUX_C_ALIVE_CHECK: it returns the master's pid.
func (c *Client) Check(ctx context.Context) (int, error) {
	id := c.id()
	msg, err := c.call(ctx, &Request{Kind: MsgAliveCheck, ID: id}, id)
	if err != nil {
		return 0, err
	}
	a, ok := msg.(*Alive)
	if !ok {
		return 0, unexpected(msg)
	}
	return int(a.PID), nil
}

func (c *Client) simple(ctx context.Context, kind MsgType) error {
	id := c.id()
	msg, err := c.call(ctx, &Request{Kind: kind, ID: id}, id)
	if err != nil {
		return err
	}
	if r, ok := msg.(*Request); !ok || r.Kind != MsgOK {
		return unexpected(msg)
	}
	return nil
}

// Terminate is MUX_C_TERMINATE (-O exit). A master that exits before its
// reply arrives counts as success, as in ssh(1).
func (c *Client) Terminate(ctx context.Context) error {
	err := c.simple(ctx, MsgTerminate)
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return nil
	}
	return err
}

// StopListening is MUX_C_STOP_LISTENING (-O stop).
func (c *Client) StopListening(ctx context.Context) error { return c.simple(ctx, MsgStopListening) }

// Forward is MUX_C_OPEN_FWD (or MUX_C_CLOSE_FWD with f.Close); it returns
// the port the server allocated for a remote forward of port 0.
func (c *Client) Forward(ctx context.Context, f Forward) (int, error) {
	f.ID = c.id()
	msg, err := c.call(ctx, &f, f.ID)
	if err != nil {
		return 0, err
	}
	switch r := msg.(type) {
	case *RemotePort:
		return int(r.Port), nil
	case *Request:
		if r.Kind == MsgOK {
			return 0, nil
		}
	}
	return 0, unexpected(msg)
}

// Info asks a jumpgate master for its statistics; OpenSSH masters refuse.
func (c *Client) Info(ctx context.Context) (*Info, error) {
	id := c.id()
	msg, err := c.call(ctx, &Request{Kind: MsgInfo, ID: id}, id)
	if err != nil {
		return nil, err
	}
	r, ok := msg.(*InfoReply)
	if !ok {
		return nil, unexpected(msg)
	}
	var in Info
	if err := json.Unmarshal([]byte(r.JSON), &in); err != nil {
		return nil, protoErr("info: %v", err)
	}
	return &in, nil
}

// SessionEvents are called as a passenger session progresses.
type SessionEvents struct {
	// Opened runs once the master has opened the session.
	Opened func(session uint32)
	// TTYAllocFailed runs if the remote side refused the pty.
	TTYAllocFailed func()
	// ExitSignal runs when the remote command was killed by a signal
	// (a jumpgate master, to a client that sent [ExtSessionEvents]).
	ExitSignal func(*ExitSignal)
	// Disconnected runs when the user ended the session with "~." (a
	// jumpgate master, to a client that sent [ExtSessionEvents]).
	Disconnected func()
}

// Session is MUX_C_NEW_SESSION: the master runs req with our stdin,
// stdout and stderr; Session returns the remote exit status once the
// master closes the connection. ctx bounds only the request; ending ctx
// later closes the connection (the master then ends the session). With
// [Client.KeepAlive], unanswered keepalives end it with
// [ErrServerTimeout]; a master that lost the connection and said why
// (it got [ExtKeepAlive] in our hello) ends it with a *[LostError].
func (c *Client) Session(ctx context.Context, req NewSession, stdin, stdout, stderr *os.File, ev SessionEvents) (int, error) {
	req.ID = c.id()
	sid, err := c.open(ctx, &req, req.ID, stdin, stdout, stderr)
	if err != nil {
		return 255, err
	}
	if ev.Opened != nil {
		ev.Opened(sid)
	}
	stop := context.AfterFunc(ctx, func() { c.fc.uc.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	p := c.startProbes()
	defer p.stop()
	status, seen := 255, false
	for {
		msg, err := c.read()
		if err != nil {
			if ctx.Err() != nil {
				return 255, ctx.Err()
			}
			if err := p.ended(); err != nil {
				return 255, err
			}
			if !seen {
				return 255, ErrNoExitStatus
			}
			return status, nil
		}
		if p.handle(msg) {
			continue
		}
		switch m := msg.(type) {
		case *TTYAllocFail:
			if ev.TTYAllocFailed != nil {
				ev.TTYAllocFailed()
			}
		case *ExitMessage:
			if m.Session != sid {
				return 255, protoErr("exit on unknown session: my id %d theirs %d", sid, m.Session)
			}
			if seen {
				return 255, protoErr("exit status sent twice")
			}
			status, seen = int(m.Status), true
		case *ExitSignal:
			if m.Session == sid && ev.ExitSignal != nil {
				ev.ExitSignal(m)
			}
		case *Disconnected:
			if m.Session == sid && ev.Disconnected != nil {
				ev.Disconnected()
			}
		case *Refusal:
			return 255, &RefusedError{Denied: m.Denied, Reason: m.Reason}
		default:
			return 255, unexpected(msg)
		}
	}
}

func (c *Client) open(ctx context.Context, req Message, id uint32, files ...*os.File) (uint32, error) {
	stop := c.bound(ctx)
	defer stop()
	if err := c.fc.writePacket(req); err != nil {
		return 0, ctxErr(ctx, err)
	}
	if err := c.fc.sendFDs(files...); err != nil {
		return 0, ctxErr(ctx, fmt.Errorf("send file descriptors: %w", err))
	}
	msg, err := c.reply(ctx, id)
	if err != nil {
		return 0, err
	}
	so, ok := msg.(*SessionOpened)
	if !ok {
		return 0, unexpected(msg)
	}
	return so.Session, nil
}

// StdioForward is MUX_C_NEW_STDIO_FWD: the master joins in and out to
// host:port (a Unix socket path when port is [PortStreamLocal]) on the far
// side. It returns once the master has opened the channel; [Client.Wait]
// then waits for the forward to end.
func (c *Client) StdioForward(ctx context.Context, host string, port uint32, in, out *os.File) error {
	id := c.id()
	_, err := c.open(ctx, &StdioForward{ID: id, Host: host, Port: port}, id, in, out)
	return err
}

// Wait blocks until the master closes the connection (the end of a
// stdio forward) or ctx ends. It returns [ErrServerTimeout] or a
// *[LostError] as [Client.Session] does.
func (c *Client) Wait(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() { c.fc.uc.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	p := c.startProbes()
	defer p.stop()
	for {
		msg, err := c.read()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return p.ended()
		}
		if p.handle(msg) {
			continue
		}
		if r, ok := msg.(*Refusal); ok {
			return &RefusedError{Denied: r.Denied, Reason: r.Reason}
		}
	}
}
