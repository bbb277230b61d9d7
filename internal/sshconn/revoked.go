package sshconn

// RevokedHostKeys: a file of revoked keys, either an OpenSSH key
// revocation list (PROTOCOL.krl) or public keys one per line. As in
// ssh(1), a key is refused when it, or a certificate's key, is listed or
// hashed; a certificate also when its CA is revoked, or its serial or key
// ID is, under that CA (or under any CA). A file that cannot be read
// refuses every host.

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"os"
	"strings"

	"golang.org/x/crypto/ssh"
)

// krlMagic opens a KRL.
const krlMagic = "SSHKRL\n\x00"

// KRL section types (PROTOCOL.krl).
const (
	krlCertificates  = 1
	krlExplicitKey   = 2
	krlSHA1          = 3
	krlSignature     = 4
	krlSHA256        = 5
	krlExtension     = 255
	krlSerialList    = 0x20
	krlSerialRange   = 0x21
	krlSerialBitmap  = 0x22
	krlKeyID         = 0x23
	krlCertExtension = 0x39
)

// errKeyRevoked is a key the revocation file lists.
var errKeyRevoked = errors.New("key revoked")

// krlCerts is one certificate section: revocations under one CA (nil:
// any CA).
type krlCerts struct {
	ca      []byte // the CA key's blob; nil for every CA
	serials []uint64
	ranges  [][2]uint64
	bitmaps []krlBitmap
	keyIDs  []string
}

type krlBitmap struct {
	offset uint64
	bits   *big.Int
}

// krl is a parsed key revocation list.
type krl struct {
	certs   []krlCerts
	keys    [][]byte // plain key blobs
	sha1s   [][]byte
	sha256s [][]byte
}

// krlReader reads the SSH wire types of a KRL.
type krlReader struct {
	b   []byte
	err error
}

func (r *krlReader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("truncated or bad %s", what)
	}
}

func (r *krlReader) u64(what string) uint64 {
	if r.err != nil || len(r.b) < 8 {
		r.fail(what)
		return 0
	}
	v := binary.BigEndian.Uint64(r.b)
	r.b = r.b[8:]
	return v
}

func (r *krlReader) u32(what string) uint32 {
	if r.err != nil || len(r.b) < 4 {
		r.fail(what)
		return 0
	}
	v := binary.BigEndian.Uint32(r.b)
	r.b = r.b[4:]
	return v
}

func (r *krlReader) byte1(what string) byte {
	if r.err != nil || len(r.b) < 1 {
		r.fail(what)
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *krlReader) str(what string) []byte {
	n := r.u32(what)
	if r.err != nil || uint64(n) > uint64(len(r.b)) {
		r.fail(what)
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

// parseKRL parses a KRL (the magic included). Signatures, which ssh(1)
// 9.4 and later refuse, and critical extensions make it an error.
func parseKRL(data []byte) (*krl, error) {
	if !bytes.HasPrefix(data, []byte(krlMagic)) {
		return nil, errors.New("not a KRL")
	}
	r := &krlReader{b: data[len(krlMagic):]}
	if v := r.u32("format version"); r.err == nil && v != 1 {
		return nil, fmt.Errorf("unsupported KRL format version %d", v)
	}
	r.u64("version")
	r.u64("date")
	r.u64("flags")
	r.str("reserved")
	r.str("comment")
	k := &krl{}
	for r.err == nil && len(r.b) > 0 {
		typ := r.byte1("section type")
		sec := &krlReader{b: r.str("section")}
		if r.err != nil {
			break
		}
		switch typ {
		case krlCertificates:
			c, err := parseKRLCerts(sec)
			if err != nil {
				return nil, err
			}
			k.certs = append(k.certs, c)
		case krlExplicitKey, krlSHA1, krlSHA256:
			for sec.err == nil && len(sec.b) > 0 {
				v := sec.str("key")
				switch typ {
				case krlExplicitKey:
					k.keys = append(k.keys, v)
				case krlSHA1:
					k.sha1s = append(k.sha1s, v)
				default:
					k.sha256s = append(k.sha256s, v)
				}
			}
		case krlSignature:
			return nil, errors.New("KRL signatures are not supported")
		case krlExtension:
			if err := krlExtensionOK(sec); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("unsupported KRL section %d", typ)
		}
		if sec.err != nil {
			return nil, sec.err
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	return k, nil
}

// krlExtensionOK skips a non-critical extension and refuses a critical one.
func krlExtensionOK(r *krlReader) error {
	name := r.str("extension name")
	critical := r.byte1("extension flag")
	r.str("extension contents")
	if r.err != nil {
		return r.err
	}
	if critical != 0 {
		return fmt.Errorf("unsupported critical KRL extension %q", name)
	}
	return nil
}

func parseKRLCerts(r *krlReader) (krlCerts, error) {
	var c krlCerts
	if ca := r.str("CA key"); len(ca) > 0 {
		c.ca = ca
	}
	r.str("reserved")
	for r.err == nil && len(r.b) > 0 {
		typ := r.byte1("certificate section type")
		sub := &krlReader{b: r.str("certificate section")}
		if r.err != nil {
			break
		}
		switch typ {
		case krlSerialList:
			for sub.err == nil && len(sub.b) > 0 {
				c.serials = append(c.serials, sub.u64("serial"))
			}
		case krlSerialRange:
			lo, hi := sub.u64("serial range"), sub.u64("serial range")
			c.ranges = append(c.ranges, [2]uint64{lo, hi})
		case krlSerialBitmap:
			off := sub.u64("bitmap offset")
			c.bitmaps = append(c.bitmaps, krlBitmap{off, new(big.Int).SetBytes(sub.str("bitmap"))})
		case krlKeyID:
			for sub.err == nil && len(sub.b) > 0 {
				c.keyIDs = append(c.keyIDs, string(sub.str("key ID")))
			}
		case krlCertExtension:
			if err := krlExtensionOK(sub); err != nil {
				return c, err
			}
		default:
			return c, fmt.Errorf("unsupported KRL certificate section %d", typ)
		}
		if sub.err != nil {
			return c, sub.err
		}
	}
	return c, r.err
}

// plainBlob is a key's blob without its certificate.
func plainBlob(k ssh.PublicKey) []byte {
	if c, ok := k.(*ssh.Certificate); ok {
		return c.Key.Marshal()
	}
	return k.Marshal()
}

// keyRevoked reports whether the plain key of k is listed or hashed.
func (k *krl) keyRevoked(key ssh.PublicKey) bool {
	blob := plainBlob(key)
	s1, s256 := sha1.Sum(blob), sha256.Sum256(blob)
	for _, b := range k.keys {
		if bytes.Equal(b, blob) {
			return true
		}
	}
	for _, h := range k.sha1s {
		if bytes.Equal(h, s1[:]) {
			return true
		}
	}
	for _, h := range k.sha256s {
		if bytes.Equal(h, s256[:]) {
			return true
		}
	}
	return false
}

// revoked reports whether k (a key or a certificate) is revoked.
func (k *krl) revoked(key ssh.PublicKey) bool {
	if k.keyRevoked(key) {
		return true
	}
	cert, ok := key.(*ssh.Certificate)
	if !ok {
		return false
	}
	if cert.SignatureKey != nil && k.keyRevoked(cert.SignatureKey) {
		return true
	}
	var ca []byte
	if cert.SignatureKey != nil {
		ca = cert.SignatureKey.Marshal()
	}
	for _, c := range k.certs {
		if c.ca != nil && !bytes.Equal(c.ca, ca) {
			continue
		}
		for _, id := range c.keyIDs {
			if id == cert.KeyId {
				return true
			}
		}
		if c.ca == nil {
			continue // serials mean something under one CA only
		}
		for _, s := range c.serials {
			if s == cert.Serial {
				return true
			}
		}
		for _, rg := range c.ranges {
			if rg[0] <= cert.Serial && cert.Serial <= rg[1] {
				return true
			}
		}
		for _, bm := range c.bitmaps {
			if cert.Serial >= bm.offset && cert.Serial-bm.offset < uint64(bm.bits.BitLen()) && bm.bits.Bit(int(cert.Serial-bm.offset)) == 1 {
				return true
			}
		}
	}
	return false
}

// checkRevoked is ssh(1)'s sshkey_check_revoked: errKeyRevoked when file
// revokes key, another error when it cannot be read or parsed.
func checkRevoked(file string, key ssh.PublicKey) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	if bytes.HasPrefix(data, []byte(krlMagic)) {
		k, err := parseKRL(data)
		if err != nil {
			return err
		}
		if k.revoked(key) {
			return errKeyRevoked
		}
		return nil
	}
	// Public keys, one per line: a key matches on its plain key, and a
	// certificate also on its CA.
	blob := plainBlob(key)
	var ca []byte
	if c, ok := key.(*ssh.Certificate); ok && c.SignatureKey != nil {
		ca = c.SignatureKey.Marshal()
	}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		pk, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
		if err != nil {
			continue
		}
		pb := plainBlob(pk)
		if bytes.Equal(pb, blob) || ca != nil && bytes.Equal(pb, ca) {
			return errKeyRevoked
		}
	}
	return nil
}
