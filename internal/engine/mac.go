package engine

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"hash"
	"strings"
)

// macInfo describes a MAC by name (RFC 4253 6.4, RFC 6668, OpenSSH
// PROTOCOL 1.5 for the -etm variants).
type macInfo struct {
	keyLen, size int
	etm          bool
	new          func(key []byte) hash.Hash
	// umac: UMAC (umac.go) with a tag of size bytes, keyed by the
	// sequence number rather than hashing it; new is nil.
	umac bool
}

func lookupMAC(name string) (macInfo, bool) {
	var m macInfo
	base := name
	if len(name) > len("-etm@openssh.com") && name[len(name)-len("-etm@openssh.com"):] == "-etm@openssh.com" {
		base = name[:len(name)-len("-etm@openssh.com")]
		m.etm = true
	}
	switch {
	case base == "umac-64@openssh.com" && !m.etm, base == "umac-64" && m.etm:
		m.keyLen, m.size, m.umac = umacKeyLen, 8, true
		return m, true
	case base == "umac-128@openssh.com" && !m.etm, base == "umac-128" && m.etm:
		m.keyLen, m.size, m.umac = umacKeyLen, 16, true
		return m, true
	}
	switch base {
	case "hmac-sha2-256":
		m.keyLen, m.size = 32, 32
		m.new = func(k []byte) hash.Hash { return hmac.New(sha256.New, k) }
	case "hmac-sha2-512":
		m.keyLen, m.size = 64, 64
		m.new = func(k []byte) hash.Hash { return hmac.New(sha512.New, k) }
	case "hmac-sha1", "hmac-sha1-96":
		m.keyLen, m.size = 20, 20
		m.new = func(k []byte) hash.Hash { return hmac.New(sha1.New, k) }
	case "hmac-md5", "hmac-md5-96":
		m.keyLen, m.size = 16, 16
		m.new = func(k []byte) hash.Hash { return hmac.New(md5.New, k) }
	default:
		return macInfo{}, false
	}
	if strings.HasSuffix(base, "-96") {
		m.size = 12 // RFC 4253 6.4: the first 96 bits of the HMAC
	}
	return m, true
}

// defaultMACs is OpenSSH 9.2's default order.
func defaultMACs() []string {
	return []string{"umac-64-etm@openssh.com", "umac-128-etm@openssh.com",
		"hmac-sha2-256-etm@openssh.com", "hmac-sha2-512-etm@openssh.com",
		"hmac-sha1-etm@openssh.com", "umac-64@openssh.com", "umac-128@openssh.com",
		"hmac-sha2-256", "hmac-sha2-512", "hmac-sha1"}
}

// legacyMACs are those OpenSSH 9.2's client completes when configured to
// but does not offer by default.
func legacyMACs() []string {
	return []string{"hmac-sha1-96", "hmac-md5", "hmac-md5-96", "hmac-sha1-96-etm@openssh.com",
		"hmac-md5-etm@openssh.com", "hmac-md5-96-etm@openssh.com"}
}
