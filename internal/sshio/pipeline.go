package sshio

import (
	"errors"
	"net"
	"sync"
	"time"
)

// pipelineLimit is how many bytes a [Pipelined] conn queues before its
// Write waits: a few packets, far below the 2 MiB an SSH channel's window
// lets through.
const pipelineLimit = 256 << 10

// maxQueued bounds the number of writes queued (x/crypto writes a packet
// in three: its bufio.Writer's 4 KiB, the rest, the MAC).
const maxQueued = 64

// pipelineCloseWait bounds how long Close waits for the queue to go out.
const pipelineCloseWait = time.Second

// Pipelined is a net.Conn whose Write returns once the data is queued; a
// goroutine of its own writes the queue to the underlying conn, in order.
//
// It is for an SSH transport that runs on a channel of another SSH
// connection (a hop behind a jump host). Writing to such a channel
// encrypts for the outer connection, and two hops deep encrypts once
// more for the one outside that, all in the goroutine that wrote: an
// upload through two jump hosts encrypted three times over on one core
// while the other idled. Queued, each connection encrypts in its own
// goroutine, in parallel, as ssh(1)'s chain of ProxyJump processes does.
// (Reads need nothing: each transport already reads in its own goroutine.)
type Pipelined struct {
	net.Conn

	mu      sync.Mutex
	cond    sync.Cond
	queue   [][]byte
	queued  int
	err     error // the underlying Write's, returned by later Writes
	closing bool
	free    [2][][]byte   // buffers written out, small and large, for reuse
	done    chan struct{} // the writer goroutine has ended
}

// NewPipelined starts the writer goroutine of c; Close ends it.
func NewPipelined(c net.Conn) *Pipelined {
	p := &Pipelined{Conn: c, done: make(chan struct{})}
	p.cond.L = &p.mu
	go p.run()
	return p
}

// MaxMessage is the underlying conn's (sshwire.MessageSizer): a transport
// carried over a channel sizes its packets to fit the channel's messages.
func (p *Pipelined) MaxMessage() int {
	if s, ok := p.Conn.(interface{ MaxMessage() int }); ok {
		return s.MaxMessage()
	}
	return 0
}

// MinRTT is the underlying conn's (see [MinRTT]).
func (p *Pipelined) MinRTT() time.Duration { return MinRTT(p.Conn) }

var errClosed = errors.New("use of closed pipelined connection")

// Write queues a copy of b, waiting while the queue is full.
func (p *Pipelined) Write(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.queued > 0 && (p.queued+len(b) > pipelineLimit || len(p.queue) >= maxQueued) && p.err == nil && !p.closing {
		p.cond.Wait()
	}
	switch {
	case p.err != nil:
		return 0, p.err
	case p.closing:
		return 0, errClosed
	}
	p.queue = append(p.queue, append(p.buf(len(b)), b...))
	p.queued += len(b)
	p.cond.Broadcast()
	return len(b), nil
}

func (p *Pipelined) run() {
	defer close(p.done)
	var batch [][]byte
	for {
		p.mu.Lock()
		for len(p.queue) == 0 && !p.closing {
			p.cond.Wait()
		}
		if len(p.queue) == 0 {
			p.mu.Unlock()
			return
		}
		batch, p.queue = p.queue, batch[:0]
		p.mu.Unlock()
		n, err := 0, error(nil)
		for _, b := range batch {
			if err == nil {
				_, err = p.Conn.Write(b)
			}
			n += len(b)
		}
		p.mu.Lock()
		for _, b := range batch {
			if i := sizeClass(cap(b)); i >= 0 && cap(b) == bufSizes()[i] && len(p.free[i]) < maxQueued {
				p.free[i] = append(p.free[i], b[:0])
			}
		}
		clear(batch)
		p.queued -= n
		if err != nil {
			// Nothing more goes out; Writes return the error.
			p.err = err
			p.queue, p.queued, p.free = nil, 0, [2][][]byte{}
		}
		p.cond.Broadcast()
		p.mu.Unlock()
		if err != nil {
			return
		}
	}
}

// Close lets what is queued go out (for a second at most), then closes
// the underlying conn.
func (p *Pipelined) Close() error {
	p.mu.Lock()
	p.closing = true
	p.cond.Broadcast()
	p.mu.Unlock()
	t := time.NewTimer(pipelineCloseWait)
	defer t.Stop()
	select {
	case <-p.done:
	case <-t.C:
	}
	return p.Conn.Close()
}

// smallBuf and packetBuf are the sizes of the buffers reused for queued writes: the
// small pieces of a packet, and a whole packet (32 KiB of data and its
// framing). A fresh buffer of 32 KiB or more is a large allocation,
// cleared each time: reusing them took a seventh of an upload's CPU.
const smallBuf, packetBuf = 4 << 10, 34 << 10

// bufSizes is smallBuf and packetBuf, indexed as Pipelined.free.
func bufSizes() [2]int { return [2]int{smallBuf, packetBuf} }

// sizeClass is the index in bufSizes of the smallest size that holds n,
// or -1.
func sizeClass(n int) int {
	for i, size := range bufSizes() {
		if n <= size {
			return i
		}
	}
	return -1
}

// buf returns an empty buffer for n bytes; p.mu is held.
func (p *Pipelined) buf(n int) []byte {
	i := sizeClass(n)
	if i < 0 {
		return make([]byte, 0, n)
	}
	if k := len(p.free[i]); k > 0 {
		b := p.free[i][k-1]
		p.free[i] = p.free[i][:k-1]
		return b
	}
	return make([]byte, 0, bufSizes()[i])
}
