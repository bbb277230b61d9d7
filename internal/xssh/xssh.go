// Package xssh implements the sshwire seam over golang.org/x/crypto/ssh.
// It is the one package that uses x/crypto's connection types: [Client]
// and [Server] run a handshake and return an [sshwire.Conn].
//
// x/crypto's channels already have the methods of [sshwire.Channel], so
// channel data passes through without a wrapper. They cannot implement
// [sshwire.PacketReader]: x/crypto joins consecutive data messages.
package xssh

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/jumpgate/jumpgate/internal/sshwire"
)

// queue is the buffer of each incoming stream, as x/crypto's own.
const queue = 16

// Client runs the client side of the handshake over nc; addr is the
// address the host key callback sees.
func Client(nc net.Conn, addr string, cfg *sshwire.ClientConfig) (sshwire.Conn, error) {
	cc, chans, reqs, err := ssh.NewClientConn(nc, addr, clientConfig(cfg))
	if err != nil {
		return nil, authFailure(err)
	}
	return newConn(cc, chans, reqs, false), nil
}

// Server runs the server side of the handshake over nc.
func Server(nc net.Conn, cfg *sshwire.ServerConfig) (sshwire.ServerConn, error) {
	sc, chans, reqs, err := ssh.NewServerConn(nc, serverConfig(cfg))
	if err != nil {
		return nil, err
	}
	c := newConn(sc, chans, reqs, true)
	if sc.Permissions != nil {
		c.perms, _ = sc.Permissions.ExtraData[permsKey{}].(*sshwire.Permissions)
	}
	return c, nil
}

type conn struct {
	ssh.Conn
	perms *sshwire.Permissions

	mu       sync.Mutex
	handlers map[string]chan sshwire.NewChannel
	reqs     chan *sshwire.Request // nil: refuse global requests
	given    map[string]bool       // kinds HandleChannelOpen returned
	reqsOut  bool                  // GlobalRequests was called
	closed   bool
}

func newConn(c ssh.Conn, chans <-chan ssh.NewChannel, reqs <-chan *ssh.Request, server bool) *conn {
	x := &conn{Conn: c, handlers: map[string]chan sshwire.NewChannel{}, given: map[string]bool{}}
	if server {
		// A server serves everything: queue it for the caller instead of
		// refusing what arrives before it asks.
		x.handlers[""] = make(chan sshwire.NewChannel, queue)
		x.reqs = make(chan *sshwire.Request, queue)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for nc := range chans {
			x.mu.Lock()
			h, ok := x.handlers[nc.ChannelType()]
			if !ok {
				h = x.handlers[""]
			}
			x.mu.Unlock()
			if h == nil {
				nc.Reject(ssh.UnknownChannelType, "unknown channel type: "+nc.ChannelType())
				continue
			}
			h <- newChannel{nc}
		}
	})
	wg.Go(func() {
		for r := range reqs {
			x.mu.Lock()
			out := x.reqs
			x.mu.Unlock()
			if out == nil {
				if r.WantReply {
					r.Reply(false, nil)
				}
				continue
			}
			out <- sshwire.NewRequest(r.Type, r.WantReply, r.Payload, r.Reply)
		}
	})
	go func() {
		wg.Wait()
		x.mu.Lock()
		defer x.mu.Unlock()
		x.closed = true
		for _, h := range x.handlers {
			close(h)
		}
		if x.reqs != nil {
			close(x.reqs)
		}
	}()
	return x
}

func (x *conn) HandleChannelOpen(kind string) <-chan sshwire.NewChannel {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.given[kind] {
		return nil
	}
	x.given[kind] = true
	if h, ok := x.handlers[kind]; ok {
		return h // the server's queue
	}
	h := make(chan sshwire.NewChannel, queue)
	if x.closed {
		close(h)
	} else {
		x.handlers[kind] = h
	}
	return h
}

func (x *conn) GlobalRequests() <-chan *sshwire.Request {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.reqsOut {
		return nil
	}
	x.reqsOut = true
	if x.reqs == nil {
		x.reqs = make(chan *sshwire.Request, queue)
		if x.closed {
			close(x.reqs)
		}
	}
	return x.reqs
}

func (x *conn) Permissions() *sshwire.Permissions { return x.perms }

func (x *conn) Algorithms() sshwire.Algorithms {
	m, ok := x.Conn.(ssh.AlgorithmsConnMetadata)
	if !ok {
		return sshwire.Algorithms{}
	}
	a := m.Algorithms()
	dir := func(d ssh.DirectionAlgorithms) sshwire.DirectionAlgorithms {
		return sshwire.DirectionAlgorithms{Cipher: d.Cipher, MAC: d.MAC, Compression: "none"}
	}
	return sshwire.Algorithms{KeyExchange: a.KeyExchange, HostKey: a.HostKey, Read: dir(a.Read), Write: dir(a.Write)}
}

func (x *conn) OpenChannel(ctx context.Context, kind string, extra []byte) (sshwire.Channel, <-chan *sshwire.Request, error) {
	open := func() (ssh.Channel, <-chan *ssh.Request, error) { return x.Conn.OpenChannel(kind, extra) }
	if ctx.Done() == nil {
		ch, reqs, err := open()
		if err != nil {
			return nil, nil, openError(err)
		}
		return ch, requests(reqs), nil
	}
	type result struct {
		ch   ssh.Channel
		reqs <-chan *ssh.Request
		err  error
	}
	done := make(chan result, 1)
	go func() {
		ch, reqs, err := open()
		done <- result{ch, reqs, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			return nil, nil, openError(r.err)
		}
		return r.ch, requests(r.reqs), nil
	case <-ctx.Done():
		go func() {
			if r := <-done; r.err == nil {
				go ssh.DiscardRequests(r.reqs)
				r.ch.Close()
			}
		}()
		return nil, nil, ctx.Err()
	}
}

func (x *conn) SendRequest(ctx context.Context, name string, wantReply bool, payload []byte) (bool, []byte, error) {
	if ctx.Done() == nil {
		return x.Conn.SendRequest(name, wantReply, payload)
	}
	type result struct {
		ok    bool
		reply []byte
		err   error
	}
	done := make(chan result, 1)
	go func() {
		ok, reply, err := x.Conn.SendRequest(name, wantReply, payload)
		done <- result{ok, reply, err}
	}()
	select {
	case r := <-done:
		return r.ok, r.reply, r.err
	case <-ctx.Done():
		return false, nil, ctx.Err()
	}
}

// openError turns x/crypto's refusal into the seam's.
func openError(err error) error {
	var oe *ssh.OpenChannelError
	if errors.As(err, &oe) {
		return &sshwire.OpenChannelError{Reason: sshwire.RejectionReason(oe.Reason), Message: oe.Message}
	}
	return err
}

// requests relays a channel's requests as the seam's.
func requests(in <-chan *ssh.Request) <-chan *sshwire.Request {
	out := make(chan *sshwire.Request, queue)
	go func() {
		for r := range in {
			out <- sshwire.NewRequest(r.Type, r.WantReply, r.Payload, r.Reply)
		}
		close(out)
	}()
	return out
}

type newChannel struct{ ssh.NewChannel }

func (n newChannel) Accept() (sshwire.Channel, <-chan *sshwire.Request, error) {
	ch, reqs, err := n.NewChannel.Accept()
	if err != nil {
		return nil, nil, err
	}
	return ch, requests(reqs), nil
}

func (n newChannel) Reject(reason sshwire.RejectionReason, message string) error {
	return n.NewChannel.Reject(ssh.RejectionReason(reason), message)
}

// Dial connects to addr, waiting at most timeout for the connection
// (0: no limit), and runs the client handshake, as x/crypto's ssh.Dial.
func Dial(network, addr string, timeout time.Duration, cfg *sshwire.ClientConfig) (sshwire.Conn, error) {
	nc, err := net.DialTimeout(network, addr, timeout)
	if err != nil {
		return nil, err
	}
	c, err := Client(nc, addr, cfg)
	if err != nil {
		nc.Close()
		return nil, err
	}
	return c, nil
}

// authError is x/crypto's refusal of every method as sshwire.AuthFailure.
type authError struct {
	error
	tried []string
}

func (e *authError) AttemptedMethods() []string { return e.tried }
func (e *authError) Unwrap() error              { return e.error }

// authFailure recognises x/crypto's "unable to authenticate, attempted
// methods [none publickey], no supported methods remain": x/crypto has no
// error type for it.
func authFailure(err error) error {
	const mark = "attempted methods ["
	msg := err.Error()
	if !strings.Contains(msg, "unable to authenticate") {
		return err
	}
	e := &authError{error: err}
	if i := strings.Index(msg, mark); i >= 0 {
		rest := msg[i+len(mark):]
		if j := strings.IndexByte(rest, ']'); j >= 0 {
			e.tried = strings.Fields(rest[:j])
		}
	}
	return e
}
