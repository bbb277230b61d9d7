package engine

import (
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jumpgate/jumpgate/internal/sshwire"
)

// memTransport is one end of an in-memory packetConn pair: no crypto,
// whole messages through bounded queues, so a writer that outruns its
// reader blocks as it would on TCP. Packets are recycled through a pool
// so that benchmarks count only the layers' allocations.
type memTransport struct {
	in, out  chan *[]byte
	done     chan struct{} // shared by both ends: closing either ends both
	once     *sync.Once
	pool     *sync.Pool
	sid      []byte
	sigAlgs  []string
	authOnce sync.Once
	authed   chan struct{}
	last     *[]byte       // the packet readPacket returned last
	rtt      time.Duration // minRTT's answer: the path's as TCP would tell
	// corks counts cork calls; corked is the socket's TCP_CORK: set by
	// any cork, cleared by any uncork.
	corks  atomic.Int32
	corked atomic.Bool
}

func memPair() (client, server *memTransport) {
	a, b := make(chan *[]byte, 64), make(chan *[]byte, 64)
	done := make(chan struct{})
	once := new(sync.Once)
	pool := &sync.Pool{New: func() any { return new([]byte) }}
	sid := []byte("session-id-for-tests-0123456789")
	algs := []string{"ssh-ed25519", "rsa-sha2-512", "rsa-sha2-256", "ecdsa-sha2-nistp256"}
	client = &memTransport{in: a, out: b, done: done, once: once, pool: pool, sid: sid, sigAlgs: algs, authed: make(chan struct{})}
	server = &memTransport{in: b, out: a, done: done, once: once, pool: pool, sid: sid, authed: make(chan struct{})}
	return client, server
}

func (m *memTransport) readPacket() ([]byte, error) {
	if m.last != nil {
		m.pool.Put(m.last)
		m.last = nil
	}
	select {
	case p := <-m.in:
		m.last = p
		return *p, nil
	case <-m.done:
		return nil, io.EOF
	}
}

func (m *memTransport) writePacket(p []byte) error {
	select {
	case <-m.done:
		return io.ErrClosedPipe
	default:
	}
	bp := m.pool.Get().(*[]byte)
	*bp = append((*bp)[:0], p...)
	select {
	case m.out <- bp:
		return nil
	case <-m.done:
		return io.ErrClosedPipe
	}
}

func (m *memTransport) writeData(p []byte) error { return m.writePacket(p) }
func (m *memTransport) waitKexDone() error       { return nil }
func (m *memTransport) sessionID() []byte        { return m.sid }
func (m *memTransport) authenticated()           { m.authOnce.Do(func() { close(m.authed) }) }
func (m *memTransport) algorithms() sshwire.Algorithms {
	return sshwire.Algorithms{KeyExchange: "none"}
}
func (m *memTransport) serverSigAlgs() []string { return m.sigAlgs }
func (m *memTransport) maxPayload() int         { return 0 }
func (m *memTransport) minRTT() time.Duration   { return m.rtt }
func (m *memTransport) cork() func() {
	m.corks.Add(1)
	m.corked.Store(true)
	return func() { m.corked.Store(false) }
}
func (m *memTransport) clientVersion() []byte       { return []byte("SSH-2.0-client") }
func (m *memTransport) hostProof() ([]byte, []byte) { return nil, nil }
func (m *memTransport) hostBound() bool             { return false }
func (m *memTransport) serverVersion() []byte       { return []byte("SSH-2.0-server") }
func (m *memTransport) close() error                { m.once.Do(func() { close(m.done) }); return nil }
