package engine

import (
	"crypto/ecdh"
	"crypto/mlkem"
	"crypto/rand"
	"crypto/sha256"
)

// ecdhAgreement is ECDH on a NIST curve (RFC 5656 4) or X25519 (RFC 8731):
// crypto/ecdh refuses points off the curve, the point at infinity and an
// all-zero X25519 result (a low-order peer point).
type ecdhAgreement struct {
	curve ecdh.Curve
	priv  *ecdh.PrivateKey
}

func newX25519Agreement() agreement { return &ecdhAgreement{curve: ecdh.X25519()} }
func newP256Agreement() agreement   { return &ecdhAgreement{curve: ecdh.P256()} }
func newP384Agreement() agreement   { return &ecdhAgreement{curve: ecdh.P384()} }
func newP521Agreement() agreement   { return &ecdhAgreement{curve: ecdh.P521()} }

func (a *ecdhAgreement) mpintPublic() bool { return false }

func (a *ecdhAgreement) clientPublic() ([]byte, error) {
	priv, err := a.curve.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	a.priv = priv
	return priv.PublicKey().Bytes(), nil
}

func (a *ecdhAgreement) secret(peer []byte) ([]byte, error) {
	pub, err := a.curve.NewPublicKey(peer)
	if err != nil {
		return nil, errBadPublic
	}
	s, err := a.priv.ECDH(pub)
	if err != nil {
		return nil, errBadPublic
	}
	return s, nil
}

// shared is K: the shared point's X coordinate (RFC 5656) or the X25519
// output (RFC 8731) as an unsigned mpint.
func (a *ecdhAgreement) shared(peer []byte) ([]byte, error) {
	s, err := a.secret(peer)
	if err != nil {
		return nil, err
	}
	return appendSSHMpintBytes(nil, s), nil
}

func (a *ecdhAgreement) serverShared(clientPub []byte) ([]byte, []byte, error) {
	pub, err := a.clientPublic()
	if err != nil {
		return nil, nil, err
	}
	k, err := a.shared(clientPub)
	return pub, k, err
}

func (a *ecdhAgreement) clientShared(serverPub []byte) ([]byte, error) { return a.shared(serverPub) }

// mlkemAgreement is mlkem768x25519-sha256: the client sends an ML-KEM-768
// encapsulation key and an X25519 key, the server a ciphertext and its
// X25519 key, and K is SHA-256 of the ML-KEM secret then the X25519
// secret, encoded as a string.
type mlkemAgreement struct {
	dk *mlkem.DecapsulationKey768
	x  ecdhAgreement
}

func (a *mlkemAgreement) mpintPublic() bool { return false }

func (a *mlkemAgreement) clientPublic() ([]byte, error) {
	dk, err := mlkem.GenerateKey768()
	if err != nil {
		return nil, err
	}
	a.dk = dk
	a.x.curve = ecdh.X25519()
	xp, err := a.x.clientPublic()
	if err != nil {
		return nil, err
	}
	return append(dk.EncapsulationKey().Bytes(), xp...), nil
}

func hybridK(pq, cl []byte) []byte {
	h := sha256.New()
	h.Write(pq)
	h.Write(cl)
	return appendSSHString(nil, h.Sum(nil))
}

func (a *mlkemAgreement) serverShared(clientPub []byte) ([]byte, []byte, error) {
	if len(clientPub) != mlkem.EncapsulationKeySize768+32 {
		return nil, nil, errBadPublic
	}
	ek, err := mlkem.NewEncapsulationKey768(clientPub[:mlkem.EncapsulationKeySize768])
	if err != nil {
		return nil, nil, errBadPublic
	}
	pq, ct := ek.Encapsulate()
	a.x.curve = ecdh.X25519()
	xp, err := a.x.clientPublic()
	if err != nil {
		return nil, nil, err
	}
	cl, err := a.x.secret(clientPub[mlkem.EncapsulationKeySize768:])
	if err != nil {
		return nil, nil, err
	}
	return append(ct, xp...), hybridK(pq, cl), nil
}

func (a *mlkemAgreement) clientShared(serverPub []byte) ([]byte, error) {
	if len(serverPub) != mlkem.CiphertextSize768+32 {
		return nil, errBadPublic
	}
	pq, err := a.dk.Decapsulate(serverPub[:mlkem.CiphertextSize768])
	if err != nil {
		return nil, errBadPublic
	}
	cl, err := a.x.secret(serverPub[mlkem.CiphertextSize768:])
	if err != nil {
		return nil, err
	}
	return hybridK(pq, cl), nil
}
