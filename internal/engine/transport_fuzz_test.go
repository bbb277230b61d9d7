package engine

import (
	"bufio"
	"bytes"
	"slices"
	"testing"
)

// FuzzKexInit: any input parses or fails cleanly, and what parses
// survives marshal and parse unchanged.
func FuzzKexInit(f *testing.F) {
	c := &transport{cfg: &transportConfig{}, isClient: true}
	f.Add(c.ourKexInit().marshal())
	s := &transport{cfg: &transportConfig{isServer: true, compression: true}}
	f.Add(s.ourKexInit().marshal())
	f.Add([]byte{msgKexInit})
	f.Fuzz(func(t *testing.T, p []byte) {
		m, err := parseKexInit(p)
		if err != nil {
			return
		}
		again, err := parseKexInit(m.marshal())
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		if !slices.Equal(m.kex, again.kex) || !slices.Equal(m.ciphers[1], again.ciphers[1]) ||
			m.firstFollows != again.firstFollows || m.reserved != again.reserved {
			t.Fatal("marshal changed the message")
		}
		if c, err := negotiate(m, m); err == nil && c.kex == "" {
			t.Fatal("negotiated an empty key exchange")
		}
	})
}

// FuzzReadPacket feeds the unencrypted packet decoder, then the same bytes
// through a chacha20-poly1305 and an AES-CTR/etm decoder: no input may
// panic or make it hold more than a packet's worth.
func FuzzReadPacket(f *testing.F) {
	f.Add(plainPacket([]byte{94, 1, 2, 3}))
	f.Add(append(plainPacket([]byte{msgIgnore, 0, 0, 0, 0}), plainPacket([]byte{95})...))
	f.Add([]byte{0, 4, 0, 1, 4, 94})
	f.Fuzz(func(t *testing.T, in []byte) {
		tr := readerTransport(in)
		for range 8 {
			p, err := tr.readRaw()
			if err != nil {
				break
			}
			if len(p) == 0 {
				t.Fatal("empty payload")
			}
		}
		if cap(tr.rd.buf) > 2*maxPacket {
			t.Fatalf("buffer grew to %d", cap(tr.rd.buf))
		}
		for _, c := range []struct{ cipher, mac string }{
			{"chacha20-poly1305@openssh.com", ""},
			{"aes128-ctr", "hmac-sha2-256-etm@openssh.com"},
			{"aes128-ctr", "hmac-sha1"},
		} {
			info, _ := lookupCipher(c.cipher)
			mi, _ := lookupMAC(c.mac)
			pc, err := newPacketCipher(c.cipher, c.mac, make([]byte, info.keyLen), make([]byte, info.ivLen), make([]byte, mi.keyLen), false)
			if err != nil {
				t.Fatal(err)
			}
			pc.open(0, bufio.NewReader(bytes.NewReader(in)), nil)
		}
	})
}

// FuzzInflate: the decompressor fails cleanly on anything and never
// produces more than its bound for one packet.
func FuzzInflate(f *testing.F) {
	d := newDeflater()
	p, _ := d.compress([]byte("hello hello hello hello"))
	f.Add(bytes.Clone(p), []byte{1, 2, 3})
	p2, _ := d.compress(bytes.Repeat([]byte("ab"), 5000))
	f.Add(bytes.Clone(p), bytes.Clone(p2))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		in := newInflater()
		defer in.close()
		for _, p := range [][]byte{a, b} {
			out, err := in.decompress(p)
			if err != nil {
				return
			}
			if len(out) > maxInflated {
				t.Fatalf("%d bytes out", len(out))
			}
		}
	})
}
