package sshconn

// known_hosts reading and matching, as sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT"
// describes it and ssh(1) applies it.
//
// We keep our own small matcher instead of x/crypto/ssh/knownhosts because
// ssh(1) behaves differently in ways users see: a malformed line is skipped
// (x/crypto refuses the whole file), the host name and the IP address are
// looked up separately (CheckHostIP), a certificate that no CA vouches for
// is retried as a plain key, and the debug and warning lines name the
// file:line of the entry that matched. Keys themselves are parsed by
// x/crypto's ssh.ParseKnownHosts; new lines are hashed with its knownhosts
// package.

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/jumpgate/jumpgate/internal/vlog"
)

// Markers of a known_hosts line.
const (
	markerNone    = ""
	markerCA      = "cert-authority"
	markerRevoked = "revoked"
)

// khEntry is one usable known_hosts line.
type khEntry struct {
	File   string
	Line   int
	Marker string
	Hosts  string // the host pattern field, as written
	Key    ssh.PublicKey
}

// knownHosts is the content of every known_hosts file read for a hop.
type knownHosts struct {
	entries []khEntry
}

// parseKnownHostsLine parses one known_hosts line. It returns ok=false for
// blank lines and comments, and an error for a line ssh(1) would skip as
// invalid (unknown marker, bad key).
func parseKnownHostsLine(line []byte) (e khEntry, ok bool, err error) {
	line = bytes.TrimSpace(line)
	if len(line) == 0 || line[0] == '#' {
		return khEntry{}, false, nil
	}
	marker, hosts, key, _, _, err := ssh.ParseKnownHosts(line)
	if err != nil {
		return khEntry{}, false, err
	}
	switch marker {
	case markerNone, markerCA, markerRevoked:
	default:
		return khEntry{}, false, fmt.Errorf("unknown marker @%s", marker)
	}
	h := strings.Join(hosts, ",")
	if h == "" {
		return khEntry{}, false, errors.New("no host pattern")
	}
	return khEntry{Marker: marker, Hosts: h, Key: key}, true, nil
}

// parseKnownHosts reads every valid line of data; invalid lines are
// reported through log at debug2 and skipped, as ssh(1) does.
func parseKnownHosts(data []byte, file string, log *vlog.Logger) []khEntry {
	var out []khEntry
	n := 0
	for len(data) > 0 {
		n++
		var line []byte
		line, data, _ = bytes.Cut(data, []byte("\n"))
		e, ok, err := parseKnownHostsLine(line)
		if err != nil {
			log.Debug2f("%s:%d: invalid known_hosts line: %v", file, n, err)
			continue
		}
		if !ok {
			continue
		}
		e.File, e.Line = file, n
		out = append(out, e)
	}
	return out
}

// readKnownHosts reads files in order; missing files are skipped.
func readKnownHosts(files []string, log *vlog.Logger) *knownHosts {
	kh := &knownHosts{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				log.Debugf("load_hostkeys: fopen %s: %v", f, err)
			}
			continue
		}
		kh.entries = append(kh.entries, parseKnownHosts(data, f, log)...)
	}
	return kh
}

// forHost returns the entries whose host patterns match name (already in
// known_hosts form: "host" or "[host]:port").
func (kh *knownHosts) forHost(name string) []khEntry {
	var out []khEntry
	for _, e := range kh.entries {
		if matchHostField(e.Hosts, name) {
			out = append(out, e)
		}
	}
	return out
}

// withKey returns the non-marker entries holding key, whatever their host.
func (kh *knownHosts) withKey(key ssh.PublicKey) []khEntry {
	var out []khEntry
	for _, e := range kh.entries {
		if e.Marker == markerNone && keysEqual(e.Key, key) {
			out = append(out, e)
		}
	}
	return out
}

// hostStatus is the outcome of looking a key up, as OpenSSH's HostStatus.
type hostStatus int

const (
	hostNew hostStatus = iota
	hostOK
	hostChanged
	hostRevoked
)

// check looks key up among entries (already filtered by host). For a
// certificate it looks for a @cert-authority entry holding the signing
// key; for a plain key for a plain entry holding it. Any other plain key
// for the host makes it hostChanged, whatever its type, as ssh(1) does. A
// @revoked entry for the key (or, for a certificate, its CA) wins.
func check(entries []khEntry, key ssh.PublicKey) (hostStatus, *khEntry) {
	want := markerNone
	cmp := key
	if c, ok := key.(*ssh.Certificate); ok {
		want = markerCA
		cmp = c.SignatureKey
	}
	st := hostNew
	var found *khEntry
	for i := range entries {
		e := &entries[i]
		if e.Marker != want {
			continue
		}
		if keysEqual(e.Key, cmp) {
			st, found = hostOK, e
			break
		}
		if want == markerNone {
			st, found = hostChanged, e
		}
	}
	if isRevoked(entries, key) {
		return hostRevoked, nil
	}
	return st, found
}

// isRevoked reports whether a @revoked entry holds key, or for a
// certificate its plain key or signing CA.
func isRevoked(entries []khEntry, key ssh.PublicKey) bool {
	cands := []ssh.PublicKey{key}
	if c, ok := key.(*ssh.Certificate); ok {
		cands = append(cands, c.Key, c.SignatureKey)
	}
	for _, e := range entries {
		if e.Marker != markerRevoked {
			continue
		}
		for _, k := range cands {
			if keysEqual(e.Key, k) {
				return true
			}
		}
	}
	return false
}

func keysEqual(a, b ssh.PublicKey) bool {
	return a != nil && b != nil && bytes.Equal(a.Marshal(), b.Marshal())
}

// matchHostField reports whether name matches a known_hosts host field: a
// single hashed entry ("|1|salt|hash"), or a comma-separated list of
// patterns with * and ?, where a matching "!pattern" excludes the line.
func matchHostField(field, name string) bool {
	name = strings.ToLower(name)
	positive := false
	for _, p := range strings.Split(field, ",") {
		if strings.HasPrefix(p, "|") {
			if matchHashed(p, name) {
				positive = true
			}
			continue
		}
		neg := strings.HasPrefix(p, "!")
		if neg {
			p = p[1:]
		}
		if !wildcardMatch(strings.ToLower(p), name) {
			continue
		}
		if neg {
			return false
		}
		positive = true
	}
	return positive
}

// matchHashed reports whether name hashes to entry "|1|base64(salt)|base64(hmac)".
func matchHashed(entry, name string) bool {
	parts := strings.Split(entry, "|")
	if len(parts) != 4 || parts[0] != "" || parts[1] != "1" {
		return false
	}
	salt, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil {
		return false
	}
	want, err := base64.StdEncoding.DecodeString(parts[3])
	if err != nil {
		return false
	}
	mac := hmac.New(sha1.New, salt)
	mac.Write([]byte(name))
	return hmac.Equal(mac.Sum(nil), want)
}

// wildcardMatch matches s against a pattern of * and ? (path.Match has
// character classes and escapes that ssh patterns do not).
func wildcardMatch(pat, s string) bool {
	// Iterative matcher with backtracking to the last '*': linear enough
	// for host names and free of recursion blowups on hostile patterns.
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pat) && (pat[p] == '?' || pat[p] == s[i]):
			p++
			i++
		case p < len(pat) && pat[p] == '*':
			star, mark = p, i
			p++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pat) && pat[p] == '*' {
		p++
	}
	return p == len(pat)
}

// knownHostsName is how ssh(1) writes a host in known_hosts: bare for
// port 22, "[host]:port" otherwise.
func knownHostsName(host string, port int) string {
	if port == 22 || port == 0 {
		return host
	}
	return fmt.Sprintf("[%s]:%d", host, port)
}

// keyTypeName is OpenSSH's sshkey_type(): "ED25519", "RSA", "ECDSA-CERT"…
func keyTypeName(k ssh.PublicKey) string {
	suffix := ""
	if c, ok := k.(*ssh.Certificate); ok {
		suffix = "-CERT"
		k = c.Key
	}
	var n string
	switch t := k.Type(); {
	case t == ssh.KeyAlgoED25519:
		n = "ED25519"
	case t == ssh.KeyAlgoRSA:
		n = "RSA"
	case t == "ssh-dss": // ssh.KeyAlgoDSA, deprecated
		n = "DSA"
	case t == ssh.KeyAlgoSKED25519:
		n = "ED25519-SK"
	case t == ssh.KeyAlgoSKECDSA256:
		n = "ECDSA-SK"
	case strings.HasPrefix(t, "ecdsa-sha2-"):
		n = "ECDSA"
	default:
		n = strings.ToUpper(t)
	}
	return n + suffix
}
