package engine

import (
	"bufio"
	"bytes"
	"crypto/ecdh"
	"encoding/binary"
	"errors"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/jumpgate/jumpgate/internal/sshwire"
)

// injectConn adds raw bytes after the n-th write: a man in the middle
// that slips a packet in.
type injectConn struct {
	net.Conn
	mu     sync.Mutex
	writes int
	after  int
	extra  []byte
}

func (c *injectConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.mu.Lock()
	c.writes++
	inject := c.writes == c.after
	c.mu.Unlock()
	if err == nil && inject {
		_, err = c.Conn.Write(c.extra)
	}
	return n, err
}

// plainPacket frames payload as an unencrypted packet.
func plainPacket(payload []byte) []byte {
	pad := 8 - (5+len(payload))%8
	if pad < 4 {
		pad += 8
	}
	b := binary.BigEndian.AppendUint32(nil, uint32(1+len(payload)+pad))
	b = append(b, byte(pad))
	b = append(b, payload...)
	return append(b, make([]byte, pad)...)
}

// TestStrictKexRejectsInjection: an IGNORE slipped in after the client's
// KEXINIT (the Terrapin attack's first step) ends the handshake under
// strict key exchange.
func TestStrictKexRejectsInjection(t *testing.T) {
	t.Parallel()
	keys := newTestHostKeys(t)
	ccfg, scfg := pairConfigs(keys.all(), sshwire.AlgorithmList{KeyExchanges: []string{"curve25519-sha256"}})
	cc, sc := net.Pipe()
	// Write 1 is the version line, write 2 the KEXINIT.
	ic := &injectConn{Conn: cc, after: 2, extra: plainPacket(appendSSHString([]byte{msgIgnore}, nil))}
	_, _, cerr, serr := handshakePair(t, ic, sc, ccfg, scfg)
	if serr == nil || !strings.Contains(serr.Error(), "strict key exchange") {
		t.Fatalf("server handshake = %v, want a strict key exchange failure", serr)
	}
	if cerr == nil {
		t.Fatal("client handshake succeeded")
	}
}

// TestRekeyBothSides: both sides start re-exchanges by volume while data
// flows both ways; nothing is lost or reordered.
func TestRekeyBothSides(t *testing.T) {
	t.Parallel()
	keys := newTestHostKeys(t)
	for _, kex := range []string{"curve25519-sha256", "mlkem768x25519-sha256", "compressed"} {
		t.Run(kex, func(t *testing.T) {
			t.Parallel()
			ccfg, scfg := pairConfigs(keys.all(), sshwire.AlgorithmList{KeyExchanges: []string{kex}})
			ccfg.rekeyBytes, scfg.rekeyBytes = 64<<10, 48<<10
			if kex == "compressed" {
				// The test's messages shrink a hundredfold.
				ccfg.algorithms.KeyExchanges, scfg.algorithms.KeyExchanges = nil, nil
				ccfg.compression, scfg.compression = true, true
				ccfg.rekeyBytes, scfg.rekeyBytes = 1<<10, 768
			}
			client, server := newPipePair(t, ccfg, scfg)
			// Authentication ends with nothing in flight, as
			// USERAUTH_SUCCESS ensures: the server's EXT_INFO is read first.
			r := startReaders(client, server)
			exchange(t, r, 1)
			client.authenticated()
			server.authenticated()
			exchange(t, r, 300)
			for _, pc := range []packetConn{client, server} {
				tr := pc.(*transport)
				tr.mu.Lock()
				n := tr.kexCount
				tr.mu.Unlock()
				if n < 10 {
					t.Errorf("only %d key exchanges", n)
				}
			}
			if !bytes.Equal(client.sessionID(), server.sessionID()) {
				t.Error("session ID changed")
			}
		})
	}
}

// TestPacketLimits feeds the packet decoder lengths it must refuse before
// reading (or allocating) the body.
func TestPacketLimits(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		length uint32
		want   error
	}{
		{"too long", maxPacket + 1, errPacketLength},
		{"huge", 1<<32 - 1, errPacketLength},
		{"too short", 4, errPacketLength},
		{"misaligned", 13, errPacketLength},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := binary.BigEndian.AppendUint32(nil, tc.length)
			_, buf, err := plainCipher{}.open(0, bytes.NewReader(in), nil)
			if !errors.Is(err, tc.want) {
				t.Fatalf("open = %v, want %v", err, tc.want)
			}
			if cap(buf) > 64 {
				t.Fatalf("allocated %d bytes for a refused packet", cap(buf))
			}
		})
	}
}

// TestPacketTamper: every protected cipher refuses a packet with one bit
// flipped anywhere.
func TestPacketTamper(t *testing.T) {
	t.Parallel()
	for _, c := range allCiphers() {
		for _, m := range []string{"hmac-sha2-256", "hmac-sha2-256-etm@openssh.com"} {
			t.Run(c+"/"+m, func(t *testing.T) {
				info, _ := lookupCipher(c)
				mi, _ := lookupMAC(m)
				key, iv, mk := bytes.Repeat([]byte{1}, info.keyLen), bytes.Repeat([]byte{2}, info.ivLen), bytes.Repeat([]byte{3}, mi.keyLen)
				enc, err := newPacketCipher(c, m, key, iv, mk, true)
				if err != nil {
					t.Fatal(err)
				}
				pkt := sealTest(enc, 7, []byte{94, 1, 2, 3, 4, 5, 6, 7, 8, 9})
				for bit := 0; bit < len(pkt)*8; bit += 7 {
					dec, _ := newPacketCipher(c, m, key, iv, mk, false)
					bad := bytes.Clone(pkt)
					bad[bit/8] ^= 1 << (bit % 8)
					if _, _, err := dec.open(7, bytes.NewReader(bad), nil); err == nil {
						t.Fatalf("bit %d flipped: packet accepted", bit)
					}
				}
				dec, _ := newPacketCipher(c, m, key, iv, mk, false)
				body, _, err := dec.open(7, bytes.NewReader(pkt), nil)
				if err != nil || body[1] != 94 {
					t.Fatalf("intact packet: %v", err)
				}
			})
		}
	}
}

// sealTest frames and seals payload as writeLocked does.
func sealTest(c packetCipher, seq uint32, payload []byte) []byte {
	body := 1 + len(payload)
	if !c.aadLength() {
		body += 4
	}
	pad := c.align() - body%c.align()
	if pad < minPadding {
		pad += c.align()
	}
	b := binary.BigEndian.AppendUint32(nil, uint32(1+len(payload)+pad))
	b = append(b, byte(pad))
	b = append(b, payload...)
	b = append(b, make([]byte, pad)...)
	return c.seal(seq, b)
}

// TestReaderWritesDuringRekey: the goroutine that reads (and so runs key
// exchanges) answers every message it reads, as a connection layer
// answers with window adjustments, while both sides rekey; it must never
// wait for the exchange it alone can finish.
func TestReaderWritesDuringRekey(t *testing.T) {
	t.Parallel()
	keys := newTestHostKeys(t)
	ccfg, scfg := pairConfigs(keys.all(), sshwire.AlgorithmList{KeyExchanges: []string{"curve25519-sha256"}})
	ccfg.rekeyBytes, scfg.rekeyBytes = 64<<10, 32<<10
	client, server := newPipePair(t, ccfg, scfg)
	// Volume limits apply once the user is authenticated, as OpenSSH's.
	client.authenticated()
	server.authenticated()
	const count = 400
	go func() {
		for {
			p, err := server.readPacket()
			if err != nil {
				return
			}
			if p[0] == 94 {
				// A window adjustment's number and size.
				reply := appendSSHUint32(appendSSHUint32([]byte{93}, 0), uint32(len(p)))
				if err := server.writePacket(reply); err != nil {
					return
				}
			}
		}
	}()
	replies := make(chan error, 1)
	go func() {
		for n := 0; n < count; {
			p, err := client.readPacket()
			if err != nil {
				replies <- err
				return
			}
			if p[0] == 93 {
				n++
			}
		}
		replies <- nil
	}()
	msg := make([]byte, 16<<10)
	msg[0] = 94
	for range count {
		if err := client.writePacket(msg); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-replies; err != nil {
		t.Fatal(err)
	}
	tr := server.(*transport)
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if tr.kexCount < 10 {
		t.Fatalf("only %d key exchanges", tr.kexCount)
	}
}

func TestWriteTooLarge(t *testing.T) {
	t.Parallel()
	keys := newTestHostKeys(t)
	ccfg, scfg := pairConfigs(keys.all(), sshwire.AlgorithmList{KeyExchanges: []string{"curve25519-sha256"}})
	client, server := newPipePair(t, ccfg, scfg)
	big := make([]byte, maxPacket)
	big[0] = 94
	if err := client.writePacket(big); err == nil {
		t.Fatal("a message over the packet limit was sent")
	}
	r := startReaders(client, server)
	exchange(t, r, 3)
}

func TestKexPublicValues(t *testing.T) {
	t.Parallel()
	g := group14()
	pm1 := new(big.Int).Sub(g.p, big.NewInt(1))
	for _, v := range []*big.Int{big.NewInt(0), big.NewInt(1), pm1, g.p, new(big.Int).Add(g.p, big.NewInt(5))} {
		a := &dhAgreement{grp: g}
		if _, err := a.clientPublic(); err != nil {
			t.Fatal(err)
		}
		if _, err := a.clientShared(v.Bytes()); !errors.Is(err, errBadPublic) {
			t.Errorf("DH value %v accepted: %v", v, err)
		}
	}
	// X25519's low-order points give an all-zero secret.
	for _, p := range [][]byte{make([]byte, 32), append([]byte{1}, make([]byte, 31)...), []byte{1, 2, 3}} {
		a := newX25519Agreement()
		a.clientPublic()
		if _, err := a.clientShared(p); !errors.Is(err, errBadPublic) {
			t.Errorf("X25519 point %x accepted: %v", p, err)
		}
	}
	// A point off P-256.
	bad := append([]byte{4}, bytes.Repeat([]byte{1}, 64)...)
	a := newP256Agreement()
	a.clientPublic()
	if _, err := a.clientShared(bad); !errors.Is(err, errBadPublic) {
		t.Errorf("point off P-256 accepted: %v", err)
	}
	m := &mlkemAgreement{}
	if _, _, err := m.serverShared(make([]byte, 10)); !errors.Is(err, errBadPublic) {
		t.Errorf("short ML-KEM key accepted: %v", err)
	}
	_ = ecdh.X25519
}

// TestGroupConstants recomputes the RFC 2409 and 3526 primes from their formula.
func TestGroupConstants(t *testing.T) {
	t.Parallel()
	// pi to 8100 bits by Machin's formula, in fixed point.
	const guard = 64
	piFixed := func(bits uint) *big.Int {
		one := new(big.Int).Lsh(big.NewInt(1), bits+guard)
		atanInv := func(x int64) *big.Int {
			xb, x2 := big.NewInt(x), big.NewInt(x*x)
			term := new(big.Int).Quo(one, xb)
			sum := new(big.Int).Set(term)
			for n := int64(1); term.Sign() != 0; n++ {
				term.Quo(term, x2)
				d := new(big.Int).Quo(term, big.NewInt(2*n+1))
				if n%2 == 1 {
					sum.Sub(sum, d)
				} else {
					sum.Add(sum, d)
				}
			}
			return sum
		}
		p := new(big.Int).Mul(atanInv(5), big.NewInt(16))
		p.Sub(p, new(big.Int).Mul(atanInv(239), big.NewInt(4)))
		return p.Rsh(p, guard)
	}
	for _, c := range []struct {
		grp    dhGroup
		bits   uint
		offset int64
	}{{group1(), 1024, 129093}, {group14(), 2048, 124476}, {group16(), 4096, 240904}, {group18(), 8192, 4743158}} {
		p := new(big.Int).Lsh(big.NewInt(1), c.bits)
		p.Sub(p, new(big.Int).Lsh(big.NewInt(1), c.bits-64))
		p.Sub(p, big.NewInt(1))
		f := piFixed(c.bits - 130)
		f.Add(f, big.NewInt(c.offset))
		p.Add(p, f.Lsh(f, 64))
		if p.Cmp(c.grp.p) != 0 {
			t.Errorf("the %d-bit group differs from its formula", c.bits)
		}
	}
}

// readerTransport is a transport reading raw bytes, for the decoder's
// tests and fuzzing.
func readerTransport(in []byte) *transport {
	t := &transport{cfg: &transportConfig{}, sendq: make(chan func(), 16), closed: make(chan struct{})}
	t.kcond = sync.NewCond(&t.kmu)
	t.rd.br = bufio.NewReader(bytes.NewReader(in))
	t.rd.cipher, t.wr.cipher = plainCipher{}, plainCipher{}
	t.rd.comp = "none"
	return t
}

func TestReadPacketBadPadding(t *testing.T) {
	t.Parallel()
	p := plainPacket([]byte{94, 1})
	p[4] = 3 // padding below the minimum
	if _, err := readerTransport(p).readRaw(); !errors.Is(err, errPacketPadding) {
		t.Fatalf("readRaw = %v, want %v", err, errPacketPadding)
	}
}

// TestRekeyByTime: with a rekey interval, the next write after it has
// passed starts a key exchange (fake time, testing/synctest).
func TestRekeyByTime(t *testing.T) {
	keys := newTestHostKeys(t)
	synctest.Test(t, func(t *testing.T) {
		ccfg, scfg := pairConfigs(keys.all(), sshwire.AlgorithmList{KeyExchanges: []string{"curve25519-sha256"}})
		ccfg.rekeyInterval = time.Hour
		cc, sc := net.Pipe()
		client, server, cerr, serr := handshakePair(t, cc, sc, ccfg, scfg)
		if cerr != nil || serr != nil {
			t.Fatalf("handshake: client %v, server %v", cerr, serr)
		}
		defer server.close()
		defer client.close()
		client.authenticated()
		server.authenticated()
		r := startReaders(client, server)
		exchange(t, r, 2)
		time.Sleep(59 * time.Minute)
		exchange(t, r, 2)
		time.Sleep(2 * time.Minute)
		exchange(t, r, 2)
		synctest.Wait()
		tr := client.(*transport)
		tr.mu.Lock()
		defer tr.mu.Unlock()
		if tr.kexCount != 2 {
			t.Fatalf("%d key exchanges, want 2", tr.kexCount)
		}
	})
}
