package mux

// ServerAliveInterval through a master ([ExtKeepAlive]). A client of
// ours asks the master to probe the server once per interval
// ([MsgKeepAlive]) and counts the probes left unanswered, as ssh(1)
// counts its keepalive@openssh.com requests on a connection of its own;
// the master answers each probe once the server has answered one of its
// own. A master whose own keepalives fail tells its clients why
// ([ConnectionLost]) before it ends their sessions.

import (
	"context"
	"sync"
	"time"
)

// KeepAlive makes [Client.Session] and [Client.Wait] ask the master to
// probe the server every interval and give up with [ErrServerTimeout]
// once countMax probes in a row went unanswered (ServerAliveInterval,
// ServerAliveCountMax). It reports whether the master offers
// [ExtKeepAlive]; without it nothing is sent, and only the master's own
// settings apply, as with ssh(1) and OpenSSH's master.
func (c *Client) KeepAlive(interval time.Duration, countMax int) bool {
	if interval <= 0 || !c.HasExtension(ExtKeepAlive) {
		return false
	}
	c.aliveEvery, c.aliveMax = interval, max(countMax, 1)
	return true
}

// prober is the client's side of one session's or forward's keepalives.
type prober struct {
	c    *Client
	done chan struct{}

	mu          sync.Mutex
	pending     map[uint32]bool // probes sent and not answered
	outstanding int             // probes sent since the last answer
	timedOut    bool
	lost        string // the master's ConnectionLost reason
}

// startProbes starts the keepalives, if any; stop ends them.
func (c *Client) startProbes() *prober {
	p := &prober{c: c, done: make(chan struct{}), pending: map[uint32]bool{}}
	if c.aliveEvery > 0 {
		go p.run()
	}
	return p
}

func (p *prober) stop() { close(p.done) }

func (p *prober) run() {
	t := time.NewTicker(p.c.aliveEvery)
	defer t.Stop()
	for {
		select {
		case <-p.done:
			return
		case <-t.C:
		}
		p.mu.Lock()
		if p.outstanding >= p.c.aliveMax {
			p.timedOut = true
			p.mu.Unlock()
			// Ends the read the session or forward waits in.
			p.c.fc.uc.SetDeadline(time.Unix(1, 0))
			return
		}
		p.outstanding++
		id := p.c.id()
		p.pending[id] = true
		p.mu.Unlock()
		// A failed write shows as a closed connection to the reader.
		p.c.fc.writePacket(&Request{Kind: MsgKeepAlive, ID: id})
	}
}

// handle takes msg if it is about the keepalives: a probe's answer (only
// MUX_S_OK resets the count: a failure means the master has lost the
// connection) or the master's ConnectionLost.
func (p *prober) handle(msg Message) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch m := msg.(type) {
	case *Request:
		if m.Kind == MsgOK && p.pending[m.ID] {
			delete(p.pending, m.ID)
			p.outstanding = 0
			return true
		}
	case *Refusal:
		if p.pending[m.ID] {
			delete(p.pending, m.ID)
			return true
		}
	case *ConnectionLost:
		if p.lost == "" {
			p.lost = m.Reason
		}
		return true
	}
	return false
}

// ended is why the control connection ended, if the keepalives know:
// the master's reason, or our timeout.
func (p *prober) ended() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.lost != "":
		return &LostError{Reason: p.lost}
	case p.timedOut:
		return ErrServerTimeout
	}
	return nil
}

// maxProbes bounds a client's keepalive requests awaiting the server: it
// gives up after ServerAliveCountMax of them, so more is a client gone
// wrong, and the ones past the bound stay unanswered, as unanswered as
// the server leaves them.
const maxProbes = 16

// probe answers MsgKeepAlive once the server has answered a
// keepalive@openssh.com of its own, success or failure alike (either
// shows the server alive, as for ssh(1)); while it stays silent, so do we.
func (c *ctlConn) probe(id uint32) {
	if c.probes.Add(1) > maxProbes {
		c.probes.Add(-1)
		return
	}
	go func() {
		defer c.probes.Add(-1)
		// Until the master or this client goes.
		ctx, cancel := context.WithCancel(c.m.ctx)
		defer cancel()
		go func() {
			select {
			case <-c.closed:
				cancel()
			case <-ctx.Done():
			}
		}()
		if _, _, err := c.m.cfg.Client.SendRequest(ctx, "keepalive@openssh.com", true, nil); err != nil {
			if ctx.Err() == nil {
				c.reply(&Refusal{ID: id, Reason: "connection lost: " + err.Error()})
			}
			return
		}
		c.reply(&Request{Kind: MsgOK, ID: id})
	}()
}

// lostError is why the master ended its connection, if it did.
func (m *Master) lostError() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lost
}

// tellLost tells a client that asked for it why the shared connection
// ended, before its control connection closes.
func (c *ctlConn) tellLost() {
	if err := c.m.lostError(); err != nil && c.keepalive {
		c.reply(&ConnectionLost{Reason: err.Error()})
	}
}
