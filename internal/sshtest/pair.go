package sshtest

// An in-memory connected pair of sshwire.Conn: channels, global and
// channel requests, EOF, extended data. There are no windows: a Write
// never blocks, and each Write arrives as one message, so ReadPacket
// returns exactly what the peer wrote.

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"

	"github.com/jumpgate/jumpgate/internal/sshwire"
)

// Pair returns the two ends of an in-memory SSH connection. The server
// end queues every channel and global request for HandleChannelOpen("")
// and GlobalRequests, as a server-side [sshwire.Conn] does; the client
// end refuses channel types it did not ask for.
func Pair() (client, server sshwire.Conn) {
	l := &link{done: make(chan struct{})}
	c := &end{link: l, handlers: map[string]*queue[sshwire.NewChannel]{}, given: map[string]bool{},
		local: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 50022}, remote: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 22}}
	s := &end{link: l, handlers: map[string]*queue[sshwire.NewChannel]{}, given: map[string]bool{}, server: true,
		local: c.remote, remote: c.local}
	s.handlers[""] = newQueue[sshwire.NewChannel](l.done)
	s.reqs = newQueue[*sshwire.Request](l.done)
	c.peer, s.peer = s, c
	return c, s
}

// link is what both ends share.
type link struct {
	once sync.Once
	done chan struct{} // closed by Close on either end

	mu    sync.Mutex
	chans []*channel // every half, closed with the connection
}

func (l *link) close() {
	l.once.Do(func() {
		close(l.done)
		l.mu.Lock()
		chans := l.chans
		l.chans = nil
		l.mu.Unlock()
		for _, c := range chans {
			c.Close()
		}
	})
}

type end struct {
	*link
	peer          *end
	server        bool
	local, remote net.Addr

	mu       sync.Mutex
	handlers map[string]*queue[sshwire.NewChannel]
	given    map[string]bool
	reqs     *queue[*sshwire.Request] // nil: refuse
	reqsOut  bool
}

var errClosed = errors.New("sshtest: connection closed")

func (e *end) User() string { return "sshtest" }
func (e *end) SessionID() []byte {
	return []byte("sshtest-session-id-0123456789abc")
}
func (e *end) ClientVersion() []byte { return []byte("SSH-2.0-sshtest-client") }
func (e *end) ServerVersion() []byte { return []byte("SSH-2.0-sshtest-server") }
func (e *end) RemoteAddr() net.Addr  { return e.remote }
func (e *end) LocalAddr() net.Addr   { return e.local }
func (e *end) Algorithms() sshwire.Algorithms {
	d := sshwire.DirectionAlgorithms{Cipher: "none", MAC: "none", Compression: "none"}
	return sshwire.Algorithms{KeyExchange: "none", HostKey: "none", Read: d, Write: d}
}
func (e *end) Permissions() *sshwire.Permissions { return &sshwire.Permissions{} }
func (e *end) Close() error                      { e.close(); return nil }
func (e *end) Wait() error                       { <-e.done; return nil }

func (e *end) HandleChannelOpen(kind string) <-chan sshwire.NewChannel {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.given[kind] {
		return nil
	}
	e.given[kind] = true
	q, ok := e.handlers[kind]
	if !ok {
		q = newQueue[sshwire.NewChannel](e.done)
		e.handlers[kind] = q
	}
	return q.out
}

func (e *end) GlobalRequests() <-chan *sshwire.Request {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.reqsOut {
		return nil
	}
	e.reqsOut = true
	if e.reqs == nil {
		e.reqs = newQueue[*sshwire.Request](e.done)
	}
	return e.reqs.out
}

// reply waits for the answer to a request or for the connection to end.
type reply struct {
	ok      bool
	payload []byte
}

func (e *end) SendRequest(ctx context.Context, name string, wantReply bool, payload []byte) (bool, []byte, error) {
	if e.closed() {
		return false, nil, errClosed
	}
	p := e.peer
	p.mu.Lock()
	q := p.reqs
	p.mu.Unlock()
	if q == nil {
		return false, nil, nil
	}
	answer := make(chan reply, 1)
	r := sshwire.NewRequest(name, wantReply, clone(payload), func(ok bool, b []byte) error {
		select {
		case answer <- reply{ok, clone(b)}:
		default:
		}
		return nil
	})
	if !q.push(r) {
		return false, nil, errClosed
	}
	if !wantReply {
		return false, nil, nil
	}
	select {
	case a := <-answer:
		return a.ok, a.payload, nil
	case <-e.done:
		return false, nil, errClosed
	case <-ctx.Done():
		return false, nil, ctx.Err()
	}
}

func (e *end) closed() bool {
	select {
	case <-e.done:
		return true
	default:
		return false
	}
}

// opened is the answer to a channel open.
type opened struct {
	ch   *channel
	reqs <-chan *sshwire.Request
	err  error
}

func (e *end) OpenChannel(ctx context.Context, kind string, extra []byte) (sshwire.Channel, <-chan *sshwire.Request, error) {
	if e.closed() {
		return nil, nil, errClosed
	}
	p := e.peer
	p.mu.Lock()
	q, ok := p.handlers[kind]
	if !ok {
		q = p.handlers[""]
	}
	p.mu.Unlock()
	if q == nil {
		return nil, nil, &sshwire.OpenChannelError{Reason: sshwire.UnknownChannelType, Message: "unknown channel type: " + kind}
	}
	answer := make(chan opened, 1)
	nc := &newChannel{link: e.link, kind: kind, extra: clone(extra), answer: answer}
	if !q.push(nc) {
		return nil, nil, errClosed
	}
	select {
	case a := <-answer:
		return a.ch, a.reqs, a.err
	case <-e.done:
		return nil, nil, errClosed
	case <-ctx.Done():
		go func() {
			if a := <-answer; a.ch != nil {
				a.ch.Close()
			}
		}()
		return nil, nil, ctx.Err()
	}
}

type newChannel struct {
	link   *link
	kind   string
	extra  []byte
	once   sync.Once
	answer chan opened
}

func (n *newChannel) ChannelType() string { return n.kind }
func (n *newChannel) ExtraData() []byte   { return n.extra }

func (n *newChannel) Accept() (sshwire.Channel, <-chan *sshwire.Request, error) {
	err := errors.New("sshtest: channel already answered")
	var ours *channel
	n.once.Do(func() {
		a, b := newChannelPair(n.link)
		ours, err = b, nil
		n.answer <- opened{ch: a, reqs: a.reqs.out}
	})
	if err != nil {
		return nil, nil, err
	}
	return ours, ours.reqs.out, nil
}

func (n *newChannel) Reject(reason sshwire.RejectionReason, message string) error {
	n.once.Do(func() {
		n.answer <- opened{err: &sshwire.OpenChannelError{Reason: reason, Message: message}}
	})
	return nil
}

func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte(nil), b...)
}

// queue is an unbounded queue read from out; out closes once the queue
// is closed and drained, or when done closes.
type queue[T any] struct {
	out  chan T
	done <-chan struct{}

	mu     sync.Mutex
	items  []T
	closed bool
	wake   chan struct{}
}

func newQueue[T any](done <-chan struct{}) *queue[T] {
	q := &queue[T]{out: make(chan T), done: done, wake: make(chan struct{}, 1)}
	go q.feed()
	return q
}

func (q *queue[T]) push(v T) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return false
	}
	q.items = append(q.items, v)
	select {
	case q.wake <- struct{}{}:
	default:
	}
	return true
}

func (q *queue[T]) close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *queue[T]) feed() {
	defer close(q.out)
	for {
		q.mu.Lock()
		if len(q.items) > 0 {
			v := q.items[0]
			q.items = q.items[1:]
			q.mu.Unlock()
			select {
			case q.out <- v:
			case <-q.done:
				return
			}
			continue
		}
		closed := q.closed
		q.mu.Unlock()
		if closed {
			return
		}
		select {
		case <-q.wake:
		case <-q.done:
			return
		}
	}
}

// channel is one half of an in-memory channel.
type channel struct {
	peer      *channel
	link      *link
	data, ext *messages                // what the peer sent us
	reqs      *queue[*sshwire.Request] // the peer's requests to us
	gone      chan struct{}            // closed with the channel, both halves
	closeOnce *sync.Once

	mu      sync.Mutex
	eofSent bool
	closed  bool
}

func newChannelPair(l *link) (a, b *channel) {
	gone, once := make(chan struct{}), new(sync.Once)
	a = &channel{link: l, data: newMessages(), ext: newMessages(), reqs: newQueue[*sshwire.Request](l.done), gone: gone, closeOnce: once}
	b = &channel{link: l, data: newMessages(), ext: newMessages(), reqs: newQueue[*sshwire.Request](l.done), gone: gone, closeOnce: once}
	a.peer, b.peer = b, a
	l.mu.Lock()
	l.chans = append(l.chans, a, b)
	l.mu.Unlock()
	return a, b
}

func (c *channel) Read(p []byte) (int, error)  { return c.data.read(p) }
func (c *channel) ReadPacket() ([]byte, error) { return c.data.readMessage() }
func (c *channel) Write(p []byte) (int, error) { return c.send(c.peer.data, p) }

// WritePacket sends p as one message (sshwire.PacketWriter); every write
// here is one, the window being unbounded.
func (c *channel) WritePacket(p []byte) error {
	_, err := c.send(c.peer.data, p)
	return err
}

func (c *channel) Stderr() io.ReadWriter     { return stderr{c} }
func (s stderr) Read(p []byte) (int, error)  { return s.c.ext.read(p) }
func (s stderr) Write(p []byte) (int, error) { return s.c.send(s.c.peer.ext, p) }

// writable reports whether data may still be sent; called with mu held.
func (c *channel) writable() bool { return !c.eofSent && !c.closed }

func (c *channel) send(m *messages, p []byte) (int, error) {
	c.mu.Lock()
	ok := c.writable()
	c.mu.Unlock()
	if !ok || !m.push(clone(p)) {
		return 0, io.EOF
	}
	return len(p), nil
}

type stderr struct{ c *channel }

// CloseWrite sends EOF: the peer reads what was sent, then io.EOF.
func (c *channel) CloseWrite() error {
	c.mu.Lock()
	already := !c.writable()
	c.eofSent = true
	c.mu.Unlock()
	if already {
		return io.EOF
	}
	c.peer.data.eof()
	c.peer.ext.eof()
	return nil
}

// Close closes both halves, as SSH_MSG_CHANNEL_CLOSE and its answer do:
// data already sent can still be read, request streams end.
func (c *channel) Close() error {
	first := false
	c.closeOnce.Do(func() { first = true })
	if !first {
		return io.EOF
	}
	close(c.gone)
	for _, h := range []*channel{c, c.peer} {
		h.mu.Lock()
		h.closed = true
		h.mu.Unlock()
		h.data.eof()
		h.ext.eof()
		h.reqs.close()
	}
	return nil
}

func (c *channel) SendRequest(name string, wantReply bool, payload []byte) (bool, error) {
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return false, io.EOF
	}
	answer := make(chan bool, 1)
	r := sshwire.NewRequest(name, wantReply, clone(payload), func(ok bool, _ []byte) error {
		select {
		case answer <- ok:
		default:
		}
		return nil
	})
	if !c.peer.reqs.push(r) {
		return false, io.EOF
	}
	if !wantReply {
		return false, nil
	}
	select {
	case ok := <-answer:
		return ok, nil
	case <-c.gone:
		return false, io.EOF
	case <-c.link.done:
		return false, io.EOF
	}
}

// messages is a stream of data messages with an end.
type messages struct {
	mu   sync.Mutex
	cond *sync.Cond
	msgs [][]byte
	off  int // read from msgs[0] by Read
	end  bool
}

func newMessages() *messages {
	m := &messages{}
	m.cond = sync.NewCond(&m.mu)
	return m
}

func (m *messages) push(b []byte) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.end {
		return false
	}
	if len(b) > 0 {
		m.msgs = append(m.msgs, b)
		m.cond.Broadcast()
	}
	return true
}

func (m *messages) eof() {
	m.mu.Lock()
	m.end = true
	m.cond.Broadcast()
	m.mu.Unlock()
}

// next waits for a message or the end; called with mu held.
func (m *messages) next() bool {
	for len(m.msgs) == 0 && !m.end {
		m.cond.Wait()
	}
	return len(m.msgs) > 0
}

func (m *messages) read(p []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.next() {
		return 0, io.EOF
	}
	n := copy(p, m.msgs[0][m.off:])
	m.off += n
	if m.off == len(m.msgs[0]) {
		m.msgs, m.off = m.msgs[1:], 0
	}
	return n, nil
}

func (m *messages) readMessage() ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.next() {
		return nil, io.EOF
	}
	b := m.msgs[0][m.off:]
	m.msgs, m.off = m.msgs[1:], 0
	return b, nil
}
