package engine

import (
	"crypto"
	"crypto/rand"
	"fmt"
	"slices"
	"strings"
)

// Markers that ride in the key exchange list without being algorithms:
// RFC 8308's ext-info and OpenSSH's strict key exchange (PROTOCOL 1.10).
const (
	extInfoClient = "ext-info-c"
	extInfoServer = "ext-info-s"
	strictClient  = "kex-strict-c-v00@openssh.com"
	strictServer  = "kex-strict-s-v00@openssh.com"
)

// kexInitMsg is SSH_MSG_KEXINIT (RFC 4253 7.1).
type kexInitMsg struct {
	cookie       [16]byte
	kex          []string
	hostKey      []string
	ciphers      [2][]string // client to server, server to client
	macs         [2][]string
	compression  [2][]string
	languages    [2][]string
	firstFollows bool
	reserved     uint32
}

// maxNameList bounds one KEXINIT name-list; OpenSSH's lists are a few
// hundred bytes.
const maxNameList = 4096

func (m *kexInitMsg) marshal() []byte {
	b := []byte{msgKexInit}
	b = append(b, m.cookie[:]...)
	b = appendSSHNameList(b, m.kex)
	b = appendSSHNameList(b, m.hostKey)
	for _, l := range [][2][]string{m.ciphers, m.macs, m.compression, m.languages} {
		b = appendSSHNameList(b, l[0])
		b = appendSSHNameList(b, l[1])
	}
	b = appendSSHBool(b, m.firstFollows)
	return appendSSHUint32(b, m.reserved)
}

// parseKexInit parses a KEXINIT payload, refusing malformed name-lists
// (RFC 4251 5: no empty names, no NUL, US-ASCII).
func parseKexInit(p []byte) (*kexInitMsg, error) {
	r := pktReader{b: p}
	if r.byte() != msgKexInit {
		return nil, fmt.Errorf("ssh: not a KEXINIT")
	}
	m := &kexInitMsg{}
	copy(m.cookie[:], r.bytes(16))
	lists := []*[]string{&m.kex, &m.hostKey, &m.ciphers[0], &m.ciphers[1], &m.macs[0], &m.macs[1],
		&m.compression[0], &m.compression[1], &m.languages[0], &m.languages[1]}
	for _, l := range lists {
		s := r.string()
		if !r.ok() {
			return nil, errShortMessage
		}
		if len(s) > maxNameList {
			return nil, fmt.Errorf("ssh: KEXINIT name-list of %d bytes", len(s))
		}
		if len(s) == 0 {
			continue
		}
		for _, c := range s {
			if c <= ' ' || c >= 0x7f {
				return nil, fmt.Errorf("ssh: KEXINIT name-list has a bad character")
			}
		}
		*l = strings.Split(string(s), ",")
		if slices.Contains(*l, "") {
			return nil, fmt.Errorf("ssh: KEXINIT name-list has an empty name")
		}
	}
	m.firstFollows = r.bool()
	m.reserved = r.uint32()
	if !r.ok() {
		return nil, errShortMessage
	}
	return m, nil
}

// negotiated is what one key exchange chose; index 0 of a pair is client
// to server.
type negotiated struct {
	kex, hostKey string
	cipher       [2]string
	mac          [2]string
	compression  [2]string
	// strict is OpenSSH's strict key exchange, decided by the first KEXINITs.
	strict bool
	// peerExtInfo: the client offered ext-info-c (seen by a server).
	peerExtInfo bool
}

// choose is RFC 4253 7.1's rule: the client's first algorithm the server
// also supports.
func choose(what string, client, server []string) (string, error) {
	for _, c := range client {
		if slices.Contains(server, c) {
			return c, nil
		}
	}
	return "", fmt.Errorf("ssh: no common %s algorithm; client offered %s, server offered %s",
		what, strings.Join(client, ","), strings.Join(server, ","))
}

func negotiate(client, server *kexInitMsg) (*negotiated, error) {
	n := &negotiated{}
	var err error
	kexOf := func(l []string) []string {
		return slices.DeleteFunc(slices.Clone(l), func(s string) bool {
			return s == extInfoClient || s == extInfoServer || s == strictClient || s == strictServer
		})
	}
	if n.kex, err = choose("key exchange", kexOf(client.kex), kexOf(server.kex)); err != nil {
		return nil, err
	}
	if n.hostKey, err = choose("host key", client.hostKey, server.hostKey); err != nil {
		return nil, err
	}
	dir := [2]string{"client to server", "server to client"}
	for d := range 2 {
		if n.cipher[d], err = choose("cipher "+dir[d], client.ciphers[d], server.ciphers[d]); err != nil {
			return nil, err
		}
		if info, _ := lookupCipher(n.cipher[d]); !info.aead {
			if n.mac[d], err = choose("MAC "+dir[d], client.macs[d], server.macs[d]); err != nil {
				return nil, err
			}
		}
		if n.compression[d], err = choose("compression "+dir[d], client.compression[d], server.compression[d]); err != nil {
			return nil, err
		}
	}
	n.strict = slices.Contains(client.kex, strictClient) && slices.Contains(server.kex, strictServer)
	n.peerExtInfo = slices.Contains(client.kex, extInfoClient)
	return n, nil
}

// guessWrong reports whether a peer that sent first_kex_packet_follows
// guessed wrong: its first key exchange or host key algorithm is not the
// one negotiated (RFC 4253 7.1).
func guessWrong(peer *kexInitMsg, n *negotiated) bool {
	return len(peer.kex) == 0 || peer.kex[0] != n.kex || len(peer.hostKey) == 0 || peer.hostKey[0] != n.hostKey
}

// kexAlgo is a key exchange method: its hash and how it agrees on K.
type kexAlgo struct {
	hash crypto.Hash
	// gex is diffie-hellman-group-exchange (RFC 4419); otherwise a single
	// round trip of messages 30 and 31 through agreement.
	gex          bool
	newAgreement func() agreement
}

func lookupKex(name string) (kexAlgo, bool) {
	switch name {
	case "mlkem768x25519-sha256":
		return kexAlgo{hash: crypto.SHA256, newAgreement: func() agreement { return &mlkemAgreement{} }}, true
	case "curve25519-sha256", "curve25519-sha256@libssh.org":
		return kexAlgo{hash: crypto.SHA256, newAgreement: newX25519Agreement}, true
	case "ecdh-sha2-nistp256":
		return kexAlgo{hash: crypto.SHA256, newAgreement: newP256Agreement}, true
	case "ecdh-sha2-nistp384":
		return kexAlgo{hash: crypto.SHA384, newAgreement: newP384Agreement}, true
	case "ecdh-sha2-nistp521":
		return kexAlgo{hash: crypto.SHA512, newAgreement: newP521Agreement}, true
	case "diffie-hellman-group14-sha256":
		return kexAlgo{hash: crypto.SHA256, newAgreement: func() agreement { return newDHAgreement(group14()) }}, true
	case "diffie-hellman-group16-sha512":
		return kexAlgo{hash: crypto.SHA512, newAgreement: func() agreement { return newDHAgreement(group16()) }}, true
	case "diffie-hellman-group18-sha512":
		return kexAlgo{hash: crypto.SHA512, newAgreement: func() agreement { return newDHAgreement(group18()) }}, true
	case "diffie-hellman-group-exchange-sha256":
		return kexAlgo{hash: crypto.SHA256, gex: true}, true
	case "diffie-hellman-group-exchange-sha1":
		return kexAlgo{hash: crypto.SHA1, gex: true}, true
	case "diffie-hellman-group14-sha1":
		return kexAlgo{hash: crypto.SHA1, newAgreement: func() agreement { return newDHAgreement(group14()) }}, true
	case "diffie-hellman-group1-sha1":
		return kexAlgo{hash: crypto.SHA1, newAgreement: func() agreement { return newDHAgreement(group1()) }}, true
	}
	return kexAlgo{}, false
}

// defaultKexes is OpenSSH 9.2's order with mlkem768x25519-sha256 first
// in place of sntrup761x25519-sha512@openssh.com.
func defaultKexes() []string {
	return []string{"mlkem768x25519-sha256", "curve25519-sha256", "curve25519-sha256@libssh.org",
		"ecdh-sha2-nistp256", "ecdh-sha2-nistp384", "ecdh-sha2-nistp521",
		"diffie-hellman-group-exchange-sha256", "diffie-hellman-group16-sha512",
		"diffie-hellman-group18-sha512", "diffie-hellman-group14-sha256"}
}

// legacyKexes are the SHA-1 methods OpenSSH 9.2's client completes when
// configured to but does not offer by default.
func legacyKexes() []string {
	return []string{"diffie-hellman-group14-sha1", "diffie-hellman-group-exchange-sha1",
		"diffie-hellman-group1-sha1"}
}

// keyMaterial derives one key of n bytes (RFC 4253 7.2): HASH(K || H || X
// || session_id), extended by HASH(K || H || K1 || ...) until long enough.
// k is K in its wire encoding.
func keyMaterial(h crypto.Hash, k, exH, sessionID []byte, letter byte, n int) []byte {
	d := h.New()
	d.Write(k)
	d.Write(exH)
	d.Write([]byte{letter})
	d.Write(sessionID)
	out := d.Sum(nil)
	for len(out) < n {
		d.Reset()
		d.Write(k)
		d.Write(exH)
		d.Write(out)
		out = d.Sum(out)
	}
	return out[:n]
}

// directionKeys are one direction's derived keys.
type directionKeys struct {
	iv, key, macKey []byte
}

// deriveKeys derives both directions' keys; index 0 is client to server.
func deriveKeys(h crypto.Hash, n *negotiated, k, exH, sessionID []byte) ([2]directionKeys, error) {
	var out [2]directionKeys
	for d := range 2 {
		ci, ok := lookupCipher(n.cipher[d])
		if !ok {
			return out, fmt.Errorf("ssh: unknown cipher %q", n.cipher[d])
		}
		out[d].iv = keyMaterial(h, k, exH, sessionID, 'A'+byte(d), ci.ivLen)
		out[d].key = keyMaterial(h, k, exH, sessionID, 'C'+byte(d), ci.keyLen)
		if !ci.aead {
			mi, ok := lookupMAC(n.mac[d])
			if !ok {
				return out, fmt.Errorf("ssh: unknown MAC %q", n.mac[d])
			}
			out[d].macKey = keyMaterial(h, k, exH, sessionID, 'E'+byte(d), mi.keyLen)
		}
	}
	return out, nil
}

// newCookie fills a KEXINIT cookie.
func newCookie() (c [16]byte) {
	if _, err := rand.Read(c[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported systems
	}
	return c
}
