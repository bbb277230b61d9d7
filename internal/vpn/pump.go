package vpn

// Pump: device → batch of ready packets → PacketWriter (one flush per
// batch); PacketReader → device, one packet per write.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"

	"github.com/jumpgate/jumpgate/internal/sshwire"
)

// PacketReader yields packets from the far side.
type PacketReader interface {
	ReadPacket() ([]byte, error)
}

// PacketWriter sends packets to the far side; Flush ends a batch.
type PacketWriter interface {
	WritePacket(p []byte) error
	Flush() error
}

// loopReader is a device that reads in a loop of its own, handing over
// each packet and flushing once it has nothing more ready (tunDevice,
// through a non-blocking read loop).
type loopReader interface {
	ReadLoop(buf []byte, fn func(p []byte) error, flush func() error) error
}

// Counters count what crossed a tunnel; read them with atomic loads.
type Counters struct {
	TxPackets, TxBytes, RxPackets, RxBytes atomic.Uint64
}

// Pump copies packets between dev and the far side (r, w) until ctx ends
// or either direction fails, then closes far (the channel) and returns the
// first error: nil when ctx ended or the far side closed cleanly. dev is
// left open for the caller to close.
func Pump(ctx context.Context, dev Device, r PacketReader, w PacketWriter, far io.Closer, c *Counters) error {
	if c == nil {
		c = new(Counters)
	}
	if e, ok := dev.(*Endpoint); ok {
		dev = e.Device // for ReadLoop and interrupt
	}
	// A device pumped before (a tunnel reattached) was interrupted.
	if d, ok := dev.(interface{ resume() }); ok {
		d.resume()
	}
	var (
		once  sync.Once
		first error
		wg    sync.WaitGroup
	)
	done := make(chan struct{})
	fail := func(err error) {
		once.Do(func() {
			first = err
			close(done)
		})
	}
	wg.Go(func() { fail(toFar(dev, w, c)) })
	wg.Go(func() { fail(fromFar(dev, r, c)) })
	select {
	case <-ctx.Done():
		fail(nil)
	case <-done:
	}
	far.Close()
	// Unblock the device reader: a read deadline on a tun fd works with
	// Go's poller, so the device stays open for its owner.
	if d, ok := dev.(interface{ interrupt() }); ok {
		d.interrupt()
	}
	wg.Wait()
	if errors.Is(first, io.EOF) {
		return nil
	}
	return first
}

func toFar(dev Device, w PacketWriter, c *Counters) error {
	buf := make([]byte, MaxFrame)
	var sendErr error
	send := func(p []byte) error {
		c.TxPackets.Add(1)
		c.TxBytes.Add(uint64(len(p)))
		sendErr = w.WritePacket(p)
		return sendErr
	}
	var flushErr error
	flush := func() error {
		flushErr = w.Flush()
		return flushErr
	}
	if lr, ok := dev.(loopReader); ok {
		err := lr.ReadLoop(buf, send, flush)
		switch {
		case sendErr != nil:
			return fmt.Errorf("send to far side: %w", sendErr)
		case flushErr != nil:
			return fmt.Errorf("send to far side: %w", flushErr)
		case err == nil:
			return io.EOF
		}
		return devErr(err)
	}
	for {
		n, err := dev.Read(buf)
		if err != nil {
			return devErr(err)
		}
		if err := send(buf[:n]); err != nil {
			return fmt.Errorf("send to far side: %w", err)
		}
		if err := flush(); err != nil {
			return fmt.Errorf("send to far side: %w", err)
		}
	}
}

// packetSink is a PacketReader that can hand each packet to a function
// in the connection's reader instead (sshwire.PacketSink, through the
// readers that frame or check packets); SinkPackets reports whether it
// did.
type packetSink interface {
	SinkPackets(f func(p []byte) error) bool
}

// sinkVia makes r's packets go to f, if r can take a sink: a channel
// that is an sshwire.PacketSink, or a reader of ours over one.
func sinkVia(r any, f func(p []byte) error) bool {
	switch s := r.(type) {
	case packetSink:
		return s.SinkPackets(f)
	case sshwire.PacketSink:
		s.SinkPackets(f)
		return true
	}
	return false
}

func fromFar(dev Device, r PacketReader, c *Counters) error {
	write := func(p []byte) error {
		c.RxPackets.Add(1)
		c.RxBytes.Add(uint64(len(p)))
		if _, err := dev.Write(p); err != nil && (errors.Is(err, os.ErrClosed) || errors.Is(err, os.ErrDeadlineExceeded)) {
			return io.EOF
		}
		// Otherwise the kernel refused a malformed packet (EINVAL) or its
		// queue was full: the packet is lost as on a wire, the tunnel
		// goes on.
		return nil
	}
	// Written where the connection reads it, a packet reaches the device
	// without waking this goroutine, which then only waits for the end
	// (or the first bad packet).
	if sinkVia(r, write) {
		_, err := r.ReadPacket()
		return err
	}
	for {
		p, err := r.ReadPacket()
		if err != nil {
			return err
		}
		if err := write(p); err != nil {
			return err
		}
	}
}

// devErr turns the end of a device read into the end of the pump.
func devErr(err error) error {
	if errors.Is(err, os.ErrClosed) || errors.Is(err, os.ErrDeadlineExceeded) {
		return io.EOF
	}
	return fmt.Errorf("read tunnel device: %w", err)
}
