package sshconf

// Algorithm lists of Debian's OpenSSH 9.2p1 client as `ssh -Q` and
// `ssh -G` show them, and the "+", "-" and "^" list editing of
// ssh_config(5) (kex_assemble_names in OpenSSH).

import (
	"errors"
	"strings"
)

type algoSet int

const (
	algoCiphers algoSet = iota + 1
	algoMACs
	algoKex
	algoKeys // host key, pubkey, hostbased and CA signature algorithms
	algoGSSKex
)

const (
	allCiphers = "3des-cbc,aes128-cbc,aes192-cbc,aes256-cbc,aes128-ctr,aes192-ctr,aes256-ctr," +
		"aes128-gcm@openssh.com,aes256-gcm@openssh.com,chacha20-poly1305@openssh.com"
	allMACs = "hmac-sha1,hmac-sha1-96,hmac-sha2-256,hmac-sha2-512,hmac-md5,hmac-md5-96,umac-64@openssh.com," +
		"umac-128@openssh.com,hmac-sha1-etm@openssh.com,hmac-sha1-96-etm@openssh.com,hmac-sha2-256-etm@openssh.com," +
		"hmac-sha2-512-etm@openssh.com,hmac-md5-etm@openssh.com,hmac-md5-96-etm@openssh.com,umac-64-etm@openssh.com," +
		"umac-128-etm@openssh.com"
	allKex = "diffie-hellman-group1-sha1,diffie-hellman-group14-sha1,diffie-hellman-group14-sha256," +
		"diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group-exchange-sha1," +
		"diffie-hellman-group-exchange-sha256,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521," +
		"curve25519-sha256,curve25519-sha256@libssh.org,sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com"
	// allKeys is every key and signature algorithm (ssh -Q key-sig).
	allKeys = "ssh-ed25519,ssh-ed25519-cert-v01@openssh.com,sk-ssh-ed25519@openssh.com," +
		"sk-ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256,ecdsa-sha2-nistp256-cert-v01@openssh.com," +
		"ecdsa-sha2-nistp384,ecdsa-sha2-nistp384-cert-v01@openssh.com,ecdsa-sha2-nistp521," +
		"ecdsa-sha2-nistp521-cert-v01@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com," +
		"sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,webauthn-sk-ecdsa-sha2-nistp256@openssh.com,ssh-dss," +
		"ssh-dss-cert-v01@openssh.com,ssh-rsa,ssh-rsa-cert-v01@openssh.com,rsa-sha2-256," +
		"rsa-sha2-256-cert-v01@openssh.com,rsa-sha2-512,rsa-sha2-512-cert-v01@openssh.com"
	// allSigs is the plain (non-certificate) signature algorithms (ssh -Q sig).
	allSigs = "ssh-ed25519,sk-ssh-ed25519@openssh.com,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384," +
		"ecdsa-sha2-nistp521,sk-ecdsa-sha2-nistp256@openssh.com,webauthn-sk-ecdsa-sha2-nistp256@openssh.com," +
		"ssh-dss,ssh-rsa,rsa-sha2-256,rsa-sha2-512"
	allGSSKex = "gss-gex-sha1-,gss-group1-sha1-,gss-group14-sha1-,gss-group14-sha256-,gss-group16-sha512-," +
		"gss-nistp256-sha256-,gss-curve25519-sha256-"

	defCiphers = "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com," +
		"aes256-gcm@openssh.com"
	defMACs = "umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com," +
		"hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,umac-64@openssh.com,umac-128@openssh.com," +
		"hmac-sha2-256,hmac-sha2-512,hmac-sha1"
	defKex = "sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,curve25519-sha256," +
		"curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521," +
		"diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512," +
		"diffie-hellman-group14-sha256"
	defKeys = "ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256-cert-v01@openssh.com," +
		"ecdsa-sha2-nistp384-cert-v01@openssh.com,ecdsa-sha2-nistp521-cert-v01@openssh.com," +
		"sk-ssh-ed25519-cert-v01@openssh.com,sk-ecdsa-sha2-nistp256-cert-v01@openssh.com," +
		"rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com,ssh-ed25519,ecdsa-sha2-nistp256," +
		"ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com," +
		"rsa-sha2-512,rsa-sha2-256"
	defSigs = "ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521," +
		"sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256"
	defGSSKex = "gss-group14-sha256-,gss-group16-sha512-,gss-nistp256-sha256-,gss-curve25519-sha256-," +
		"gss-group14-sha1-,gss-gex-sha1-"
)

// DefaultAlgorithms returns OpenSSH 9.2's client default for an algorithm
// keyword (ciphers, macs, kexalgorithms, hostkeyalgorithms,
// pubkeyacceptedalgorithms, hostbasedacceptedalgorithms,
// casignaturealgorithms), comma separated; "" for anything else.
func DefaultAlgorithms(keyword string) string {
	switch lower(keyword) {
	case "ciphers":
		return defCiphers
	case "macs":
		return defMACs
	case "kexalgorithms":
		return defKex
	case "hostkeyalgorithms", "pubkeyacceptedalgorithms", "hostbasedacceptedalgorithms":
		return defKeys
	case "casignaturealgorithms":
		return defSigs
	case "gssapikexalgorithms":
		return defGSSKex
	}
	return ""
}

// KnownAlgorithms returns, in ssh(1)'s order, every name OpenSSH 9.2
// knows of a kind: "cipher", "mac", "kex", "kex-gss", "key-sig" (key and
// signature algorithms, certificates included) or "sig" (plain signature
// algorithms); nil for anything else. The client keeps what it can use.
func KnownAlgorithms(kind string) []string {
	var l string
	switch kind {
	case "cipher":
		l = allCiphers
	case "mac":
		l = allMACs
	case "kex":
		l = allKex
	case "kex-gss":
		l = allGSSKex
	case "key-sig":
		l = allKeys
	case "sig":
		l = allSigs
	default:
		return nil
	}
	return strings.Split(l, ",")
}

// validAlgos checks a list as readconf does before storing it: every name
// must be known (key algorithms may use wildcards); a "-" list is not
// checked.
func validAlgos(set algoSet, arg string) bool {
	if set == algoGSSKex {
		return namesIn(arg, allGSSKex, false)
	}
	if strings.HasPrefix(arg, "-") {
		return true
	}
	if strings.HasPrefix(arg, "+") || strings.HasPrefix(arg, "^") {
		arg = arg[1:]
	}
	switch set {
	case algoCiphers:
		return namesIn(arg, allCiphers, false)
	case algoMACs:
		return namesIn(arg, allMACs, false)
	case algoKex:
		return namesIn(arg, allKex, false)
	default:
		return namesIn(arg, allKeys, true)
	}
}

func namesIn(list, all string, wildcard bool) bool {
	if list == "" {
		return false
	}
	for _, n := range strings.Split(list, ",") {
		if n == "" {
			return false
		}
		if wildcard && strings.ContainsAny(n, "*?") {
			continue // sshkey_names_valid2 lets patterns through
		}
		if !contains(all, n) {
			return false
		}
	}
	return true
}

func contains(list, name string) bool {
	for _, n := range strings.Split(list, ",") {
		if n == name {
			return true
		}
	}
	return false
}

var errEmptyAlgos = errors.New("invalid argument")

// assembleAlgos resolves a configured list against defaults and the set of
// supported names, like kex_assemble_names.
func assembleAlgos(list, def, all string) (string, error) {
	if list == "" {
		return def, nil
	}
	switch list[0] {
	case '+':
		list = namesCat(def, list[1:])
	case '-':
		return filterList(def, list[1:], true), nil
	case '^':
		list = namesCat(list[1:], def)
	}
	var ret string
	for _, p := range strings.Split(list, ",") {
		if strings.HasPrefix(p, "!") {
			return "", errEmptyAlgos
		}
		ret = namesCat(ret, filterList(all, p, false))
	}
	if ret == "" {
		return "", errEmptyAlgos
	}
	return ret, nil
}

// namesCat appends the names of b missing from a.
func namesCat(a, b string) string {
	if a == "" {
		return b
	}
	if b == "" {
		return a
	}
	ret := a
	for _, n := range strings.Split(b, ",") {
		if n == "" {
			break
		}
		if contains(ret, n) {
			continue
		}
		ret += "," + n
	}
	return ret
}

// filterList keeps the names of list matching (or, with deny, not
// matching) the pattern list.
func filterList(list, patterns string, deny bool) string {
	var out []string
	for _, n := range strings.Split(list, ",") {
		r := matchPatternList(n, patterns, false)
		if (deny && r != 1) || (!deny && r == 1) {
			out = append(out, n)
		}
	}
	return strings.Join(out, ",")
}
