package cli

// Garbage-collector headroom for a client that carries bulk data.
//
// x/crypto/ssh allocates a fresh buffer for every packet it reads (up to
// 32 KiB), on every hop: a forward downloading at 1 Gbit/s through two
// jump hosts allocates several hundred MB/s while its live heap stays at
// a few MB. The collector then runs every few milliseconds even at
// GOGC=400 (what forwarding used to set): ~40 cycles a second, each
// taking CPU (mark workers, assists) from a machine the servers may share
// and delaying the goroutines that read the transports, and so the
// window adjusts the servers wait for. On the two-core benchmark machine
// (two hops, iperf3 -R) the download went from ~1000-1070 to
// ~1400 Mbit/s with the collector held off until the heap reaches 64 MiB
// (about 10 cycles a second), for a peak resident size of 70 MB instead
// of 47 MB.
//
// What we want is GOGC=100 with a floor: never collect before the heap
// reaches gcFloor, and above that grow in proportion to the live heap as
// usual. Go has no such setting, so the collector runs on a memory limit
// instead of GOGC, and a ticker keeps that limit at the larger of the
// floor and twice the live heap. A fixed limit alone would make a large
// live heap (many channels with full windows) collect continuously; a
// higher GOGC would let it grow many times over; a 64 MiB ballast under
// GOGC=400 (tried) peaked at 300 MB resident.

import (
	"context"
	"math"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// gcFloor is the heap size below which the collector does not run:
// enough for some 64 MiB of packet garbage between collections, tens of
// milliseconds of traffic at several Gbit/s.
const gcFloor = 64 << 20

// gcRetune is how often the limit follows the live heap.
const gcRetune = 500 * time.Millisecond

// startGCHeadroom gives the collector its floor until ctx ends or the
// returned function is called, which restores the defaults. A user who
// tunes the collector with GOGC or GOMEMLIMIT keeps their setting alone.
func startGCHeadroom(ctx context.Context, getenv func(string) string) (stop func()) {
	if getenv("GOGC") != "" || getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	retune := func() {
		metrics.Read(sample)
		limit := int64(gcFloor)
		if sample[0].Value.Kind() == metrics.KindUint64 {
			if live := int64(sample[0].Value.Uint64()); 2*live > limit {
				limit = 2 * live
			}
		}
		debug.SetMemoryLimit(limit)
	}
	retune()
	debug.SetGCPercent(-1)
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(gcRetune)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				retune()
			case <-ctx.Done():
				return
			}
		}
	}()
	return func() {
		cancel()
		<-done
		debug.SetGCPercent(100)
		debug.SetMemoryLimit(math.MaxInt64)
	}
}
