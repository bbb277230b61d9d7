package tune

// Garbage-collector headroom for a client that carries bulk data.
//
// x/crypto/ssh allocates a buffer per packet read, so a fast download makes
// hundreds of MB/s of garbage over a live heap of a few MB, and the
// collector would run every few milliseconds, delaying the readers of the
// transports. What we want is GOGC=100 with a floor: never collect before
// gcFloor of garbage has piled up. Go has no such setting; a ballast gives
// it: a noscan allocation of gcFloor, never touched (so never resident),
// counts as live heap. Figures and what was tried: docs/perf.md.

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
