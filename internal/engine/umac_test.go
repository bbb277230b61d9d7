package engine

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"testing"
)

// TestUMACVectors: RFC 4418's test vectors (appendix), key
// "abcdefghijklmnop", nonce "bcdefghi"; UMAC-96's tag is the first 12
// bytes of UMAC-128's, which takes one more iteration.
func TestUMACVectors(t *testing.T) {
	t.Parallel()
	nonce := binary.BigEndian.Uint64([]byte("bcdefghi"))
	for _, tc := range []struct {
		msg          string
		tag64, tag96 string
	}{
		{"", "6E155FAD26900BE1", "32FEDB100C79AD58F07FF764"},
		{strings.Repeat("a", 3), "44B5CB542F220104", "185E4FE905CBA7BD85E4C2DC"},
		{strings.Repeat("a", 1<<10), "26BF2F5D60118BD9", "7A54ABE04AF82D60FB298C3C"},
		{strings.Repeat("a", 1<<15), "27F8EF643B0D118D", "7B136BD911E4B734286EF2BE"},
		{"abc", "D4D7B9F6BD4FBFCF", "883C3D4B97A61976FFCF2323"},
	} {
		u64, err := newUMAC([]byte("abcdefghijklmnop"), 8)
		if err != nil {
			t.Fatal(err)
		}
		u128, err := newUMAC([]byte("abcdefghijklmnop"), 16)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.ToUpper(hex.EncodeToString(u64.tag(nonce, []byte(tc.msg), nil))); got != tc.tag64 {
			t.Errorf("UMAC-64(%d bytes) = %s, want %s", len(tc.msg), got, tc.tag64)
		}
		if got := strings.ToUpper(hex.EncodeToString(u128.tag(nonce, []byte(tc.msg), nil)[:12])); got != tc.tag96 {
			t.Errorf("UMAC-96(%d bytes) = %s, want %s", len(tc.msg), got, tc.tag96)
		}
	}
}

// TestUMACPadPair: the two nonces of a pair share a pad block but not a
// pad; a cached block is not used for another pair.
func TestUMACPadPair(t *testing.T) {
	t.Parallel()
	u, err := newUMAC(bytes.Repeat([]byte{7}, 16), 8)
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("packet")
	a := u.tag(4, msg, nil)
	b := u.tag(5, msg, nil)
	c := u.tag(6, msg, nil)
	if bytes.Equal(a, b) || bytes.Equal(b, c) {
		t.Fatalf("tags repeat across nonces: %x %x %x", a, b, c)
	}
	fresh, _ := newUMAC(bytes.Repeat([]byte{7}, 16), 8)
	if got := fresh.tag(5, msg, nil); !bytes.Equal(got, b) {
		t.Fatalf("tag depends on the previous nonce: %x, then %x", got, b)
	}
}

// BenchmarkPacketMAC: a 32 KiB packet's tag under UMAC and HMAC.
func BenchmarkPacketMAC(b *testing.B) {
	pkt := make([]byte, 32<<10)
	for _, name := range []string{"umac-64-etm@openssh.com", "umac-128-etm@openssh.com", "hmac-sha2-256-etm@openssh.com", "hmac-sha2-512-etm@openssh.com"} {
		b.Run(name, func(b *testing.B) {
			mi, _ := lookupMAC(name)
			c, err := newPacketCipher("aes128-ctr", name, make([]byte, 16), make([]byte, 16), make([]byte, mi.keyLen), true)
			if err != nil {
				b.Fatal(err)
			}
			bc := c.(*blockCipher)
			b.SetBytes(int64(len(pkt)))
			for i := 0; b.Loop(); i++ {
				bc.macOf(uint32(i), pkt)
			}
		})
	}
}
