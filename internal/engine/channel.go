package engine

// A channel (RFC 4254 section 5): receive buffers fed by the reader,
// windows both ways, the EOF and CLOSE handshake, and requests with
// replies in order.

import (
	"io"
	"math"
	"sync"
	"time"

	"github.com/jumpgate/jumpgate/internal/sshwire"
)

type channel struct {
	conn  *conn
	local uint32
	kind  string
	// reqs is the reader's: only it sends on and closes it.
	reqs    chan *sshwire.Request
	replies replyOrder
	done    chan struct{} // closed by Close: the reader stops handing requests
	doneOne sync.Once

	// Guarded by conn.wmu.
	sentEOF, sentClose bool

	wmu  sync.Mutex // one writer at a time keeps data in order
	rqmu sync.Mutex // orders our requests with their waiters

	mu           sync.Mutex
	rcond, wcond sync.Cond
	remote       uint32
	maxPacket    uint32 // the peer's
	opened       chan error
	confirmed    bool
	abandoned    bool
	stdout       chanBuf
	stderr       chanBuf
	gotEOF       bool
	gotClose     bool
	localClosed  bool
	lost         error // the connection ended
	// rwin is what the peer may still send; rwinMax the window we keep
	// granting, which grows on long paths (window.go).
	rwin, rwinMax uint32
	consumed      uint32 // read since the last WINDOW_ADJUST
	tune          windowTuner
	swin          uint32 // the peer's window for us
	waiters       []chan reqReply
	// sink takes data messages in the reader instead of stdout
	// (sshwire.PacketSink); sinkErr is the first error it returned.
	sink    func(p []byte) error
	sinkErr error
}

func makeChannel(c *conn, id uint32, kind string) *channel {
	ch := &channel{
		conn:    c,
		local:   id,
		kind:    kind,
		reqs:    make(chan *sshwire.Request, requestQueue),
		done:    make(chan struct{}),
		rwin:    initialWindow,
		rwinMax: initialWindow,
		tune:    windowTuner{granted: initialWindow},
	}
	ch.rcond.L = &ch.mu
	ch.wcond.L = &ch.mu
	return ch
}

func (ch *channel) Read(p []byte) (int, error) { return ch.read(p, false) }

// MaxMessage is the most data one message carries (sshwire.MessageSizer):
// sshio.ChannelWriter hands the channel whole writes for it to cut.
func (ch *channel) MaxMessage() int {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	return int(min(uint32(ch.conn.maxData), ch.maxPacket))
}

// MinRTT is the smallest round trip of the path under the channel's
// connection (sshio.MinRTT): a connection carried over the channel grows
// its windows by it.
func (ch *channel) MinRTT() time.Duration { return ch.conn.pc.minRTT() }

// Cork corks the socket under the channel's connection (sshio.Cork): a
// connection carried over the channel corks what carries it.
func (ch *channel) Cork() func() { return ch.conn.pc.cork() }

func (ch *channel) Write(p []byte) (int, error) { return ch.write(p, false) }

// Stderr is the channel's extended data of type SSH_EXTENDED_DATA_STDERR.
func (ch *channel) Stderr() io.ReadWriter { return stderrRW{ch} }

type stderrRW struct{ ch *channel }

func (s stderrRW) Read(p []byte) (int, error)  { return s.ch.read(p, true) }
func (s stderrRW) Write(p []byte) (int, error) { return s.ch.write(p, true) }

// endOfInput reports whether no more data will arrive.
func (ch *channel) endOfInput() bool {
	return ch.gotEOF || ch.gotClose || ch.localClosed || ch.lost != nil
}

func (ch *channel) read(p []byte, ext bool) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	buf := &ch.stdout
	if ext {
		buf = &ch.stderr
	}
	ch.mu.Lock()
	for buf.len() == 0 {
		if ch.endOfInput() {
			ch.mu.Unlock()
			return 0, io.EOF
		}
		ch.rcond.Wait()
	}
	n := buf.read(p)
	adj := ch.consumeLocked(n)
	if ch.gotClose {
		ch.releaseWindowLocked()
	}
	ch.mu.Unlock()
	return n, ch.adjust(adj)
}

// ReadPacket returns the next data message whole (sshwire.PacketReader).
func (ch *channel) ReadPacket() ([]byte, error) {
	ch.mu.Lock()
	for ch.stdout.len() == 0 {
		if err := ch.sinkErr; err != nil {
			ch.mu.Unlock()
			return nil, err
		}
		if ch.endOfInput() {
			ch.mu.Unlock()
			return nil, io.EOF
		}
		ch.rcond.Wait()
	}
	p := ch.stdout.readMsg()
	adj := ch.consumeLocked(len(p))
	if ch.gotClose {
		ch.releaseWindowLocked()
	}
	ch.mu.Unlock()
	return p, ch.adjust(adj)
}

// SinkPackets hands every data message to f in the connection's reader
// (sshwire.PacketSink), the ones queued first.
func (ch *channel) SinkPackets(f func(p []byte) error) {
	ch.mu.Lock()
	var adj uint32
	for ch.stdout.len() > 0 {
		p := ch.stdout.readMsg()
		if ch.sinkErr == nil {
			ch.sinkErr = f(p)
		}
		adj += ch.consumeLocked(len(p))
	}
	ch.sink = f
	ch.rcond.Broadcast()
	if ch.gotClose {
		ch.releaseWindowLocked()
	}
	ch.mu.Unlock()
	ch.adjust(adj)
}

// consumeLocked counts n bytes read and returns the window to give back,
// with any growth, as OpenSSH's channel_check_window does: once more than
// three packets' worth is outstanding, or less than half the window is
// left. Waiting for half the window to be read halved the window in
// effect: two-hop downloads ran at 0.86x OpenSSH's.
func (ch *channel) consumeLocked(n int) uint32 {
	ch.consumed += uint32(n)
	ch.tune.drained += uint64(n)
	if ch.consumed == 0 || ch.gotClose || ch.lost != nil {
		return 0
	}
	if ch.rwinMax-ch.rwin <= 3*ourMaxPacket && ch.rwin >= ch.rwinMax/2 {
		return 0
	}
	now := time.Now()
	adj := ch.consumed + ch.growLocked(now)
	ch.consumed = 0
	ch.rwin += adj
	ch.tune.sentAdjustLocked(now, adj)
	return adj
}

func (ch *channel) adjust(n uint32) error {
	if n == 0 {
		return nil
	}
	c := ch.conn
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if ch.sentClose {
		return nil
	}
	b := addU32(addU32(addByte(c.wbuf[:0], msgChannelWindowAdjust), ch.remote), n)
	c.wbuf = b
	return c.pc.writePacket(b)
}

func (ch *channel) write(p []byte, ext bool) (int, error) {
	ch.wmu.Lock()
	defer ch.wmu.Unlock()
	// More than this packet to send: the packets leave the socket below
	// in full segments, and whatever the loop waits for, it waits uncorked.
	var ck cork
	defer ck.release()
	n := 0
	for len(p) > 0 {
		k, err := ch.reserve(len(p), &ck)
		if err != nil {
			return n, err
		}
		if k < len(p) {
			ck.hold(ch.conn.pc)
		}
		if err := ch.sendData(ext, p[:k], &ck); err != nil {
			return n, err
		}
		n += k
		p = p[k:]
	}
	return n, nil
}

// cork is a write's hold on the socket under its connection (sshio.Cork).
type cork struct{ undo func() }

func (c *cork) hold(pc packetConn) {
	if c.undo == nil {
		c.undo = pc.cork()
	}
}

func (c *cork) release() {
	if c.undo != nil {
		c.undo()
		c.undo = nil
	}
}

// beforeWait lets the socket go before the write waits: its own hold, or
// else the one a write further up the stack may have (a connection carried
// over this one): a wait for a carrier's window or key exchange, corked,
// would keep what the peer needs to answer for 200 ms.
func (c *cork) beforeWait(pc packetConn) {
	if c.undo != nil {
		c.release()
		return
	}
	pc.cork()()
}

// reserve waits for window and takes up to n bytes of it, one packet's
// worth at most; it waits uncorked (ck).
func (ch *channel) reserve(n int, ck *cork) (int, error) {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	for ch.swin == 0 && !ch.gotClose && !ch.localClosed && ch.lost == nil {
		ch.mu.Unlock()
		ck.beforeWait(ch.conn.pc)
		ch.mu.Lock()
		if ch.swin != 0 || ch.gotClose || ch.localClosed || ch.lost != nil {
			break
		}
		ch.wcond.Wait()
	}
	switch {
	case ch.lost != nil:
		return 0, ch.lost
	case ch.gotClose || ch.localClosed:
		return 0, io.EOF
	}
	k := min(uint32(min(n, ch.conn.maxData)), ch.swin, ch.maxPacket)
	ch.swin -= k
	return int(k), nil
}

// sendData sends one data message. It never waits out a key exchange
// holding wmu: the reader, which runs the exchange, takes wmu to answer
// what it reads (window adjusts, replies, CLOSE), and would wait for us;
// nor corked (ck), as the exchange's messages share the socket.
func (ch *channel) sendData(ext bool, data []byte, ck *cork) error {
	c := ch.conn
	for {
		c.wmu.Lock()
		if ch.sentEOF || ch.sentClose {
			c.wmu.Unlock()
			return io.EOF
		}
		b := appendDataHeader(c.wbuf[:0], ch.remote, ext, len(data))
		b = append(b, data...)
		c.wbuf = b
		err := c.pc.writeData(b)
		c.wmu.Unlock()
		if err != errKexPending {
			return err
		}
		ck.beforeWait(c.pc)
		if err := c.pc.waitKexDone(); err != nil {
			return err
		}
	}
}

// sendMsg sends a message for the channel unless it is closed.
func (ch *channel) sendMsg(p []byte) error {
	c := ch.conn
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if ch.sentClose {
		return io.EOF
	}
	return c.pc.writePacket(p)
}

func (ch *channel) CloseWrite() error {
	c := ch.conn
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if ch.sentEOF || ch.sentClose {
		return nil
	}
	ch.sentEOF = true
	return c.pc.writePacket(recipientMsg(msgChannelEOF, ch.remote))
}

func (ch *channel) Close() error {
	ch.doneOne.Do(func() { close(ch.done) })
	ch.mu.Lock()
	ch.localClosed = true
	ch.releaseWindowLocked()
	ch.rcond.Broadcast()
	ch.wcond.Broadcast()
	lost := ch.lost
	ch.mu.Unlock()
	if lost != nil {
		return nil
	}
	return ch.sendClose()
}

func (ch *channel) sendClose() error {
	c := ch.conn
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if ch.sentClose {
		return nil
	}
	ch.sentClose = true
	return c.pc.writePacket(recipientMsg(msgChannelClose, ch.remote))
}

func (ch *channel) SendRequest(name string, wantReply bool, payload []byte) (bool, error) {
	msg := (&channelRequest{recipient: ch.remote, name: name, wantReply: wantReply, payload: payload}).marshal()
	if !wantReply {
		return false, ch.sendMsg(msg)
	}
	w := make(chan reqReply, 1)
	ch.rqmu.Lock()
	ch.mu.Lock()
	if ch.gotClose || ch.localClosed || ch.lost != nil {
		ch.mu.Unlock()
		ch.rqmu.Unlock()
		return false, io.EOF
	}
	ch.waiters = append(ch.waiters, w)
	ch.mu.Unlock()
	err := ch.sendMsg(msg)
	ch.rqmu.Unlock()
	if err != nil {
		return false, err
	}
	r := <-w
	return r.ok, r.err
}

// connLost ends the channel with the connection.
func (ch *channel) connLost(err error) {
	ch.mu.Lock()
	ch.lost = err
	ch.rcond.Broadcast()
	ch.wcond.Broadcast()
	waiters := ch.waiters
	ch.waiters = nil
	if ch.opened != nil && !ch.confirmed {
		select {
		case ch.opened <- err:
		default:
		}
	}
	ch.mu.Unlock()
	for _, w := range waiters {
		w <- reqReply{err: io.EOF}
	}
	close(ch.reqs)
}

// The reader's side of channels.

func (c *conn) onData(p []byte) error {
	m, ok := parseChannelData(p)
	if !ok {
		return protoErrorf("malformed channel data")
	}
	ch, err := c.channel(m.recipient)
	if err != nil {
		return err
	}
	n := uint32(len(m.data))
	ch.mu.Lock()
	if !ch.confirmed {
		ch.mu.Unlock()
		return protoErrorf("channel %d: data before confirmation", ch.local)
	}
	if n > ch.rwin {
		ch.mu.Unlock()
		return protoErrorf("channel %d: %d bytes of data in a window of %d", ch.local, n, ch.rwin)
	}
	if n > ourMaxPacket {
		ch.mu.Unlock()
		return protoErrorf("channel %d: %d bytes of data past the maximum packet size %d", ch.local, n, ourMaxPacket)
	}
	ch.rwin -= n
	ch.tune.received(n)
	var adj uint32
	switch {
	case n == 0:
	case ch.localClosed || ch.gotEOF:
		// Nobody reads it; the window no longer matters.
	case m.ext && m.code != 1:
		adj = ch.consumeLocked(int(n)) // unknown extended data is dropped
	case m.ext:
		ch.stderr.write(m.data, int(ch.rwinMax))
	case ch.sink != nil:
		adj = ch.consumeLocked(int(n))
		if ch.sinkErr != nil {
			break // dropped: the sink has failed
		}
		f := ch.sink
		ch.mu.Unlock()
		if err := f(m.data); err != nil {
			ch.mu.Lock()
			ch.sinkErr = err
			ch.rcond.Broadcast()
			ch.mu.Unlock()
		}
		return ch.adjust(adj)
	default:
		ch.stdout.write(m.data, int(ch.rwinMax))
	}
	ch.rcond.Broadcast()
	ch.mu.Unlock()
	return ch.adjust(adj)
}

func (c *conn) onWindowAdjust(p []byte) error {
	id, n, ok := parseChannelU32(p)
	if !ok {
		return protoErrorf("malformed window adjust")
	}
	ch, err := c.channel(id)
	if err != nil {
		return err
	}
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if uint64(ch.swin)+uint64(n) > math.MaxUint32 {
		return protoErrorf("channel %d: window adjusted past 2^32-1", ch.local)
	}
	ch.swin += n
	ch.wcond.Broadcast()
	return nil
}

func (c *conn) onEOF(p []byte) error {
	id, ok := parseRecipient(p)
	if !ok {
		return protoErrorf("malformed channel EOF")
	}
	ch, err := c.channel(id)
	if err != nil {
		return err
	}
	ch.mu.Lock()
	ch.gotEOF = true
	ch.rcond.Broadcast()
	ch.mu.Unlock()
	return nil
}

func (c *conn) onClose(p []byte) error {
	id, ok := parseRecipient(p)
	if !ok {
		return protoErrorf("malformed channel close")
	}
	ch, err := c.channel(id)
	if err != nil {
		return err
	}
	ch.mu.Lock()
	if !ch.confirmed {
		ch.mu.Unlock()
		return protoErrorf("channel %d: close before confirmation", ch.local)
	}
	ch.gotClose = true
	ch.releaseWindowLocked()
	ch.rcond.Broadcast()
	ch.wcond.Broadcast()
	waiters := ch.waiters
	ch.waiters = nil
	ch.mu.Unlock()
	for _, w := range waiters {
		w <- reqReply{err: io.EOF}
	}
	err = ch.sendClose()
	c.mu.Lock()
	delete(c.chans, ch.local)
	c.mu.Unlock()
	close(ch.reqs)
	return err
}

func (c *conn) onChannelRequest(p []byte) error {
	m, ok := parseChannelRequest(p)
	if !ok {
		return protoErrorf("malformed channel request")
	}
	ch, err := c.channel(m.recipient)
	if err != nil {
		return err
	}
	var seq uint64
	if m.wantReply {
		if seq, ok = ch.replies.take(); !ok {
			return protoErrorf("channel %d: more than %d requests unanswered", ch.local, maxUnanswered)
		}
	}
	answer := func(ok bool, _ []byte) error {
		kind := byte(msgChannelFailure)
		if ok {
			kind = msgChannelSuccess
		}
		return ch.replies.answer(seq, recipientMsg(kind, ch.remote), ch.sendMsg)
	}
	r := sshwire.NewRequest(m.name, m.wantReply, m.payload, onceReply(answer))
	if m.name == "keepalive@openssh.com" {
		return r.Reply(false, nil)
	}
	select {
	case ch.reqs <- r:
		return nil
	case <-ch.done:
		return r.Reply(false, nil)
	case <-c.closing:
		return errConnClosed
	}
}

func (c *conn) onChannelReply(p []byte) error {
	id, ok := parseRecipient(p)
	if !ok {
		return protoErrorf("malformed channel request reply")
	}
	ch, err := c.channel(id)
	if err != nil {
		return err
	}
	ch.mu.Lock()
	if len(ch.waiters) == 0 {
		ch.mu.Unlock()
		return protoErrorf("channel %d: reply without a request", ch.local)
	}
	w := ch.waiters[0]
	ch.waiters = ch.waiters[1:]
	ch.mu.Unlock()
	w <- reqReply{ok: p[0] == msgChannelSuccess}
	return nil
}

// chanBuf holds received data in order with the sizes of the messages it
// came in, so Read can join them and ReadPacket can return one. It is a
// ring, so that a buffer held near full by a slow reader never moves its
// data (a grown window made each packet move megabytes); it grows up to
// the window granted and keeps its capacity while the channel lives
// (docs/perf.md, "Channel receive buffers keep their size").
type chanBuf struct {
	b    []byte // the ring: n bytes from r, wrapping
	r, n int
	msgs []uint32 // sizes still unread of each message, from mh
	mh   int
}

func (q *chanBuf) len() int { return q.n }

// write appends p; limit is the window, which bounds the capacity.
func (q *chanBuf) write(p []byte, limit int) {
	if q.n+len(p) > len(q.b) {
		c := min(max(2*len(q.b), 64<<10), max(limit, q.n+len(p)))
		b := make([]byte, max(c, q.n+len(p)))
		q.copyOut(b)
		q.b, q.r = b, 0
	}
	w := q.r + q.n
	if w >= len(q.b) {
		w -= len(q.b)
	}
	k := copy(q.b[w:], p)
	copy(q.b, p[k:])
	q.n += len(p)
	switch {
	case q.mh == len(q.msgs):
		q.msgs, q.mh = q.msgs[:0], 0
	case q.mh > 0 && len(q.msgs) == cap(q.msgs):
		n := copy(q.msgs, q.msgs[q.mh:])
		q.msgs, q.mh = q.msgs[:n], 0
	}
	q.msgs = append(q.msgs, uint32(len(p)))
}

// copyOut copies the first len(p) bytes held (at most q.n) into p.
func (q *chanBuf) copyOut(p []byte) int {
	k := copy(p[:min(len(p), q.n)], q.b[q.r:])
	return k + copy(p[k:min(len(p), q.n)], q.b)
}

// skip drops the first n bytes held.
func (q *chanBuf) skip(n int) {
	q.n -= n
	q.r += n
	if q.r >= len(q.b) {
		q.r -= len(q.b)
	}
	if q.n == 0 {
		q.r = 0
	}
}

func (q *chanBuf) read(p []byte) int {
	n := q.copyOut(p)
	q.skip(n)
	for k := uint32(n); k > 0; {
		if q.msgs[q.mh] <= k {
			k -= q.msgs[q.mh]
			q.mh++
		} else {
			q.msgs[q.mh] -= k
			k = 0
		}
	}
	return n
}

// readMsg returns a copy of the rest of the next message.
func (q *chanBuf) readMsg() []byte {
	m := int(q.msgs[q.mh])
	q.mh++
	p := make([]byte, m)
	q.copyOut(p)
	q.skip(m)
	return p
}

var _ sshwire.PacketReader = (*channel)(nil)
