package engine

import (
	"bytes"
	"encoding/binary"
	"slices"
	"strings"
	"testing"
)

// TestSupportedAlgorithmsResolve checks that every listed name is one the
// transport builds, that defaults are listed, and that no legacy
// algorithm is offered by default.
func TestSupportedAlgorithmsResolve(t *testing.T) {
	t.Parallel()
	all, def := SupportedAlgorithms(), DefaultAlgorithms()
	for _, k := range all.KeyExchanges {
		if _, ok := lookupKex(k); !ok {
			t.Errorf("kex %s is listed but unknown", k)
		}
	}
	for _, c := range all.Ciphers {
		if _, ok := lookupCipher(c); !ok {
			t.Errorf("cipher %s is listed but unknown", c)
		}
	}
	for _, m := range all.MACs {
		if _, ok := lookupMAC(m); !ok {
			t.Errorf("MAC %s is listed but unknown", m)
		}
	}
	for _, l := range [][2][]string{{def.KeyExchanges, all.KeyExchanges}, {def.Ciphers, all.Ciphers},
		{def.MACs, all.MACs}, {def.HostKeys, all.HostKeys}} {
		for _, a := range l[0] {
			if !slices.Contains(l[1], a) && !strings.HasPrefix(a, "sk-") {
				t.Errorf("default %s is not listed as supported", a)
			}
		}
	}
	legacy := slices.Concat(legacyKexes(), legacyCiphers(), legacyMACs(), []string{"ssh-rsa"})
	for _, a := range slices.Concat(def.KeyExchanges, def.Ciphers, def.MACs, def.HostKeys) {
		if slices.Contains(legacy, a) {
			t.Errorf("legacy %s is offered by default", a)
		}
	}
}

// TestLegacyCipherRoundTrip seals and opens packets with 3DES, whose
// 8-byte blocks packets align to, and the truncated MACs' 12-byte tags.
func TestLegacyCipherRoundTrip(t *testing.T) {
	t.Parallel()
	for _, c := range [][2]string{{"3des-cbc", "hmac-sha1-96"}, {"3des-cbc", "hmac-md5-96-etm@openssh.com"},
		{"aes128-ctr", "hmac-md5"}, {"3des-cbc", "hmac-sha2-256-etm@openssh.com"}} {
		ci, _ := lookupCipher(c[0])
		mi, _ := lookupMAC(c[1])
		key, iv, mk := make([]byte, ci.keyLen), make([]byte, ci.ivLen), make([]byte, mi.keyLen)
		enc, err := newPacketCipher(c[0], c[1], key, iv, mk, true)
		if err != nil {
			t.Fatal(err)
		}
		dec, err := newPacketCipher(c[0], c[1], key, iv, mk, false)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(c[1], "-96") && mi.size != 12 {
			t.Errorf("%s: tag of %d bytes", c[1], mi.size)
		}
		var wire bytes.Buffer
		for seq := range uint32(3) {
			payload := bytes.Repeat([]byte{byte(seq)}, 20+int(seq)*7)
			pkt := frame(payload, enc.align(), enc.aadLength())
			sealed := enc.seal(seq, pkt)
			if len(sealed) != len(pkt)+mi.size {
				t.Fatalf("%s/%s: sealed %d bytes, want %d", c[0], c[1], len(sealed), len(pkt)+mi.size)
			}
			wire.Write(sealed)
			body, _, err := dec.open(seq, &wire, nil)
			if err != nil {
				t.Fatalf("%s/%s: open: %v", c[0], c[1], err)
			}
			if got := body[1 : len(body)-int(body[0])]; !bytes.Equal(got, payload) {
				t.Fatalf("%s/%s: payload %x, want %x", c[0], c[1], got, payload)
			}
		}
	}
}

// frame pads payload into a packet aligned to align (RFC 4253 6).
func frame(payload []byte, align int, aad bool) []byte {
	n := 5 + len(payload)
	if aad {
		n = 1 + len(payload)
	}
	pad := align - n%align
	if pad < minPadding {
		pad += align
	}
	pkt := binary.BigEndian.AppendUint32(nil, uint32(1+len(payload)+pad))
	pkt = append(pkt, byte(pad))
	pkt = append(pkt, payload...)
	return append(pkt, make([]byte, pad)...)
}
