package engine

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/jumpgate/jumpgate/internal/sshwire"
)

// delayedTransport delivers what its end writes d later, in order: half
// of an emulated round trip, with no limit on bandwidth.
type delayedTransport struct {
	*memTransport
	d time.Duration
	q chan delayedPacket
}

type delayedPacket struct {
	p  []byte
	at time.Time
}

func delay(m *memTransport, d time.Duration) *delayedTransport {
	w := &delayedTransport{memTransport: m, d: d, q: make(chan delayedPacket, 1<<14)}
	go func() {
		for {
			select {
			case pk := <-w.q:
				time.Sleep(time.Until(pk.at))
				if w.memTransport.writePacket(pk.p) != nil {
					return
				}
			case <-m.done:
				return
			}
		}
	}()
	return w
}

// writeData is delayed as every other message, keeping their order.
func (w *delayedTransport) writeData(p []byte) error { return w.writePacket(p) }

func (w *delayedTransport) writePacket(p []byte) error {
	select {
	case w.q <- delayedPacket{append([]byte(nil), p...), time.Now().Add(w.d)}:
		return nil
	case <-w.done:
		return io.ErrClosedPipe
	}
}

// delayedConns connects our client, with limits, to our server over a
// path of round trip rtt and returns both connections.
func delayedConns(t *testing.T, rtt time.Duration, limits sshwire.WindowLimits) (*conn, sshwire.ServerConn) {
	t.Helper()
	return pathConns(t, rtt, rtt, limits)
}

// pathConns is delayedConns whose transports report tcpRTT as the path's
// smallest round trip (sshio.MinRTT), as a TCP socket below would.
func pathConns(t *testing.T, rtt, tcpRTT time.Duration, limits sshwire.WindowLimits) (*conn, sshwire.ServerConn) {
	t.Helper()
	ct, st := memPair()
	ct.rtt, st.rtt = tcpRTT, tcpRTT
	type result struct {
		s   sshwire.ServerConn
		err error
	}
	srv := make(chan result, 1)
	go func() {
		s, err := newServerConn(delay(st, rtt/2), passwordServer("pw"), nil, nil)
		srv <- result{s, err}
	}()
	ccfg := &sshwire.ClientConfig{User: "me", Auth: []sshwire.AuthMethod{passwords("pw")}, Windows: limits}
	c, err := newClientConn(delay(ct, rtt/2), ccfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := <-srv
	if r.err != nil {
		t.Fatal(r.err)
	}
	t.Cleanup(func() { c.Close(); r.s.Close() })
	go sshwire.DiscardRequests(r.s.GlobalRequests())
	go func() {
		for nc := range r.s.HandleChannelOpen("") {
			ch, reqs, err := nc.Accept()
			if err != nil {
				continue
			}
			go sshwire.DiscardRequests(reqs)
			// Serve the blocks asked for, numbered, then close.
			go func() {
				var blocks uint32
				if c := newCursor(nc.ExtraData()); c.ok {
					blocks = c.u32()
				}
				b := make([]byte, blockSize)
				for i := range blocks {
					binary.BigEndian.PutUint32(b, i)
					if _, err := ch.Write(b); err != nil {
						break
					}
				}
				ch.Close()
			}()
		}
	}()
	return c.(*conn), r.s
}

// blockSize is what the test server writes at a time: cheap numbered
// blocks rather than a pattern, so that the race detector's slowness does
// not make the reader, rather than the window, the limit.
const blockSize = 32 << 10

// download opens a channel that carries blocks numbered blocks to us.
func download(t *testing.T, c *conn, blocks uint32) *channel {
	t.Helper()
	ch, reqs, err := c.OpenChannel(context.Background(), "download", addU32(nil, blocks))
	if err != nil {
		t.Fatal(err)
	}
	go sshwire.DiscardRequests(reqs)
	return ch.(*channel)
}

// drain reads the numbered blocks from ch to the end, pausing pause after
// each, checks them and the bound on what ch buffers, and returns the
// largest window it saw. It may run in its own goroutine.
func drain(t *testing.T, ch *channel, blocks uint32, pause time.Duration) uint32 {
	t.Helper()
	b := make([]byte, blockSize)
	var largest uint32
	for i := range blocks {
		if _, err := io.ReadFull(ch, b); err != nil {
			t.Errorf("block %d: %v", i, err)
			return largest
		}
		if got := binary.BigEndian.Uint32(b); got != i {
			t.Errorf("block %d arrived as block %d", i, got)
			return largest
		}
		ch.mu.Lock()
		held, win := ch.stdout.len(), ch.rwinMax
		ch.mu.Unlock()
		if held > int(win) {
			t.Errorf("channel buffers %d bytes in a window of %d", held, win)
			return largest
		}
		largest = max(largest, win)
		time.Sleep(pause)
	}
	if n, err := ch.Read(b); err != io.EOF {
		t.Errorf("after the last block: %d bytes, %v", n, err)
	}
	return largest
}

// TestWindowGrows: over a 100 ms round trip a fast reader is held back by
// the 2 MiB window, which grows to the cap (here 8 MiB) and no further;
// closing gives the growth back.
func TestWindowGrows(t *testing.T) {
	t.Parallel()
	const limit = 8 << 20
	c, _ := delayedConns(t, 100*time.Millisecond, sshwire.WindowLimits{Max: limit})
	start := time.Now()
	largest := drain(t, download(t, c, 768), 768, 0)
	t.Logf("24 MiB in %v, largest window %d MiB", time.Since(start), largest>>20)
	if largest != limit {
		t.Errorf("largest window %d, want the cap %d", largest, limit)
	}
	if used := c.windows.used.Load(); used != 0 {
		t.Errorf("%d bytes of growth still held after close", used)
	}
}

// TestWindowShortPath: where the path's round trip is short (10µs,
// loopback's), a fast reader is not held back by the window, however long
// the buffers along the way take to drain: it stays at 2 MiB. (The pipe
// here moves gigabytes a second: at 100µs its bandwidth-delay product
// would be a window's.)
func TestWindowShortPath(t *testing.T) {
	t.Parallel()
	c, _ := pathConns(t, 0, 10*time.Microsecond, sshwire.WindowLimits{Max: 64 << 20})
	if largest := drain(t, download(t, c, 768), 768, 0); largest != initialWindow {
		t.Errorf("window grew to %d MiB on a path of 10µs", largest>>20)
	}
}

// TestWindowUnknownPath: where no TCP below tells the path's round trip
// (a hop through a master, a ProxyCommand's pipe), the window grows by the
// probe's round trip alone, to unknownPathWindow and no further, however
// long the round trip and high the cap.
func TestWindowUnknownPath(t *testing.T) {
	t.Parallel()
	c, _ := pathConns(t, 100*time.Millisecond, 0, sshwire.WindowLimits{Max: 64 << 20})
	if largest := drain(t, download(t, c, 768), 768, 0); largest != unknownPathWindow {
		t.Errorf("window grew to %d MiB with no round trip known, want %d", largest>>20, unknownPathWindow>>20)
	}
}

// TestWindowSlowReader: a reader slower than the window allows over the
// same path never grows it.
func TestWindowSlowReader(t *testing.T) {
	t.Parallel()
	c, _ := delayedConns(t, 100*time.Millisecond, sshwire.WindowLimits{})
	// 32 KiB every 10 ms is at most 3.3 MB/s, 330 KB per round trip.
	if largest := drain(t, download(t, c, 192), 192, 10*time.Millisecond); largest != initialWindow {
		t.Errorf("window grew to %d for a slow reader", largest)
	}
}

// TestWindowBudget: two channels growing at once share the connection's
// budget and never hold more than it.
func TestWindowBudget(t *testing.T) {
	t.Parallel()
	const budget = 6 << 20
	c, _ := delayedConns(t, 100*time.Millisecond, sshwire.WindowLimits{Max: 64 << 20, Budget: budget})
	chans := []*channel{download(t, c, 768), download(t, c, 768)}
	var wg sync.WaitGroup
	stop, sampled := make(chan struct{}), make(chan struct{})
	var worst int64
	go func() {
		defer close(sampled)
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
			// Both locks at once: sampled one after the other, a
			// channel could give its growth back and the other take it
			// between the two, and the sum count it twice.
			var extra int64
			for _, ch := range chans {
				ch.mu.Lock()
			}
			for _, ch := range chans {
				extra += int64(ch.rwinMax - initialWindow)
			}
			for _, ch := range chans {
				ch.mu.Unlock()
			}
			worst = max(worst, extra)
		}
	}()
	for _, ch := range chans {
		wg.Add(1)
		go func() {
			defer wg.Done()
			drain(t, ch, 768, 0)
		}()
	}
	wg.Wait()
	close(stop)
	<-sampled
	if worst > budget || worst == 0 {
		t.Errorf("channels held %d bytes of growth, want some and at most %d", worst, budget)
	}
	if used := c.windows.used.Load(); used != 0 {
		t.Errorf("%d bytes of growth still held after close", used)
	}
}

// TestChanBufRing writes and reads messages of random sizes through the
// ring, wrapping and growing it, and checks the bytes, the message
// boundaries and that it grows no larger than the limit.
func TestChanBufRing(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	var q chanBuf
	var want []byte // what is held, in order
	var sizes []int // the messages' sizes still unread
	const limit = 256 << 10
	next := byte(0)
	for range 5000 {
		if rng.IntN(2) == 0 && len(want) < limit-ourMaxPacket {
			p := make([]byte, 1+rng.IntN(ourMaxPacket))
			for i := range p {
				p[i] = next
				next++
			}
			q.write(p, limit)
			want = append(want, p...)
			sizes = append(sizes, len(p))
		} else if len(want) > 0 && rng.IntN(4) == 0 {
			got := q.readMsg()
			if !bytes.Equal(got, want[:sizes[0]]) {
				t.Fatalf("readMsg returned %d bytes, not the %d of the next message", len(got), sizes[0])
			}
			want, sizes = want[sizes[0]:], sizes[1:]
		} else if len(want) > 0 {
			p := make([]byte, 1+rng.IntN(2*ourMaxPacket))
			n := q.read(p)
			if n != min(len(p), len(want)) || !bytes.Equal(p[:n], want[:n]) {
				t.Fatalf("read %d bytes, not the %d held first", n, min(len(p), len(want)))
			}
			want = want[n:]
			for n > 0 {
				k := min(n, sizes[0])
				sizes[0] -= k
				n -= k
				if sizes[0] == 0 {
					sizes = sizes[1:]
				}
			}
		}
		if q.len() != len(want) || len(q.b) > limit {
			t.Fatalf("holds %d bytes in %d, want %d in at most %d", q.len(), len(q.b), len(want), limit)
		}
	}
}
