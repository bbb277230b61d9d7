// Package tune decides the Go runtime's settings (the collector's
// headroom, the number of Ps) for the work a process is about to do, in
// one place. A user who sets GOGC, GOMEMLIMIT or GOMAXPROCS keeps their
// setting.
package tune

import "runtime"

// Work is what a process is about to do.
type Work int

const (
	// Bulk is a client carrying sessions and forwards: collector headroom
	// (see gc.go).
	Bulk Work = iota
	// Master is a background master carrying its clients' sessions and
	// forwards: headroom and one P.
	Master
	// Tunnel is a tun@openssh.com tunnel: one P.
	Tunnel
)

// For sets the runtime up for w; stop ends what can end (the headroom).
func For(w Work, getenv func(string) string) (stop func()) {
	stop = func() {}
	if w == Bulk || w == Master {
		stop = startGCHeadroom(getenv)
	}
	if getenv("GOMAXPROCS") != "" {
		return stop
	}
	switch w {
	case Master:
		// One P, as ssh(1)'s master is one thread: through a chain of
		// masters, each process woke idle threads at every goroutine
		// hand-off and they queued behind each other on the cores
		// (docs/perf.md).
		runtime.GOMAXPROCS(1)
	case Tunnel:
		// Each packet from the far side crosses three goroutines; with
		// one P each hand-off is a switch on the same thread, not a wake
		// of another (docs/perf.md). Peer mode keeps both Ps: it frames
		// and encrypts both ways at once.
		runtime.GOMAXPROCS(1)
	}
	return stop
}
