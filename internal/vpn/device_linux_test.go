package vpn

import (
	"errors"
	"net"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/jumpgate/jumpgate/internal/nsexec"
	"github.com/jumpgate/jumpgate/internal/nstest"
)

// TestReadLoopTakesABurstWhole queues more packets on a real tun device
// than one batch holds before ReadLoop starts, and sends nothing after:
// every packet must still arrive (a loop that waited for the poller after
// a full batch, with packets left, would hold them until the next one),
// each batch must be flushed, and an interrupt must end the loop.
func TestReadLoopTakesABurstWhole(t *testing.T) {
	nstest.RequireRoot(t)
	ns, err := nsexec.New()
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	const burst = 200
	var dev Device
	err = nsexec.DoHandle(ns, func() error {
		var err error
		if dev, err = Open(L3, "jgtest0", false); err != nil {
			return err
		}
		link, err := netlink.LinkByName("jgtest0")
		if err != nil {
			return err
		}
		addr, _ := netlink.ParseAddr("198.18.99.1/30")
		if err := netlink.AddrAdd(link, addr); err != nil {
			return err
		}
		if err := netlink.LinkSetUp(link); err != nil {
			return err
		}
		return sendUDP(burst)
	})
	if dev != nil {
		defer dev.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	td := dev.(*tunDevice)

	var udp, flushes atomic.Int64
	fn := func(p []byte) error {
		if len(p) >= 20 && p[0]>>4 == 4 && p[9] == 17 { // IPv4 UDP: ours
			udp.Add(1)
		}
		return nil
	}
	flush := func() error { flushes.Add(1); return nil }
	done := make(chan error, 1)
	go func() { done <- td.ReadLoop(make([]byte, MaxFrame), fn, flush) }()
	deadline := time.Now().Add(5 * time.Second)
	for udp.Load() < burst && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := udp.Load(); n != burst {
		t.Errorf("ReadLoop handed over %d of the %d packets queued", n, burst)
	}
	if n := flushes.Load(); n < (burst+63)/64 {
		t.Errorf("%d flushes for %d packets, want one per batch of 64 at least", n, burst)
	}
	td.interrupt()
	select {
	case err := <-done:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("ReadLoop after interrupt = %v, want the deadline", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ReadLoop did not end on interrupt")
	}

	// A failing flush ends the loop with its error.
	td.resume()
	stop := errors.New("far side gone")
	go func() { done <- td.ReadLoop(make([]byte, MaxFrame), fn, func() error { return stop }) }()
	if err := nsexec.DoHandle(ns, func() error { return sendUDP(1) }); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, stop) {
			t.Errorf("ReadLoop with a failing flush = %v, want %v", err, stop)
		}
	case <-time.After(5 * time.Second):
		td.interrupt()
		t.Fatal("ReadLoop went on after its flush failed")
	}
}

// sendUDP sends n datagrams to the far end of the test device, from the
// calling thread's namespace (sockets belong to the namespace of the
// thread that makes them).
func sendUDP(n int) error {
	c, err := net.DialUDP("udp4", nil, &net.UDPAddr{IP: net.IPv4(198, 18, 99, 2), Port: 9})
	if err != nil {
		return err
	}
	defer c.Close()
	for range n {
		if _, err := c.Write([]byte("burst")); err != nil {
			return err
		}
	}
	return nil
}
