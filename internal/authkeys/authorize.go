package authkeys

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"golang.org/x/crypto/ssh"
)

// Login is a public key login as authorized_keys and CA files judge it.
type Login struct {
	User string
	// Key is the key offered: a plain key or an *ssh.Certificate.
	Key ssh.PublicKey
	// Addr is the client's address, Host its name ("" when names are not
	// looked up).
	Addr netip.Addr
	Host string
	Now  time.Time
}

// Authorize finds the first entry that lets l in, as sshd's
// auth_check_authkey_line: a plain key needs a line with that key and no
// cert-authority; a certificate needs a cert-authority line with its CA's
// key, and then passes [CheckUserCert] (principals= on the line, or else
// the user's name) with the certificate's options merged into the line's.
// A matching line that refuses (expiry-time, from=, the certificate) is
// reported as a [*LineError] and the search goes on, as sshd's does.
func Authorize(entries []Entry, l Login) (*Entry, *Perms, []error) {
	cert, isCert := l.Key.(*ssh.Certificate)
	want := l.Key
	if isCert {
		want = cert.SignatureKey
	}
	blob := want.Marshal()
	var refusals []error
	for i := range entries {
		e := &entries[i]
		if !bytes.Equal(e.Key.Marshal(), blob) {
			continue
		}
		p, err := Compile(e.Options)
		if err != nil {
			refusals = append(refusals, &LineError{Line: e.Line, Err: err})
			continue
		}
		if p.CertAuthority != isCert {
			continue // a CA's own key does not log in, nor a certificate by a plain line
		}
		if !isCert {
			cert = nil
		}
		perms, err := authorizeLine(p, cert, l)
		if err != nil {
			refusals = append(refusals, &LineError{Line: e.Line, Err: err})
			continue
		}
		return e, perms, refusals
	}
	return nil, nil, refusals
}

func authorizeLine(p *Perms, cert *ssh.Certificate, l Login) (*Perms, error) {
	if p.Expired(l.Now) {
		return nil, fmt.Errorf("entry expired at %s", p.Expiry.Local().Format(time.DateTime))
	}
	if !p.AllowsFrom(l.Addr, l.Host) {
		return nil, fmt.Errorf("from= does not allow %s", l.Addr)
	}
	if cert == nil {
		return p, nil
	}
	names, anyPrincipal := []string{l.User}, true
	if p.HasPrincipals {
		names, anyPrincipal = p.Principals, false
	}
	return authorizeCert(p, cert, names, anyPrincipal, l)
}

// authorizeCert checks cert and merges its options into the line's p.
func authorizeCert(p *Perms, cert *ssh.Certificate, names []string, anyPrincipal bool, l Login) (*Perms, error) {
	if err := CheckUserCert(cert, names, anyPrincipal, l.Now); err != nil {
		return nil, certError(cert, err)
	}
	cp, err := CertPerms(cert)
	if err != nil {
		return nil, certError(cert, err)
	}
	if !cp.AllowsFrom(l.Addr, l.Host) {
		return nil, certError(cert, fmt.Errorf("source-address does not allow %s", l.Addr))
	}
	m, err := p.Merge(cp)
	if err != nil {
		return nil, certError(cert, err)
	}
	return m, nil
}

// certError names the certificate as sshd's "Refusing certificate ID".
func certError(cert *ssh.Certificate, err error) error {
	return fmt.Errorf("certificate ID %q serial %d: %w", cert.KeyId, cert.Serial, err)
}

// ErrUntrustedCA is returned by [AuthorizeCert] for a certificate whose
// CA is not listed; the login may still pass a cert-authority line.
var ErrUntrustedCA = errors.New("CA not listed")

// AuthorizeCert checks a certificate against the CA keys of sshd's
// TrustedUserCAKeys: its CA must be listed and it must name the user
// among its principals (a certificate without principals is refused);
// the certificate's own options give the permissions.
func AuthorizeCert(cas []ssh.PublicKey, l Login) (*Perms, error) {
	cert, ok := l.Key.(*ssh.Certificate)
	if !ok {
		return nil, errors.New("not a certificate")
	}
	blob := cert.SignatureKey.Marshal()
	listed := false
	for _, ca := range cas {
		listed = listed || bytes.Equal(ca.Marshal(), blob)
	}
	if !listed {
		return nil, ErrUntrustedCA
	}
	return authorizeCert(&Perms{}, cert, []string{l.User}, false, l)
}

// ParseCAKeys parses a TrustedUserCAKeys file: one public key per line,
// blank lines and # comments allowed, no options. Bad lines are left out
// and reported as [*LineError]s.
func ParseCAKeys(data []byte) ([]ssh.PublicKey, []error) {
	entries, errs := Parse(data)
	var keys []ssh.PublicKey
	for _, e := range entries {
		if len(e.Options) > 0 {
			errs = append(errs, &LineError{Line: e.Line, Err: errors.New("options are not allowed in a CA keys file")})
			continue
		}
		keys = append(keys, e.Key)
	}
	return keys, errs
}
