package sshio

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"testing"
	"time"
)

func TestPipelinedKeepsOrderAndFlushesOnClose(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	p := NewPipelined(a)
	rng := rand.New(rand.NewPCG(1, 2))
	var want bytes.Buffer
	got := make(chan []byte)
	go func() {
		all, _ := io.ReadAll(b)
		got <- all
	}()
	for i := 0; i < 500; i++ {
		chunk := make([]byte, rng.IntN(40<<10)+1) // some above the reused buffer size
		for j := range chunk {
			chunk[j] = byte(rng.Uint32())
		}
		want.Write(chunk)
		if n, err := p.Write(chunk); n != len(chunk) || err != nil {
			t.Fatalf("write %d: %d, %v", i, n, err)
		}
	}
	// Close sends what is still queued before it closes.
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if g := <-got; !bytes.Equal(g, want.Bytes()) {
		t.Fatalf("read %d bytes, differing from the %d written", len(g), want.Len())
	}
	if _, err := p.Write([]byte("x")); err == nil {
		t.Error("write after close succeeded")
	}
}

func TestPipelinedWaitsWhenFull(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	p := NewPipelined(a)
	defer p.Close()
	// Nobody reads b: the writer goroutine blocks on the first chunk and
	// the queue fills.
	wrote := make(chan int)
	go func() {
		n := 0
		for n < 4*pipelineLimit {
			if _, err := p.Write(make([]byte, 16<<10)); err != nil {
				break
			}
			n += 16 << 10
		}
		wrote <- n
	}()
	select {
	case n := <-wrote:
		t.Fatalf("%d bytes queued with nobody reading, limit %d", n, pipelineLimit)
	case <-time.After(200 * time.Millisecond):
	}
	go io.Copy(io.Discard, b)
	select {
	case n := <-wrote:
		if n != 4*pipelineLimit {
			t.Errorf("wrote %d bytes once read, want %d", n, 4*pipelineLimit)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("writes stayed blocked while the other end read")
	}
}

type failingConn struct {
	net.Conn
	err error
}

func (f failingConn) Write([]byte) (int, error) { return 0, f.err }
func (f failingConn) Close() error              { return nil }

func TestPipelinedReportsWriteError(t *testing.T) {
	boom := errors.New("boom")
	p := NewPipelined(failingConn{err: boom})
	defer p.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := p.Write([]byte("data"))
		if errors.Is(err, boom) {
			return
		}
		if err != nil {
			t.Fatalf("write: %v, want %v", err, boom)
		}
		if time.Now().After(deadline) {
			t.Fatal("the underlying write error never came back")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestPipelinedCloseIsBounded(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	p := NewPipelined(a)
	p.Write(make([]byte, 1000)) // never read
	start := time.Now()
	p.Close()
	if d := time.Since(start); d > pipelineCloseWait+time.Second {
		t.Errorf("Close took %v with the peer not reading", d)
	}
	select {
	case <-p.done:
	case <-time.After(time.Second):
		t.Error("writer goroutine still running after Close")
	}
}

type sizedConn struct{ net.Conn }

func (sizedConn) MaxMessage() int { return 1234 }

// TestPipelinedTellsMaxMessage: the size of the channel's messages shows
// through, or a transport on a hop splits every packet in two.
func TestPipelinedTellsMaxMessage(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	p := NewPipelined(sizedConn{a})
	defer p.Close()
	if got := p.MaxMessage(); got != 1234 {
		t.Errorf("MaxMessage through Pipelined = %d, want 1234", got)
	}
	q := NewPipelined(b)
	defer q.Close()
	if got := q.MaxMessage(); got != 0 {
		t.Errorf("MaxMessage of a plain conn = %d, want 0", got)
	}
}
