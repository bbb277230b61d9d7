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
		// One P, as ssh(1)'s master is one thread. A chain of masters
		// (one per jump host) relays each byte through a process per
		// hop, each doing one connection's crypto; with a P per core,
		// each process also woke its own idle threads for every
		// goroutine hand-off (read loop, mux, copy), and the three
		// processes' spinning threads queued behind each other and the
		// sshds on the cores. Two hops, iperf3 through -L, 8 runs
		// alternating: download 631 -> 746 Mbit/s median (OpenSSH's
		// masters 772), context switches a third; upload 1237 -> 1330
		// (OpenSSH's masters 1250).
		runtime.GOMAXPROCS(1)
	case Tunnel:
		// Every packet from the far side passes from x/crypto/ssh's read
		// loop to its mux to our reader: three goroutines. With one P
		// each hand-off is a switch on the same thread instead of a
		// futex wake of another (an IPI on a VM). Measured (BenchmarkVPNIperf,
		// 3 runs each, alternating): ping round trip 1.00–1.15x ssh -w's
		// against 1.10–1.15x, throughput unchanged (~1.3–1.7 Gbit/s).
		// Peer mode frames and encrypts both ways at once and keeps both.
		runtime.GOMAXPROCS(1)
	}
	return stop
}
