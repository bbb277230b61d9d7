package engine

// UMAC (RFC 4418) with AES-128, as OpenSSH's umac-64@openssh.com and
// umac-128@openssh.com use it (and their -etm variants): the tag is UHASH
// of the packet xored with a pad that AES makes from the 64-bit sequence
// number. OpenSSH lists them first among its MACs, and the size of the
// Diffie-Hellman group a client asks for follows the MAC's key length.

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"math/bits"
)

const (
	umacKeyLen = 16
	// l1Block is L1-HASH's chunk: NH hashes 1024 bytes under 256 key words.
	l1Block = 1024
	// p64 and p36 are the primes of POLY and L3-HASH: 2^64-59, 2^36-5.
	p64 = 1<<64 - 59
	p36 = 1<<36 - 5
)

// umacIter is one of UHASH's independent iterations' keys: each adds 32
// bits to the tag.
type umacIter struct {
	nh   []uint32 // L1: 256 words, a window 4 words on per iteration
	poly uint64   // L2: k64, masked
	l3   [8]uint64
	l3x  uint32
}

type umac struct {
	tagLen int
	iters  []umacIter
	pdf    cipher.Block
	// The last pad's block, which serves two nonces for 64-bit tags.
	padNonce uint64
	pad      [16]byte
	padOK    bool
	block    [16]byte
	words    []uint64 // L1's output per chunk, reused
}

// umacKDF is RFC 4418 3.2.1: AES in counter mode under the key, the
// counter block the index then the block number, both 64-bit.
func umacKDF(blk cipher.Block, index uint64, n int) []byte {
	out := make([]byte, 0, (n+15)/16*16)
	var in, b [16]byte
	binary.BigEndian.PutUint64(in[:8], index)
	for i := uint64(1); len(out) < n; i++ {
		binary.BigEndian.PutUint64(in[8:], i)
		blk.Encrypt(b[:], in[:])
		out = append(out, b[:]...)
	}
	return out[:n]
}

// newUMAC makes a UMAC of tagLen 8 or 16 bytes under a 16-byte key.
func newUMAC(key []byte, tagLen int) (*umac, error) {
	blk, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	iters := tagLen / 4
	u := &umac{tagLen: tagLen, iters: make([]umacIter, iters)}
	if u.pdf, err = aes.NewCipher(umacKDF(blk, 0, umacKeyLen)); err != nil {
		return nil, err
	}
	l1 := umacKDF(blk, 1, l1Block+(iters-1)*16)
	l2 := umacKDF(blk, 2, iters*24)
	l3 := umacKDF(blk, 3, iters*64)
	l3x := umacKDF(blk, 4, iters*4)
	nh := make([]uint32, len(l1)/4)
	for i := range nh {
		nh[i] = binary.BigEndian.Uint32(l1[4*i:])
	}
	for i := range u.iters {
		it := &u.iters[i]
		it.nh = nh[4*i : 4*i+l1Block/4]
		it.poly = binary.BigEndian.Uint64(l2[24*i:]) & 0x01ffffff01ffffff
		for j := range it.l3 {
			it.l3[j] = binary.BigEndian.Uint64(l3[64*i+8*j:]) % p36
		}
		it.l3x = binary.BigEndian.Uint32(l3x[4*i:])
	}
	return u, nil
}

// tag appends the tag of msg under the nonce to out.
func (u *umac) tag(nonce uint64, msg, out []byte) []byte {
	start := len(out)
	for i := range u.iters {
		out = binary.BigEndian.AppendUint32(out, u.uhash(&u.iters[i], msg))
	}
	pad := u.padFor(nonce)
	for i := range u.tagLen {
		out[start+i] ^= pad[i]
	}
	return out
}

// padFor is RFC 4418's PDF: a 64-bit tag takes half of the block of the
// nonce with its low bit cleared, as the other nonce of the pair does.
func (u *umac) padFor(nonce uint64) []byte {
	index := 0
	n := nonce
	if u.tagLen == 8 {
		index = int(nonce & 1)
		n &^= 1
	}
	if !u.padOK || u.padNonce != n {
		binary.BigEndian.PutUint64(u.block[:8], n)
		clear(u.block[8:])
		u.pdf.Encrypt(u.pad[:], u.block[:])
		u.padNonce, u.padOK = n, true
	}
	return u.pad[index*u.tagLen : (index+1)*u.tagLen]
}

// uhash is one iteration of UHASH: L1 (NH per 1024-byte chunk), L2 (a
// polynomial over the chunks' hashes, for messages longer than one), L3.
func (u *umac) uhash(it *umacIter, msg []byte) uint32 {
	u.words = u.words[:0]
	rest := msg
	for len(rest) > l1Block {
		u.words = append(u.words, nh(it.nh, rest[:l1Block])+8*l1Block)
		rest = rest[l1Block:]
	}
	// The last chunk, zero-padded to a positive multiple of 32 bytes: NH
	// adds up 32-byte groups, so the whole ones are hashed in place.
	n := len(rest)
	full := n &^ 31
	y := nh(it.nh, rest[:full])
	if n == 0 || n > full {
		var tail [32]byte
		copy(tail[:], rest[full:])
		y += nh(it.nh[full/4:], tail[:])
	}
	u.words = append(u.words, y+uint64(8*n))
	v := u.words[0]
	if len(msg) > l1Block {
		v = poly64(it.poly, u.words)
	}
	return l3Hash(it, v)
}

// nh is RFC 4418's NH over a multiple of 32 bytes, the message's words
// little-endian.
func nh(key []uint32, m []byte) uint64 {
	var y uint64
	for i := 0; len(m) >= 32; i, m = i+8, m[32:] {
		k := key[i : i+8 : i+8]
		m0 := binary.LittleEndian.Uint32(m[0:])
		m1 := binary.LittleEndian.Uint32(m[4:])
		m2 := binary.LittleEndian.Uint32(m[8:])
		m3 := binary.LittleEndian.Uint32(m[12:])
		m4 := binary.LittleEndian.Uint32(m[16:])
		m5 := binary.LittleEndian.Uint32(m[20:])
		m6 := binary.LittleEndian.Uint32(m[24:])
		m7 := binary.LittleEndian.Uint32(m[28:])
		y += uint64(m0+k[0]) * uint64(m4+k[4])
		y += uint64(m1+k[1]) * uint64(m5+k[5])
		y += uint64(m2+k[2]) * uint64(m6+k[6])
		y += uint64(m3+k[3]) * uint64(m7+k[7])
	}
	return y
}

// poly64 is POLY(64, 2^64-2^32, k, words) of RFC 4418 5.3.2. Messages of
// more than 2^17 chunks (16 MiB) would continue with a 128-bit
// polynomial; SSH packets are far smaller.
func poly64(k uint64, words []uint64) uint64 {
	const maxWord = 1<<64 - 1<<32
	y := uint64(1)
	for _, m := range words {
		if m >= maxWord {
			y = mulAddMod(y, k, p64-1)
			m -= 1<<64 - p64
		}
		y = mulAddMod(y, k, m)
	}
	return y
}

// mulAddMod is (y*k + m) mod p64, for k below 2^57.
func mulAddMod(y, k, m uint64) uint64 {
	hi, lo := bits.Mul64(y, k)
	_, r := bits.Div64(hi, lo, p64)
	s, carry := bits.Add64(r, m, 0)
	if carry != 0 || s >= p64 {
		s -= p64
	}
	return s
}

// l3Hash is L3-HASH of the 128-bit value whose high half is zero and low
// half v (what L1 or L2 gave): the inner product of its 16-bit words with
// the key mod 2^36-5, truncated to 32 bits, xored with the second key.
func l3Hash(it *umacIter, v uint64) uint32 {
	var y uint64
	for j := range 4 {
		y += (v >> (48 - 16*j) & 0xffff) * it.l3[4+j]
	}
	return uint32(y%p36) ^ it.l3x
}
