package vpn

// Pacing the native transport towards sshd. OpenSSH treats a
// tun@openssh.com channel as a datagram channel: each channel message must
// be exactly one packet, and a message that is not one (the device refuses
// it with EINVAL) makes sshd shut the channel's write side, so the tunnel
// goes dead one way. x/crypto/ssh's Channel.Write splits a write that is
// larger than the peer's remaining window into two messages, so once we are
// a whole window (2 MiB for sshd's tunnels) ahead of sshd, a packet gets
// cut in two. x/crypto does not show the window; instead we bound what is
// in flight ourselves: every probeEvery bytes a global request goes out
// (sshd answers every request in order with the data before it), and no
// packet is written while more than paceLimit bytes are unanswered. sshd
// adjusts its window once half of it (1 MiB) is consumed, so at most
// paceLimit + 1 MiB + one packet is ever outstanding: below the window.

import (
	"errors"
	"sync"
)

const (
	paceLimit  = 768 << 10
	probeEvery = 128 << 10
)

// pacer bounds the bytes written but not known to have reached the server.
type pacer struct {
	roundTrip func() error // to the server, after the data so far

	sent, probed uint64 // written by the pump's writer only

	mu     sync.Mutex
	cond   *sync.Cond
	acked  uint64
	busy   bool // a probe is in flight
	failed error
}

func newPacer(roundTrip func() error) *pacer {
	p := &pacer{roundTrip: roundTrip}
	p.cond = sync.NewCond(&p.mu)
	return p
}

// wrote accounts n written bytes and waits while too many are unanswered.
func (p *pacer) wrote(n int) error {
	p.sent += uint64(n)
	p.mu.Lock()
	defer p.mu.Unlock()
	for {
		if p.failed != nil {
			return p.failed
		}
		if !p.busy && (p.sent-p.probed >= probeEvery || p.sent-p.acked > paceLimit) {
			p.busy, p.probed = true, p.sent
			go p.probe(p.sent)
		}
		if p.sent-p.acked <= paceLimit {
			return nil
		}
		p.cond.Wait()
	}
}

func (p *pacer) probe(off uint64) {
	err := p.roundTrip()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.busy = false
	if err != nil {
		p.failed = errors.Join(errors.New("server stopped answering"), err)
	} else {
		p.acked = max(p.acked, off)
	}
	p.cond.Broadcast()
}
