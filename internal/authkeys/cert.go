package authkeys

// User certificates (OpenSSH PROTOCOL.certkeys) as sshd judges them: the
// certificate itself (type, validity, principals, CA signature), then its
// critical options and extensions turned into Perms and merged with the
// options of the line that trusts its CA.

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// caSignatureAlgorithms are sshd's default CASignatureAlgorithms: a CA
// signature made with SHA-1 (ssh-rsa) is refused.
var caSignatureAlgorithms = []string{
	ssh.KeyAlgoED25519, ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521,
	ssh.KeyAlgoSKED25519, ssh.KeyAlgoSKECDSA256, ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256,
}

// CheckUserCert checks cert as sshd's sshkey_cert_check_authority does for
// a user login at now: a user certificate, valid at now, naming one of
// names among its principals, and signed by its CA with an algorithm sshd
// accepts by default. A certificate naming no principals is refused unless
// anyPrincipal (an authorized_keys cert-authority line without principals=,
// where sshd takes it as valid for every user).
func CheckUserCert(cert *ssh.Certificate, names []string, anyPrincipal bool, now time.Time) error {
	if cert.CertType != ssh.UserCert {
		return errors.New("certificate invalid: not a user certificate")
	}
	t := now.Unix()
	if int64(cert.ValidAfter) < 0 || t < int64(cert.ValidAfter) {
		return errors.New("certificate invalid: not yet valid")
	}
	if cert.ValidBefore != ssh.CertTimeInfinity && (int64(cert.ValidBefore) < 0 || t >= int64(cert.ValidBefore)) {
		return errors.New("certificate invalid: expired")
	}
	principal := ""
	switch {
	case len(cert.ValidPrincipals) == 0:
		if !anyPrincipal {
			return errors.New("certificate lacks principal list")
		}
	default:
		i := slices.IndexFunc(cert.ValidPrincipals, func(p string) bool { return slices.Contains(names, p) })
		if i < 0 {
			return errors.New("certificate does not contain an authorized principal")
		}
		principal = cert.ValidPrincipals[i]
	}
	if cert.Signature == nil || !slices.Contains(caSignatureAlgorithms, cert.Signature.Format) {
		format := "none"
		if cert.Signature != nil {
			format = cert.Signature.Format
		}
		return fmt.Errorf("certificate signature algorithm %s not in CASignatureAlgorithms", format)
	}
	return verifyCertSignature(cert, principal, now)
}

// verifyCertSignature checks the CA's signature. x/crypto's CheckCert does
// it (and knows that a security-key CA signs without user presence) but
// needs a principal; a certificate without one is checked here against the
// bytes it signs: everything before the signature, its last field.
func verifyCertSignature(cert *ssh.Certificate, principal string, now time.Time) error {
	if principal != "" {
		checker := ssh.CertChecker{
			SupportedCriticalOptions: criticalNames(cert),
			Clock:                    func() time.Time { return now },
		}
		if err := checker.CheckCert(principal, cert); err != nil {
			return fmt.Errorf("certificate invalid: %w", err)
		}
		return nil
	}
	unsigned := *cert
	unsigned.Signature = nil
	data := unsigned.Marshal()
	data = data[:len(data)-4] // the empty signature's length
	if err := cert.SignatureKey.Verify(data, cert.Signature); err != nil {
		return errors.New("certificate invalid: signature does not verify")
	}
	return nil
}

// criticalNames lets CheckCert pass every critical option: CertPerms
// decides which are honoured.
func criticalNames(cert *ssh.Certificate) []string {
	return slices.Collect(maps.Keys(cert.CriticalOptions))
}

// CertPerms turns a certificate's critical options and extensions into
// Perms, as sshd's sshauthopt_from_cert: force-command and source-address
// are honoured, any other critical option refuses the certificate (sshd
// also knows verify-required, for security keys, which we cannot check);
// each permit-* extension absent turns its permission off; unknown
// extensions are ignored.
func CertPerms(cert *ssh.Certificate) (*Perms, error) {
	p := &Perms{NoPTY: true, NoPortForwarding: true, NoAgentForwarding: true, NoX11Forwarding: true, NoUserRC: true}
	for _, name := range slices.Sorted(maps.Keys(cert.CriticalOptions)) {
		v := cert.CriticalOptions[name]
		switch name {
		case "force-command":
			p.Command, p.HasCommand = v, true
		case "source-address":
			list := strings.Split(v, ",")
			for _, e := range list {
				if _, err := parseAddrOrPrefix(e); err != nil {
					return nil, fmt.Errorf("certificate source-address %q invalid", v)
				}
			}
			p.SourceAddress = list
		default:
			return nil, fmt.Errorf("certificate critical option %q is not supported", name)
		}
	}
	for name := range cert.Extensions {
		switch name {
		case "permit-pty":
			p.NoPTY = false
		case "permit-port-forwarding":
			p.NoPortForwarding = false
		case "permit-agent-forwarding":
			p.NoAgentForwarding = false
		case "permit-X11-forwarding":
			p.NoX11Forwarding = false
		case "permit-user-rc":
			p.NoUserRC = false
		}
	}
	return p, nil
}

// Merge combines the options of a line (p) with those of a certificate
// (c), as sshd's sshauthopt_merge: a permission needs both, the earliest
// expiry counts, lists come from the line unless it has none, and two
// different forced commands refuse the login.
func (p *Perms) Merge(c *Perms) (*Perms, error) {
	m := *p
	m.NoPTY = p.NoPTY || c.NoPTY
	m.NoPortForwarding = p.NoPortForwarding || c.NoPortForwarding
	m.NoAgentForwarding = p.NoAgentForwarding || c.NoAgentForwarding
	m.NoX11Forwarding = p.NoX11Forwarding || c.NoX11Forwarding
	m.NoUserRC = p.NoUserRC || c.NoUserRC
	if !c.Expiry.IsZero() && (m.Expiry.IsZero() || c.Expiry.Before(m.Expiry)) {
		m.Expiry = c.Expiry
	}
	if len(m.SourceAddress) == 0 {
		m.SourceAddress = c.SourceAddress
	}
	if len(m.From) == 0 {
		m.From = c.From
	}
	if len(m.Environment) == 0 {
		m.Environment = c.Environment
	}
	if len(m.PermitOpen) == 0 {
		m.PermitOpen = c.PermitOpen
	}
	if len(m.PermitListen) == 0 {
		m.PermitListen = c.PermitListen
	}
	switch {
	case p.HasCommand && c.HasCommand && p.Command != c.Command:
		return nil, errors.New("forced command options do not match")
	case c.HasCommand:
		m.Command, m.HasCommand = c.Command, true
	}
	return &m, nil
}
