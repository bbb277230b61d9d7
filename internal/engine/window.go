package engine

// Receive windows that grow to fill long paths. RFC 4254 leaves the size of
// a window to the receiver; OpenSSH keeps 2 MiB, which holds a download to
// 2 MiB per round trip. A channel here starts there and, like TCP's
// receive-buffer autotuning, measures two things:
//
//   - the round trip, from a WINDOW_ADJUST to the first byte beyond the
//     window granted before it: the peer cannot have sent that byte before
//     the adjust reached it, so no sample is below the round trip, and the
//     smallest is kept;
//   - how much the reader drains per round trip.
//
// The probe is only a round trip when the sender waited for the adjust;
// on a short path whose buffers hold the whole window it times their
// draining instead. So the path's own smallest round trip, as TCP below
// measured it (sshio.MinRTT), bounds it. Without one (a hop through a
// master, a ProxyCommand's pipe) the probe is all there is: trusted up to
// unknownPathWindow (growLocked).
//
// A reader that drains more than half the window per round trip is held
// back by the window, not by itself: the window doubles, up to the
// channel's cap and within the connection's budget, which a channel gives
// back when it closes. A slow reader never grows it. The buffer holds at
// most the window (onData refuses more), so the budget bounds memory.

import (
	"sync/atomic"
	"time"

	"github.com/jumpgate/jumpgate/internal/sshwire"
)

const (
	// defaultMaxWindow is a channel's cap unless the configuration sets
	// one: 64 MiB fills 2.6 Gbit/s at 200 ms. Growth needs a round trip
	// TCP measured below; before it had one, growing windows made two-hop
	// downloads on a short path erratic (docs/perf.md).
	defaultMaxWindow = 64 << 20
	// defaultWindowBudget bounds the growth of a connection's windows.
	defaultWindowBudget = 256 << 20
	// unknownPathWindow caps growth where no TCP below tells the path's
	// round trip: the probe's round trip may be relays' queues draining.
	// It is also what a stock sshd takes in its stride: its channel
	// buffers grow by whole copies, and through masters a window of 8 MiB
	// stalled each new channel's first seconds while sshd copied; 4 MiB
	// did not (docs/perf.md).
	unknownPathWindow = 2 * initialWindow
)

// windowPool is a connection's limits and the growth its channels hold.
type windowPool struct {
	limits sshwire.WindowLimits
	used   atomic.Int64 // bytes granted past initialWindow, all channels
}

func (p *windowPool) max() uint32 {
	switch m := p.limits.Max; {
	case m == 0:
		return defaultMaxWindow
	case m < initialWindow:
		return initialWindow
	default:
		return m
	}
}

func (p *windowPool) budget() int64 {
	if p.limits.Budget <= 0 {
		return defaultWindowBudget
	}
	return p.limits.Budget
}

// take reserves up to n bytes of the budget and returns how many it got.
func (p *windowPool) take(n uint32) uint32 {
	for {
		used := p.used.Load()
		k := min(int64(n), p.budget()-used)
		if k <= 0 {
			return 0
		}
		if p.used.CompareAndSwap(used, used+k) {
			return uint32(k)
		}
	}
}

// windowTuner is a channel's measurements; channel.mu guards it.
type windowTuner struct {
	granted uint64 // bytes the peer may send in all, the first window included
	recvd   uint64 // bytes received in all
	drained uint64 // bytes read (or dropped unread) in all
	// probeAt is when an adjust went out whose first use is awaited (zero:
	// none), probeEdge the total granted before it.
	probeAt   time.Time
	probeEdge uint64
	minRTT    time.Duration
	// since and sinceDrained start the interval the drain rate is
	// measured over.
	since        time.Time
	sinceDrained uint64
}

// received counts n bytes arriving and ends a round-trip probe.
func (t *windowTuner) received(n uint32) {
	t.recvd += uint64(n)
	if t.probeAt.IsZero() || t.recvd <= t.probeEdge {
		return
	}
	if rtt := time.Since(t.probeAt); t.minRTT == 0 || rtt < t.minRTT {
		t.minRTT = rtt
	}
	t.probeAt = time.Time{}
}

// growLocked is called once the reader has drained enough to give the
// window back: it returns how much to widen the window by as well.
func (ch *channel) growLocked(now time.Time) uint32 {
	t := &ch.tune
	// The drain rate is measured over the probe's round trip, and what a
	// round trip holds is counted over the path's where TCP knows it
	// shorter: the probe then timed buffers draining, not the path, and a
	// rate over a shorter time catches bursts out of those buffers.
	// Without a path below that TCP measured, the probe is the round trip,
	// within a smaller cap.
	elapsed := now.Sub(t.since)
	if t.minRTT == 0 || t.since.IsZero() || elapsed < t.minRTT {
		if t.since.IsZero() {
			t.since, t.sinceDrained = now, t.drained
		}
		return 0
	}
	pool := &ch.conn.windows
	limit := pool.max()
	path := ch.conn.pc.minRTT() // asked once an interval, not per adjust
	if path == 0 {
		path, limit = t.minRTT, min(limit, unknownPathWindow)
	}
	rtt := min(t.minRTT, path)
	perRTT := float64(t.drained-t.sinceDrained) * float64(rtt) / float64(elapsed)
	t.since, t.sinceDrained = now, t.drained
	if 2*perRTT <= float64(ch.rwinMax) || ch.rwinMax >= limit {
		return 0
	}
	g := pool.take(min(ch.rwinMax, limit-ch.rwinMax))
	ch.rwinMax += g
	return g
}

// sentAdjustLocked records an adjust of n bytes about to go out.
func (t *windowTuner) sentAdjustLocked(now time.Time, n uint32) {
	if t.probeAt.IsZero() {
		t.probeAt, t.probeEdge = now, t.granted
	}
	t.granted += uint64(n)
}

// releaseWindowLocked gives the channel's growth back to the connection
// once nothing more will arrive and what did is read, or nobody will read
// it: until then the buffer may still hold up to the grown window.
func (ch *channel) releaseWindowLocked() {
	done := ch.gotClose && ch.stdout.len()+ch.stderr.len() == 0
	if !done && !ch.localClosed {
		return
	}
	if extra := ch.rwinMax - initialWindow; extra > 0 {
		ch.conn.windows.used.Add(-int64(extra))
		ch.rwinMax = initialWindow
	}
}
