package engine

// The connection protocol (RFC 4254) over an authenticated packetConn.
//
// One reader goroutine per connection (readLoop) takes every message and
// dispatches it: data into the channel's buffer, which its Read takes
// without another goroutine hop; requests and new channels into bounded
// queues the caller drains. Writers serialise on wmu. Memory is bounded:
// a channel buffers at most the window it granted, the queues hold
// requestQueue entries and then hold the reader (and so the peer, through
// TCP), and unanswered requests are capped.

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"

	"github.com/jumpgate/jumpgate/internal/sshwire"
)

const (
	// initialWindow is OpenSSH's 2 MiB receive window.
	initialWindow = 2 << 20
	// ourMaxPacket is the largest data message we accept, OpenSSH's
	// 32 KiB, and the largest we send whatever the peer allows.
	ourMaxPacket = 32 << 10
	// requestQueue is the buffer of each stream of requests or new
	// channels handed to the caller.
	requestQueue = 16
	// maxUnanswered bounds the requests the peer may have waiting for
	// our reply at once.
	maxUnanswered = 1024
)

// errConnClosed is what a closed connection's operations return.
var errConnClosed = errors.New("ssh: connection closed")

type conn struct {
	*connMeta
	pc     packetConn
	server bool
	perms  *sshwire.Permissions

	// wmu serialises writes to pc; it also guards every channel's
	// sentEOF and sentClose, so nothing follows a CLOSE.
	wmu  sync.Mutex
	wbuf []byte

	closing   chan struct{} // closed by Close: unblocks the reader's hand-offs
	closeOnce sync.Once
	dead      chan struct{} // closed when the reader has torn down
	err       error         // why; set before dead is closed

	// gsend orders our global requests with their waiters.
	gsend sync.Mutex
	// greplies orders our replies to the peer's global requests.
	greplies replyOrder

	mu         sync.Mutex
	chans      map[uint32]*channel
	nextID     uint32
	handlers   map[string]chan sshwire.NewChannel
	given      map[string]bool
	reqs       chan *sshwire.Request // nil: refuse global requests
	reqsOut    bool
	closed     bool
	globalWait []chan reqReply

	// maxData is the most data we put in one channel message: ours, or
	// less so that each of our packets fits one message of the
	// connection carrying ours (a hop of a jump chain); a split would
	// double the packets every hop below.
	maxData int
}

type reqReply struct {
	ok      bool
	payload []byte
	err     error
}

func startConn(pc packetConn, meta *connMeta, server bool) *conn {
	c := &conn{
		connMeta: meta,
		pc:       pc,
		server:   server,
		closing:  make(chan struct{}),
		dead:     make(chan struct{}),
		chans:    map[uint32]*channel{},
		handlers: map[string]chan sshwire.NewChannel{},
		given:    map[string]bool{},
		maxData:  ourMaxPacket,
	}
	// 13 bytes: an extended data message's header.
	if m := pc.maxPayload() - 13; m > 0 && m < c.maxData {
		c.maxData = m
	}
	if server {
		// A server serves everything: queue it for the caller instead of
		// refusing what arrives before it asks.
		c.handlers[""] = make(chan sshwire.NewChannel, requestQueue)
		c.reqs = make(chan *sshwire.Request, requestQueue)
	}
	go c.readLoop()
	return c
}

func (c *conn) Permissions() *sshwire.Permissions { return c.perms }

func (c *conn) Algorithms() sshwire.Algorithms { return c.pc.algorithms() }

func (c *conn) Close() error {
	var err error
	c.closeOnce.Do(func() {
		close(c.closing)
		err = c.pc.close()
	})
	return err
}

func (c *conn) Wait() error {
	<-c.dead
	return c.err
}

// send writes one message.
func (c *conn) send(p []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.pc.writePacket(p)
}

func (c *conn) HandleChannelOpen(kind string) <-chan sshwire.NewChannel {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.given[kind] {
		return nil
	}
	c.given[kind] = true
	if h, ok := c.handlers[kind]; ok {
		return h // the server's queue
	}
	h := make(chan sshwire.NewChannel, requestQueue)
	if c.closed {
		close(h)
	} else {
		c.handlers[kind] = h
	}
	return h
}

func (c *conn) GlobalRequests() <-chan *sshwire.Request {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.reqsOut {
		return nil
	}
	c.reqsOut = true
	if c.reqs == nil {
		c.reqs = make(chan *sshwire.Request, requestQueue)
		if c.closed {
			close(c.reqs)
		}
	}
	return c.reqs
}

func (c *conn) SendRequest(ctx context.Context, name string, wantReply bool, payload []byte) (bool, []byte, error) {
	msg := (&globalRequestMsg{name: name, wantReply: wantReply, payload: payload}).marshal()
	if !wantReply {
		return false, nil, c.send(msg)
	}
	w := make(chan reqReply, 1)
	c.gsend.Lock()
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		c.gsend.Unlock()
		return false, nil, c.closedErr()
	}
	c.globalWait = append(c.globalWait, w)
	c.mu.Unlock()
	err := c.send(msg)
	c.gsend.Unlock()
	if err != nil {
		return false, nil, err
	}
	select {
	case r := <-w:
		return r.ok, r.payload, r.err
	case <-ctx.Done():
		// The reply still arrives in its turn and is dropped.
		return false, nil, ctx.Err()
	}
}

// closedErr is the error of operations on a dead connection.
func (c *conn) closedErr() error {
	select {
	case <-c.dead:
		if c.err != nil && c.err != io.EOF {
			return c.err
		}
	default:
	}
	return errConnClosed
}

func (c *conn) OpenChannel(ctx context.Context, kind string, extra []byte) (sshwire.Channel, <-chan *sshwire.Request, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, nil, c.closedErr()
	}
	ch := c.newChannelLocked(kind)
	ch.opened = make(chan error, 1)
	// Read before the reader can reach the channel.
	msg := (&channelOpen{kind: kind, sender: ch.local, window: ch.rwin, maxPacket: ourMaxPacket, extra: extra}).marshal()
	c.mu.Unlock()
	if err := c.send(msg); err != nil {
		return nil, nil, err
	}
	select {
	case err := <-ch.opened:
		if err != nil {
			return nil, nil, err
		}
		return ch, ch.reqs, nil
	case <-ctx.Done():
		ch.mu.Lock()
		ch.abandoned = true
		ch.mu.Unlock()
		select {
		case err := <-ch.opened:
			if err == nil {
				ch.Close()
			}
		default: // the reader closes it if it is confirmed later
		}
		return nil, nil, ctx.Err()
	}
}

// newChannelLocked registers a channel under a fresh local id.
func (c *conn) newChannelLocked(kind string) *channel {
	for c.chans[c.nextID] != nil {
		c.nextID++
	}
	ch := makeChannel(c, c.nextID, kind)
	c.chans[ch.local] = ch
	c.nextID++
	return ch
}

func (c *conn) channel(id uint32) (*channel, error) {
	c.mu.Lock()
	ch := c.chans[id]
	c.mu.Unlock()
	if ch == nil {
		return nil, protoErrorf("message for unknown channel %d", id)
	}
	return ch, nil
}

// readLoop is the connection's one reader.
func (c *conn) readLoop() {
	var err error
	for {
		var p []byte
		p, err = c.pc.readPacket()
		if err != nil {
			break
		}
		if err = c.dispatch(p); err != nil {
			var pe *protocolError
			if errors.As(err, &pe) {
				c.send(disconnectMsg(disconnectProtocolError, pe.msg))
			}
			break
		}
	}
	c.teardown(err)
}

func (c *conn) dispatch(p []byte) error {
	if len(p) == 0 {
		return protoErrorf("empty message")
	}
	switch p[0] {
	case msgChannelData, msgChannelExtendedData:
		return c.onData(p)
	case msgChannelWindowAdjust:
		return c.onWindowAdjust(p)
	case msgChannelOpen:
		return c.onOpen(p)
	case msgChannelOpenConfirm:
		return c.onOpenConfirm(p)
	case msgChannelOpenFailure:
		return c.onOpenFailure(p)
	case msgChannelEOF:
		return c.onEOF(p)
	case msgChannelClose:
		return c.onClose(p)
	case msgChannelRequest:
		return c.onChannelRequest(p)
	case msgChannelSuccess, msgChannelFailure:
		return c.onChannelReply(p)
	case msgGlobalRequest:
		return c.onGlobalRequest(p)
	case msgRequestSuccess, msgRequestFailure:
		return c.onGlobalReply(p)
	case layerMsgDisconnect:
		return parseDisconnect(p)
	}
	// Late authentication messages and unknown numbers are dropped; the
	// transport answers what it must.
	return nil
}

func (c *conn) onGlobalRequest(p []byte) error {
	m, ok := parseGlobalRequest(p)
	if !ok {
		return protoErrorf("malformed global request")
	}
	var seq uint64
	if m.wantReply {
		if seq, ok = c.greplies.take(); !ok {
			return protoErrorf("more than %d global requests unanswered", maxUnanswered)
		}
	}
	answer := func(ok bool, payload []byte) error {
		msg := []byte{msgRequestFailure}
		if ok {
			msg = append([]byte{msgRequestSuccess}, payload...)
		}
		return c.greplies.answer(seq, msg, c.send)
	}
	r := sshwire.NewRequest(m.name, m.wantReply, m.payload, onceReply(answer))
	c.mu.Lock()
	out := c.reqs
	c.mu.Unlock()
	if out == nil || m.name == "keepalive@openssh.com" {
		// OpenSSH answers its keepalive with failure too.
		return r.Reply(false, nil)
	}
	select {
	case out <- r:
		return nil
	case <-c.closing:
		return errConnClosed
	}
}

// onceReply makes a request's reply idempotent: the first answer counts.
func onceReply(f func(bool, []byte) error) func(bool, []byte) error {
	var once sync.Once
	return func(ok bool, payload []byte) error {
		err := io.EOF
		once.Do(func() { err = f(ok, payload) })
		if err == io.EOF {
			return errors.New("ssh: request already answered")
		}
		return err
	}
}

func (c *conn) onGlobalReply(p []byte) error {
	c.mu.Lock()
	if len(c.globalWait) == 0 {
		c.mu.Unlock()
		return protoErrorf("global request reply without a request")
	}
	w := c.globalWait[0]
	c.globalWait = c.globalWait[1:]
	c.mu.Unlock()
	r := reqReply{ok: p[0] == msgRequestSuccess}
	if r.ok {
		r.payload = append([]byte(nil), p[1:]...)
	}
	w <- r
	return nil
}

func (c *conn) onOpen(p []byte) error {
	m, ok := parseChannelOpen(p)
	if !ok {
		return protoErrorf("malformed channel open")
	}
	reject := func(reason sshwire.RejectionReason, msg string) error {
		return c.send((&openFailure{recipient: m.sender, reason: uint32(reason), message: msg}).marshal())
	}
	if m.maxPacket == 0 {
		return reject(sshwire.ResourceShortage, "zero maximum packet size")
	}
	c.mu.Lock()
	h, ok := c.handlers[m.kind]
	if !ok {
		h = c.handlers[""]
	}
	c.mu.Unlock()
	if h == nil {
		return reject(sshwire.UnknownChannelType, "unknown channel type: "+m.kind)
	}
	select {
	case h <- &newChannel{conn: c, open: m}:
		return nil
	case <-c.closing:
		return errConnClosed
	}
}

func (c *conn) onOpenConfirm(p []byte) error {
	m, ok := parseOpenConfirm(p)
	if !ok {
		return protoErrorf("malformed channel open confirmation")
	}
	ch, err := c.channel(m.recipient)
	if err != nil {
		return err
	}
	if m.maxPacket == 0 {
		return protoErrorf("channel %d: zero maximum packet size", ch.local)
	}
	ch.mu.Lock()
	if ch.opened == nil || ch.confirmed {
		ch.mu.Unlock()
		return protoErrorf("channel %d: confirmation out of turn", ch.local)
	}
	ch.confirmed = true
	ch.remote, ch.swin, ch.maxPacket = m.sender, m.window, m.maxPacket
	abandoned := ch.abandoned
	if !abandoned {
		ch.opened <- nil
	}
	ch.mu.Unlock()
	if abandoned {
		return ch.Close()
	}
	return nil
}

func (c *conn) onOpenFailure(p []byte) error {
	m, ok := parseOpenFailure(p)
	if !ok {
		return protoErrorf("malformed channel open failure")
	}
	ch, err := c.channel(m.recipient)
	if err != nil {
		return err
	}
	ch.mu.Lock()
	if ch.opened == nil || ch.confirmed {
		ch.mu.Unlock()
		return protoErrorf("channel %d: open failure out of turn", ch.local)
	}
	ch.opened <- &sshwire.OpenChannelError{Reason: sshwire.RejectionReason(m.reason), Message: m.message}
	ch.mu.Unlock()
	c.mu.Lock()
	delete(c.chans, ch.local)
	c.mu.Unlock()
	close(ch.reqs)
	return nil
}

// teardown ends everything waiting on the connection.
func (c *conn) teardown(err error) {
	c.pc.close()
	c.mu.Lock()
	c.closed = true
	c.err = err
	chans := c.chans
	c.chans = map[uint32]*channel{}
	for _, h := range c.handlers {
		close(h)
	}
	if c.reqs != nil {
		close(c.reqs)
	}
	waits := c.globalWait
	c.globalWait = nil
	c.mu.Unlock()
	lost := err
	if lost == nil || lost == io.EOF {
		lost = errConnClosed
	}
	for _, w := range waits {
		w <- reqReply{err: lost}
	}
	for _, ch := range chans {
		ch.connLost(lost)
	}
	close(c.dead)
}

// newChannel is a channel the peer asked to open.
type newChannel struct {
	conn *conn
	open *channelOpen
	once sync.Once
}

func (n *newChannel) ChannelType() string { return n.open.kind }
func (n *newChannel) ExtraData() []byte   { return n.open.extra }

func (n *newChannel) Accept() (sshwire.Channel, <-chan *sshwire.Request, error) {
	err := errors.New("ssh: channel already accepted or rejected")
	var ch *channel
	n.once.Do(func() {
		c := n.conn
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			err = c.closedErr()
			return
		}
		ch = c.newChannelLocked(n.open.kind)
		ch.confirmed = true
		ch.remote, ch.swin, ch.maxPacket = n.open.sender, n.open.window, n.open.maxPacket
		msg := (&openConfirm{recipient: ch.remote, sender: ch.local, window: ch.rwin, maxPacket: ourMaxPacket}).marshal()
		c.mu.Unlock()
		err = c.send(msg)
	})
	if err != nil {
		return nil, nil, err
	}
	return ch, ch.reqs, nil
}

func (n *newChannel) Reject(reason sshwire.RejectionReason, message string) error {
	err := errors.New("ssh: channel already accepted or rejected")
	n.once.Do(func() {
		err = n.conn.send((&openFailure{recipient: n.open.sender, reason: uint32(reason), message: message}).marshal())
	})
	return err
}

// replyOrder sends replies to the peer's requests in the order the
// requests came (RFC 4254 sections 4 and 5.4: replies carry no id), even
// when the caller answers them out of order.
type replyOrder struct {
	mu             sync.Mutex
	assigned, next uint64
	held           map[uint64][]byte
}

// take numbers a request that wants a reply; false when too many wait.
func (o *replyOrder) take() (uint64, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.assigned-o.next >= maxUnanswered {
		return 0, false
	}
	o.assigned++
	return o.assigned - 1, true
}

// answer holds msg until every earlier request is answered, then sends
// all that are due; a nil message sends nothing.
func (o *replyOrder) answer(seq uint64, msg []byte, send func([]byte) error) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.held == nil {
		o.held = map[uint64][]byte{}
	}
	o.held[seq] = msg
	var err error
	for {
		m, ok := o.held[o.next]
		if !ok {
			return err
		}
		delete(o.held, o.next)
		o.next++
		if m != nil {
			if e := send(m); e != nil && err == nil {
				err = e
			}
		}
	}
}

// addrOrNone stands in for an address the caller did not give.
func addrOrNone(a net.Addr) net.Addr {
	if a == nil {
		return &net.TCPAddr{IP: net.IPv4zero}
	}
	return a
}
