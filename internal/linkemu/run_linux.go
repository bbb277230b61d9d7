package linkemu

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/jumpgate/jumpgate/internal/nsexec"
)

// maxFrame is larger than any frame a 64 KiB MTU allows.
const maxFrame = 65536 + 64

// packetIgnoreOutgoing is PACKET_IGNORE_OUTGOING (linux/if_packet.h):
// without it the socket also sees what it sends.
const packetIgnoreOutgoing = 23

// Run carries frames between c.A and c.B until ctx ends. ready, if not nil,
// is called once both sockets are bound.
func Run(ctx context.Context, c Config, ready func()) error {
	if err := c.Validate(); err != nil {
		return err
	}
	a, err := openPort(c.A)
	if err != nil {
		return err
	}
	defer a.Close()
	b, err := openPort(c.B)
	if err != nil {
		return err
	}
	defer b.Close()
	if ready != nil {
		ready()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, 2)
	var wg sync.WaitGroup
	for _, d := range []struct{ from, to *os.File }{{a, b}, {b, a}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- pipe(ctx, c, d.from, d.to)
		}()
	}
	var first error
	select {
	case <-ctx.Done():
	case first = <-errs:
	}
	cancel()
	// Closing the sockets ends blocked reads.
	a.Close()
	b.Close()
	wg.Wait()
	if first != nil && ctx.Err() == nil {
		return first
	}
	return nil
}

// openPort binds a packet socket to p.Ifname inside p.Netns; the socket
// stays in that namespace whatever thread later uses it.
func openPort(p Port) (*os.File, error) {
	var f *os.File
	open := func() error {
		ifi, err := net.InterfaceByName(p.Ifname)
		if err != nil {
			return err
		}
		proto := htons(unix.ETH_P_ALL)
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, int(proto))
		if err != nil {
			return fmt.Errorf("packet socket: %w", err)
		}
		if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, packetIgnoreOutgoing, 1); err != nil {
			unix.Close(fd)
			return fmt.Errorf("ignore outgoing: %w", err)
		}
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 4<<20)
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, 4<<20)
		if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: proto, Ifindex: ifi.Index}); err != nil {
			unix.Close(fd)
			return fmt.Errorf("bind: %w", err)
		}
		f = os.NewFile(uintptr(fd), "packet:"+p.Ifname)
		return nil
	}
	var err error
	if p.Netns == "" {
		err = open()
	} else {
		err = nsexec.Do(p.Netns, open)
	}
	if err != nil {
		return nil, fmt.Errorf("link emulator: open %s (namespace %q): %w", p.Ifname, p.Netns, err)
	}
	return f, nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// frame is one queued frame and when it leaves.
type frame struct {
	data []byte
	at   time.Time
}

// pipe carries one direction: a reader that schedules, a writer that waits.
func pipe(ctx context.Context, c Config, from, to *os.File) error {
	q := make(chan frame, c.queueLimit())
	werr := make(chan error, 1)
	go func() { werr <- writer(ctx, q, to) }()
	defer close(q)
	var busyUntil time.Time // when the rate limiter's wire is free again
	buf := make([]byte, maxFrame)
	for {
		n, err := from.Read(buf)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("link emulator: read: %w", err)
		}
		if c.Loss > 0 && rand.Float64()*100 < c.Loss {
			continue
		}
		now := time.Now()
		start := now
		if c.Rate > 0 {
			if busyUntil.After(start) {
				start = busyUntil
			}
			busyUntil = start.Add(time.Duration(float64(n*8) / float64(c.Rate) * float64(time.Second)))
			start = busyUntil
		}
		select {
		case q <- frame{data: append([]byte(nil), buf[:n]...), at: start.Add(c.Delay)}:
		case err := <-werr:
			return err
		default: // tail drop, like a full qdisc; undo the wire time it took
			if c.Rate > 0 {
				busyUntil = busyUntil.Add(-time.Duration(float64(n*8) / float64(c.Rate) * float64(time.Second)))
			}
		}
	}
}

func writer(ctx context.Context, q <-chan frame, to *os.File) error {
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for f := range q {
		if d := time.Until(f.at); d > 0 {
			t.Reset(d)
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
			}
		}
		if _, err := to.Write(f.data); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			// A frame too big for the far side is dropped, as a wire would.
			if errors.Is(err, unix.EMSGSIZE) || errors.Is(err, unix.ENOBUFS) || errors.Is(err, unix.ENETDOWN) {
				continue
			}
			return fmt.Errorf("link emulator: write: %w", err)
		}
	}
	return nil
}
