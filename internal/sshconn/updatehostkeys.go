package sshconn

// UpdateHostKeys (OpenSSH PROTOCOL 2.5): after authentication an OpenSSH
// server lists all its host keys in a hostkeys-00@openssh.com global
// request. When the key of this connection was vouched for by known_hosts,
// the client asks the server to prove it holds the keys it does not know
// yet (hostkeys-prove-00@openssh.com), then rewrites the user's
// known_hosts for this host: the proven keys added, those the server no
// longer has removed. Like ssh(1) (clientloop.c), it leaves known_hosts
// alone when the host's lines are anything but plain (markers, wildcards,
// several names) or a key is also known under another name.

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/jumpgate/jumpgate/internal/sshwire"
	"github.com/jumpgate/jumpgate/internal/vlog"
)

const (
	reqHostKeys      = "hostkeys-00@openssh.com"
	reqHostKeysProve = "hostkeys-prove-00@openssh.com"
	// updateWait bounds how long the end of a session waits for an
	// update under way (the server's proof).
	updateWait = 10 * time.Second
)

// ServeGlobalRequests answers the server's global requests on conn for
// the rest of the connection: hostkeys-00@openssh.com updates known_hosts
// as UpdateHostKeys says, anything else is refused, as ssh(1) does. Call
// it right after the handshake; the returned function, called before
// closing conn, waits for an update already received to finish.
func (c *Client) ServeGlobalRequests(conn sshwire.Conn) (wait func()) {
	if c == nil {
		return func() {}
	}
	reqs := conn.GlobalRequests()
	if reqs == nil {
		return func() {}
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		seen := false
		serve := func(r *sshwire.Request) {
			c.log.Debugf("client_input_global_request: rtype %s want_reply %v", r.Type, r.WantReply)
			if r.Type != reqHostKeys || seen {
				r.Reply(false, nil)
				return
			}
			seen = true
			r.Reply(true, nil)
			c.updateHostKeys(conn, r.Payload)
		}
		for {
			select {
			case r, ok := <-reqs:
				if !ok {
					return
				}
				serve(r)
			case <-stop:
				// What arrived before the session ended is handled; then
				// the rest of the connection's requests are refused.
				for drained := false; !drained; {
					select {
					case r, ok := <-reqs:
						if !ok {
							return
						}
						serve(r)
					default:
						drained = true
					}
				}
				go func() {
					for r := range reqs {
						r.Reply(false, nil)
					}
				}()
				return
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(stop)
			select {
			case <-done:
			case <-time.After(updateWait):
			}
		})
	}
}

// hostKeyUpdate is one update's findings in the user's known_hosts.
type hostKeyUpdate struct {
	host, ip string
	keys     []ssh.PublicKey // the server's keys we may record
	match    []int           // per key: matched the host (1), the address (2)
	old      []ssh.PublicKey // the host's keys the server no longer has
	complex  bool            // a marker, wildcard or list of names for the host
	other    bool            // one of the keys known under another name
}

const (
	matchHost = 1
	matchIP   = 2
)

func (c *Client) updateHostKeys(conn sshwire.Conn, payload []byte) {
	p, log := c.policy, c.log
	if !c.update || p == nil || len(p.userFiles) == 0 {
		return
	}
	if !p.trusted.Load() {
		log.Debugf("client_input_hostkeys: hostkey not known or explicitly trusted: disabling UpdateHostkeys")
		return
	}
	keys, err := c.offeredHostKeys(payload)
	if err != nil {
		log.Errorf("client_input_hostkeys: %v", err)
		return
	}
	if len(keys) == 0 {
		log.Debugf("client_input_hostkeys: server sent no hostkeys")
		return
	}
	u := &hostKeyUpdate{host: p.name(), keys: keys, match: make([]int, len(keys))}
	if ip := p.ipName.Load(); ip != nil {
		u.ip = *ip
	}
	for _, f := range p.userFiles {
		ipShown := u.ip
		if ipShown == "" {
			ipShown = "(none)"
		}
		log.Debugf("client_input_hostkeys: searching %s for %s / %s", f, u.host, ipShown)
		u.find(readKnownHosts([]string{f}, log).entries)
	}
	var fresh []ssh.PublicKey
	for i, k := range u.keys {
		if u.match[i] == 0 {
			fresh = append(fresh, k)
		}
	}
	log.Debug3f("client_input_hostkeys: %d server keys: %d new, %d to remove", len(u.keys), len(fresh), len(u.old))
	switch {
	case len(fresh) == 0 && len(u.old) == 0:
		log.Debugf("client_input_hostkeys: no new or deprecated keys from server")
		return
	case u.complex:
		log.Debugf("client_input_hostkeys: CA/revocation marker, manual host list or wildcard host pattern found, skipping UserKnownHostsFile update")
		return
	case u.other:
		log.Debugf("client_input_hostkeys: host key found matching a different name/address, skipping UserKnownHostsFile update")
		return
	case len(u.old) > 0 && u.oldElsewhere(p.userFiles, log):
		log.Debugf("client_input_hostkeys: key(s) for %s exist under other names; skipping UserKnownHostsFile update", u.host)
		return
	}
	if len(fresh) > 0 {
		proven, ok := proveHostKeys(conn, fresh, log)
		if !ok {
			return
		}
		// Keys whose proof was set aside (an RSA signature with SHA-1)
		// are neither recorded nor kept.
		u.keys = slices.DeleteFunc(u.keys, func(k ssh.PublicKey) bool {
			return slices.ContainsFunc(fresh, func(f ssh.PublicKey) bool { return keysEqual(f, k) }) &&
				!slices.ContainsFunc(proven, func(f ssh.PublicKey) bool { return keysEqual(f, k) })
		})
		for _, k := range proven {
			log.Verbosef("Learned new hostkey: %s %s", keyTypeName(k), p.fingerprint(k))
		}
	}
	for _, k := range u.old {
		log.Verbosef("Deprecating obsolete hostkey: %s %s", keyTypeName(k), p.fingerprint(k))
	}
	for i, f := range p.userFiles {
		if _, err := os.Stat(f); err != nil {
			log.Debugf("update_known_hosts: known hosts file %s does not exist", f)
			continue
		}
		var add []ssh.PublicKey
		if i == 0 {
			add = u.keys
		}
		if err := replaceKnownHosts(f, u.host, u.ip, add, p.hashNew, log); err != nil {
			log.Errorf("update_known_hosts: hostfile_replace_entries failed for %s: %v", f, err)
		}
	}
}

// offeredHostKeys parses hostkeys-00's keys, keeping those ssh(1) would
// record: no certificates, only types HostKeyAlgorithms allows.
func (c *Client) offeredHostKeys(payload []byte) ([]ssh.PublicKey, error) {
	var keys []ssh.PublicKey
	for len(payload) > 0 {
		blob, rest, ok := cutString(payload)
		if !ok {
			return nil, errors.New("parse key: malformed hostkeys message")
		}
		payload = rest
		k, err := ssh.ParsePublicKey(blob)
		if err != nil {
			c.log.Debugf("client_input_hostkeys: convert key: %v", err)
			continue
		}
		c.log.Debug3f("client_input_hostkeys: received %s key %s", keyTypeName(k), c.policy.fingerprint(k))
		if !hostKeyAllowed(k, c.hostKeyAlgs) {
			c.log.Debug3f("client_input_hostkeys: %s key not permitted by HostkeyAlgorithms", k.Type())
			continue
		}
		if _, cert := k.(*ssh.Certificate); cert {
			c.log.Debug3f("client_input_hostkeys: %s key is a certificate; skipping", k.Type())
			continue
		}
		if slices.ContainsFunc(keys, func(o ssh.PublicKey) bool { return keysEqual(o, k) }) {
			return nil, fmt.Errorf("received duplicated %s host key", k.Type())
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// hostKeyAllowed: an RSA key counts when an RSA signature algorithm does.
func hostKeyAllowed(k ssh.PublicKey, algs []string) bool {
	if k.Type() == ssh.KeyAlgoRSA && (slices.Contains(algs, ssh.KeyAlgoRSASHA256) || slices.Contains(algs, ssh.KeyAlgoRSASHA512)) {
		return true
	}
	return slices.Contains(algs, k.Type())
}

func (u *hostKeyUpdate) index(k ssh.PublicKey) int {
	return slices.IndexFunc(u.keys, func(o ssh.PublicKey) bool { return keysEqual(o, k) })
}

// find is hostkeys_find over one file's entries.
func (u *hostKeyUpdate) find(entries []khEntry) {
	for _, e := range entries {
		m := 0
		if matchHostField(e.Hosts, u.host) {
			m |= matchHost
		}
		if u.ip != "" && matchHostField(e.Hosts, u.ip) {
			m |= matchIP
		}
		if m == 0 {
			if u.index(e.Key) >= 0 {
				u.other = true
			}
			continue
		}
		if e.Marker != markerNone {
			u.complex = true
			continue
		}
		if u.ip != "" && strings.Contains(e.Hosts, ",") {
			if m&matchHost == 0 {
				u.other = true
				continue
			}
			if m&matchIP == 0 {
				u.other = true
			}
		}
		if hostSpecComplex(e.Hosts) {
			u.complex = true
			continue
		}
		if i := u.index(e.Key); i >= 0 {
			u.match[i] |= m
			continue
		}
		if !slices.ContainsFunc(u.old, func(o ssh.PublicKey) bool { return keysEqual(o, e.Key) }) {
			u.old = append(u.old, e.Key)
		}
	}
}

// hostSpecComplex: wildcards, or more than a name and an address.
func hostSpecComplex(hosts string) bool {
	return strings.ContainsAny(hosts, "*?") || strings.Count(hosts, ",") > 1
}

// oldElsewhere reports whether a key to remove is also known under a
// name other than this host's, which ssh(1) will not untangle.
func (u *hostKeyUpdate) oldElsewhere(files []string, log *vlog.Logger) bool {
	for _, e := range readKnownHosts(files, log).entries {
		if matchHostField(e.Hosts, u.host) || (u.ip != "" && matchHostField(e.Hosts, u.ip)) {
			continue
		}
		if slices.ContainsFunc(u.old, func(o ssh.PublicKey) bool { return keysEqual(o, e.Key) }) {
			return true
		}
	}
	return false
}

// proveHostKeys asks the server to sign the session identifier with each
// of keys and returns those it proved. An RSA key signed with SHA-1 is
// set aside, as ssh(1) does, unless the key exchange itself used ssh-rsa.
// A failed proof is logged and proves nothing.
func proveHostKeys(conn sshwire.Conn, keys []ssh.PublicKey, log *vlog.Logger) ([]ssh.PublicKey, bool) {
	log.Debug3f("client_input_hostkeys: asking server to prove ownership for %d keys", len(keys))
	var req []byte
	for _, k := range keys {
		req = appendString(req, k.Marshal())
	}
	ctx, cancel := context.WithTimeout(context.Background(), updateWait)
	defer cancel()
	ok, reply, err := conn.SendRequest(ctx, reqHostKeysProve, true, req)
	if err != nil || !ok {
		log.Errorf("Server failed to confirm ownership of private host keys")
		return nil, false
	}
	kexAlg := conn.Algorithms().HostKey
	var proven []ssh.PublicKey
	for i, k := range keys {
		blob, rest, ok := cutString(reply)
		if !ok {
			log.Errorf("client_global_hostkeys_prove_confirm: parse sig: malformed reply")
			return nil, false
		}
		reply = rest
		sig, err := parseSignature(blob)
		if err != nil {
			log.Errorf("client_global_hostkeys_prove_confirm: server gave unintelligible signature for %s key %d", keyTypeName(k), i)
			return nil, false
		}
		if k.Type() == ssh.KeyAlgoRSA {
			want := []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256}
			if strings.HasPrefix(kexAlg, "rsa-sha2-") {
				want = []string{kexAlg}
			}
			if !slices.Contains(want, sig.Format) {
				log.Debugf("client_global_hostkeys_prove_confirm: server used untrusted RSA signature algorithm %s for key %d, disregarding", sig.Format, i)
				continue
			}
		}
		data := appendString(nil, []byte(reqHostKeysProve))
		data = appendString(data, conn.SessionID())
		data = appendString(data, k.Marshal())
		if err := k.Verify(data, sig); err != nil {
			log.Errorf("client_global_hostkeys_prove_confirm: server gave bad signature for %s key %d", keyTypeName(k), i)
			return nil, false
		}
		proven = append(proven, k)
	}
	if len(reply) != 0 {
		log.Errorf("client_global_hostkeys_prove_confirm: protocol error")
		return nil, false
	}
	return proven, true
}

// cutString splits an SSH string off the front of b.
func cutString(b []byte) (s, rest []byte, ok bool) {
	if len(b) < 4 {
		return nil, nil, false
	}
	n := binary.BigEndian.Uint32(b)
	if uint64(n) > uint64(len(b)-4) {
		return nil, nil, false
	}
	return b[4 : 4+n], b[4+n:], true
}

// parseSignature parses an SSH signature blob: its format, then the
// signature (RFC 4253 6.6); the trailing fields of security-key
// signatures go in Rest.
func parseSignature(b []byte) (*ssh.Signature, error) {
	format, rest, ok := cutString(b)
	if !ok {
		return nil, errors.New("malformed signature")
	}
	blob, rest, ok := cutString(rest)
	if !ok {
		return nil, errors.New("malformed signature")
	}
	return &ssh.Signature{Format: string(format), Blob: blob, Rest: rest}, nil
}

// replaceKnownHosts is hostfile_replace_entries: in file, drop this
// host's plain lines whose key is not in keys, keep every other line,
// and append the keys not yet recorded for the host (and address). The
// file is replaced whole, its previous content kept as file.old.
func replaceKnownHosts(file, host, ip string, keys []ssh.PublicKey, hash bool, log *vlog.Logger) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	st, err := os.Stat(file)
	if err != nil {
		return err
	}
	matched := make([]int, len(keys))
	var out bytes.Buffer
	modified := false
	n := 0
	for rest := data; len(rest) > 0; {
		var line []byte
		line, rest, _ = bytes.Cut(rest, []byte("\n"))
		n++
		e, ok, err := parseKnownHostsLine(line)
		m := 0
		if ok && err == nil {
			if matchHostField(e.Hosts, host) {
				m |= matchHost
			}
			if ip != "" && matchHostField(e.Hosts, ip) {
				m |= matchIP
			}
		}
		if m != 0 && e.Marker == markerNone {
			i := slices.IndexFunc(keys, func(k ssh.PublicKey) bool { return keysEqual(k, e.Key) })
			if i < 0 {
				log.Debugf("%s:%d: Removed %s key for host %s", file, n, keyTypeName(e.Key), host)
				modified = true
				continue
			}
			matched[i] |= m
		}
		out.Write(line)
		out.WriteByte('\n')
	}
	want := matchHost
	if ip != "" {
		want |= matchIP
	}
	for i, k := range keys {
		var names []string
		switch matched[i] & want {
		case want:
			continue
		case 0:
			names = append(names, strings.ToLower(host))
			if ip != "" {
				names = append(names, ip)
			}
		case matchHost:
			names = append(names, ip)
		case matchIP:
			names = append(names, strings.ToLower(host))
		}
		keyText := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k)))
		if hash {
			for _, name := range names {
				fmt.Fprintf(&out, "%s %s\n", knownhosts.HashHostname(name), keyText)
			}
		} else {
			fmt.Fprintf(&out, "%s %s\n", strings.Join(names, ","), keyText)
		}
		modified = true
	}
	if !modified {
		log.Debug3f("hostfile_replace_entries: no changes to %s", file)
		return nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(file), filepath.Base(file)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(st.Mode().Perm() & 0o644); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(out.Bytes()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	back := file + ".old"
	os.Remove(back)
	if err := os.Link(file, back); err != nil {
		log.Debugf("hostfile_replace_entries: link %s to %s: %v", file, back, err)
	}
	return os.Rename(tmp.Name(), file)
}
