package engine

// The key exchange's trace, worded as ssh(1)'s debug lines (kex.c,
// kexgen.c, kexgexc.c, dh.c): scripts and OpenSSH's regression tests
// read them ("SSH2_MSG_NEWKEYS sent" counts key exchanges).

import (
	"math/bits"
	"strings"
	"time"
)

// debugf writes one line of the trace at level 1 to 3 (-v to -vvv).
func (t *transport) debugf(level int, format string, args ...any) {
	if t.cfg.debugf != nil {
		t.cfg.debugf(level, format, args...)
	}
}

// logChoice is kex_choose_conf's account of what was negotiated: the
// direction we read first, as ssh(1) prints it.
func (t *transport) logChoice(n *negotiated) {
	if t.cfg.debugf == nil {
		return
	}
	t.debugf(1, "kex: algorithm: %s", n.kex)
	t.debugf(1, "kex: host key algorithm: %s", n.hostKey)
	order := [2]int{1, 0}
	if !t.isClient {
		order = [2]int{0, 1}
	}
	for _, d := range order {
		dir := "client->server"
		if d == 1 {
			dir = "server->client"
		}
		mac := n.mac[d]
		if mac == "" {
			mac = "<implicit>"
		}
		t.debugf(1, "kex: %s cipher: %s MAC: %s compression: %s", dir, n.cipher[d], mac, n.compression[d])
	}
}

// logKexInit lists a KEXINIT's proposal at debug2, as kex_buf2prop does.
func (t *transport) logKexInit(who string, m *kexInitMsg) {
	if t.cfg.debugf == nil {
		return
	}
	t.debugf(2, "%s KEXINIT proposal", who)
	lists := []struct {
		name string
		l    []string
	}{{"KEX algorithms", m.kex}, {"host key algorithms", m.hostKey},
		{"ciphers ctos", m.ciphers[0]}, {"ciphers stoc", m.ciphers[1]},
		{"MACs ctos", m.macs[0]}, {"MACs stoc", m.macs[1]},
		{"compression ctos", m.compression[0]}, {"compression stoc", m.compression[1]},
		{"languages ctos", m.languages[0]}, {"languages stoc", m.languages[1]}}
	for _, l := range lists {
		t.debugf(2, "%s: %s", l.name, strings.Join(l.l, ","))
	}
	t.debugf(2, "first_kex_follows %d ", boolInt(m.firstFollows))
	t.debugf(2, "reserved %d ", m.reserved)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// logBitsSet is dh_pub_is_valid's line for a Diffie-Hellman public
// value (big-endian bytes) in a group of primeBits: the group exchange
// regression test reads the group's size from it.
func (t *transport) logBitsSet(pub []byte, primeBits int) {
	n := 0
	for _, b := range pub {
		n += bits.OnesCount8(b)
	}
	t.debugf(2, "bits set: %d/%d", n, primeBits)
}

// rekeyByTime starts a key re-exchange once every (RekeyLimit's time)
// has passed since the last one, on an idle connection too, as ssh(1)
// does; it ends with the transport.
func (t *transport) rekeyByTime(every time.Duration) {
	for {
		t.mu.Lock()
		wait := time.Until(t.lastKex.Add(every))
		t.mu.Unlock()
		if wait <= 0 && !t.authed.Load() {
			wait = every // as rekeyDue: not before authentication
		} else if wait <= 0 {
			t.debugf(2, "rekey after %s of time", every)
			t.requestRekey()
			wait = every
		}
		timer := time.NewTimer(wait)
		select {
		case <-timer.C:
		case <-t.closed:
			timer.Stop()
			return
		}
	}
}

func side(client bool) string {
	if client {
		return "client"
	}
	return "server"
}
