package tune

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
// What we want is GOGC=100 with a floor: never collect before some
// gcFloor of garbage has piled up, and above that grow in proportion to
// the live heap as usual. Go has no such setting. A ballast gives it: a
// noscan allocation of gcFloor that is never touched (so never resident)
// counts as live heap, and GOGC=100 then lets gcFloor + live bytes of
// garbage pile up between collections. (A 64 MiB ballast under
// GOGC=400, tried earlier, peaked at 300 MB resident, as its heap goal of
// 5 × (64 MiB + live) allows.) This replaced a memory limit retuned from
// runtime/metrics' live heap every 500 ms, which made every jumpgate
// command pay runtime/metrics' package initialisation (0.4 ms), and
// start-up is what a multiplexed `jumpgate ssh` costs. The 70 MB above was
// that memory limit's; with the ballast the same download (two hops,
// iperf3 -R, 6 s, 1.27 Gbit/s) peaked at 90 MB resident.

import "runtime"

// gcFloor is how much garbage may pile up between collections at least:
// tens of milliseconds of packets at several Gbit/s.
const gcFloor = 64 << 20

// startGCHeadroom gives the collector its floor until the returned
// function is called. A user who tunes the collector with GOGC or
// GOMEMLIMIT keeps their setting alone.
func startGCHeadroom(getenv func(string) string) (stop func()) {
	if getenv("GOGC") != "" || getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	// Fresh from the operating system and never written, its pages stay
	// unmapped; noscan, the collector never reads it either.
	ballast := make([]byte, gcFloor)
	return func() { runtime.KeepAlive(ballast) }
}
