package sshconn

import (
	"slices"
	"strings"

	"github.com/jumpgate/jumpgate/internal/engine"
	"github.com/jumpgate/jumpgate/internal/sshconf"
	"github.com/jumpgate/jumpgate/internal/sshwire"
)

// negotiable is every algorithm the transport completes when asked for
// it, secure or not: what a configured list is filtered against.
func negotiable() sshwire.AlgorithmList { return engine.SupportedAlgorithms() }

// sigOnly names signature algorithms that are not key types: an RSA key
// signs as rsa-sha2-256 but ssh-keygen -t knows only ssh-rsa.
var sigOnly = []string{"rsa-sha2-256", "rsa-sha2-512", "rsa-sha2-256-cert-v01@openssh.com",
	"rsa-sha2-512-cert-v01@openssh.com", "webauthn-sk-ecdsa-sha2-nistp256@openssh.com"}

// keySigQueries are the keyword forms ssh(1) answers with key-sig
// (case-insensitive, as ssh(1) compares them).
var keySigQueries = []string{"CASignatureAlgorithms", "PubkeyAcceptedAlgorithms", "PubkeyAcceptedKeyTypes",
	"HostKeyAlgorithms", "HostbasedKeyTypes", "HostbasedAcceptedKeyTypes", "HostbasedAcceptedAlgorithms"}

// Query answers `ssh -Q what` as ssh(1) 9.2 does, listing only what this
// client completes, in ssh(1)'s order; false for a query ssh(1) does not
// know. Short names are case-sensitive and keyword forms are not, as in
// ssh(1).
func Query(what string) ([]string, bool) {
	n := negotiable()
	keep := func(kind string, usable []string, ok func(string) bool) []string {
		var out []string
		for _, a := range sshconf.KnownAlgorithms(kind) {
			if slices.Contains(usable, a) && (ok == nil || ok(a)) {
				out = append(out, a)
			}
		}
		return out
	}
	isCert := func(a string) bool { return strings.Contains(a, "-cert-v01@") }
	isKeyType := func(a string) bool { return !slices.Contains(sigOnly, a) }
	fold := func(names ...string) bool {
		return slices.ContainsFunc(names, func(s string) bool { return strings.EqualFold(s, what) })
	}
	switch {
	case what == "cipher" || fold("Ciphers"):
		return keep("cipher", n.Ciphers, nil), true
	case what == "cipher-auth":
		return keep("cipher", n.Ciphers, func(a string) bool {
			return strings.Contains(a, "-gcm@") || strings.HasPrefix(a, "chacha20-poly1305@")
		}), true
	case what == "mac" || fold("MACs"):
		return keep("mac", n.MACs, nil), true
	case what == "kex" || fold("KexAlgorithms"):
		return keep("kex", n.KeyExchanges, nil), true
	case what == "kex-gss":
		return []string{}, true // no GSSAPI key exchange
	case what == "key":
		return keep("key-sig", n.HostKeys, isKeyType), true
	case what == "key-cert":
		return keep("key-sig", n.HostKeys, func(a string) bool { return isKeyType(a) && isCert(a) }), true
	case what == "key-plain":
		return keep("key-sig", n.HostKeys, func(a string) bool { return isKeyType(a) && !isCert(a) }), true
	case what == "key-sig" || fold(keySigQueries...):
		return keep("key-sig", n.HostKeys, nil), true
	case what == "sig":
		return keep("sig", n.HostKeys, nil), true
	case what == "protocol-version":
		return []string{"2"}, true
	case what == "compression":
		return n.Compressions, true
	case what == "help":
		return []string{"cipher", "cipher-auth", "compression", "kex", "kex-gss", "key", "key-cert",
			"key-plain", "key-sig", "mac", "protocol-version", "sig"}, true
	}
	return nil, false
}
