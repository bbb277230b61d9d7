package engine

import (
	"crypto/rand"
	"errors"
	"math/big"
)

// agreement is one side of a key agreement carried in one round trip of
// messages 30 and 31 (RFC 4253 8, RFC 5656 4, RFC 8731, the ML-KEM hybrid):
// public values are mpints for finite-field Diffie-Hellman and strings
// otherwise, and K comes back in its wire encoding, ready for the exchange
// hash and key derivation.
type agreement interface {
	mpintPublic() bool
	clientPublic() ([]byte, error)
	serverShared(clientPub []byte) (serverPub, k []byte, err error)
	clientShared(serverPub []byte) (k []byte, err error)
}

var errBadPublic = errors.New("ssh: peer's key exchange value is invalid")

// dhGroup is a finite field group with generator g.
type dhGroup struct {
	p, g *big.Int
}

func groupFromHex(h string) dhGroup {
	p, ok := new(big.Int).SetString(h, 16)
	if !ok {
		panic("bad group constant")
	}
	return dhGroup{p: p, g: big.NewInt(2)}
}

func group1() dhGroup  { return groupFromHex(group1Hex) }
func group14() dhGroup { return groupFromHex(group14Hex) }
func group16() dhGroup { return groupFromHex(group16Hex) }
func group18() dhGroup { return groupFromHex(group18Hex) }

// dhAgreement is finite-field Diffie-Hellman (RFC 4253 8, RFC 8268).
type dhAgreement struct {
	grp dhGroup
	x   *big.Int
}

func newDHAgreement(g dhGroup) agreement { return &dhAgreement{grp: g} }

func (a *dhAgreement) mpintPublic() bool { return true }

// public picks a private exponent and returns g^x mod p. 512 random bits
// is twice the strength of the largest group (RFC 8270's advice).
func (a *dhAgreement) public() ([]byte, error) {
	bits := 512
	if a.grp.p.BitLen() <= 1024 {
		bits = 256
	}
	max := new(big.Int).Lsh(big.NewInt(1), uint(bits))
	for {
		x, err := rand.Int(rand.Reader, max)
		if err != nil {
			return nil, err
		}
		if x.Cmp(big.NewInt(1)) > 0 {
			a.x = x
			break
		}
	}
	return new(big.Int).Exp(a.grp.g, a.x, a.grp.p).Bytes(), nil
}

// shared checks the peer's value is in (1, p-1) and returns K as an mpint.
func (a *dhAgreement) shared(peer []byte) ([]byte, error) {
	y := new(big.Int).SetBytes(peer)
	pm1 := new(big.Int).Sub(a.grp.p, big.NewInt(1))
	if y.Cmp(big.NewInt(1)) <= 0 || y.Cmp(pm1) >= 0 {
		return nil, errBadPublic
	}
	k := new(big.Int).Exp(y, a.x, a.grp.p)
	if k.Cmp(big.NewInt(1)) <= 0 {
		return nil, errBadPublic
	}
	return appendSSHMpint(nil, k), nil
}

func (a *dhAgreement) clientPublic() ([]byte, error) { return a.public() }

func (a *dhAgreement) serverShared(clientPub []byte) ([]byte, []byte, error) {
	pub, err := a.public()
	if err != nil {
		return nil, nil, err
	}
	k, err := a.shared(clientPub)
	return pub, k, err
}

func (a *dhAgreement) clientShared(serverPub []byte) ([]byte, error) { return a.shared(serverPub) }

// Group exchange bounds (RFC 8270: at least 2048 bits; OpenSSH asks for
// at most 8192).
const (
	gexMin = 2048
	gexMax = 8192
)

// gexPreferred is the group size OpenSSH asks for given the largest key,
// IV or MAC length in bytes that the keys must fill.
func gexPreferred(needBytes int) uint32 {
	switch bits := needBytes * 8; {
	case bits <= 112:
		return 2048
	case bits <= 128:
		return 3072
	case bits <= 192:
		return 7680
	}
	return 8192
}

// gexGroupFor is a server's answer to a group request: the smallest of
// its fixed groups within [min, max] of at least n bits, else the largest.
func gexGroupFor(min, n, max uint32) (dhGroup, bool) {
	var best dhGroup
	found := false
	for _, g := range []dhGroup{group14(), group16(), group18()} {
		bits := uint32(g.p.BitLen())
		if bits < min || bits > max {
			continue
		}
		best, found = g, true
		if bits >= n {
			break
		}
	}
	return best, found
}
