package engine

import (
	"crypto/rand"
	"fmt"
	"slices"
	"strings"

	"golang.org/x/crypto/ssh"
)

// Host key algorithm names map to a key type and a signature format:
// rsa-sha2-256 and -512 (RFC 8332) sign with an ssh-rsa key, and a
// certificate algorithm signs with its underlying key (PROTOCOL.certkeys).
const certSuffix = "-cert-v01@openssh.com"

// hostKeyKeyType is the key type (ssh.PublicKey.Type) that an algorithm
// name needs.
func hostKeyKeyType(alg string) string {
	if base, ok := strings.CutSuffix(alg, certSuffix); ok {
		if base == "rsa-sha2-256" || base == "rsa-sha2-512" {
			base = "ssh-rsa"
		}
		return base + certSuffix
	}
	if alg == "rsa-sha2-256" || alg == "rsa-sha2-512" {
		return "ssh-rsa"
	}
	return alg
}

// hostKeySigFormat is the signature format an algorithm name makes.
func hostKeySigFormat(alg string) string {
	if base, ok := strings.CutSuffix(alg, certSuffix); ok {
		if strings.HasPrefix(base, "sk-") {
			return base + "@openssh.com"
		}
		return base
	}
	return alg
}

// defaultHostKeyAlgs is OpenSSH 9.2's client order.
func defaultHostKeyAlgs() []string {
	return []string{
		"ssh-ed25519-cert-v01@openssh.com", "ecdsa-sha2-nistp256-cert-v01@openssh.com",
		"ecdsa-sha2-nistp384-cert-v01@openssh.com", "ecdsa-sha2-nistp521-cert-v01@openssh.com",
		"sk-ssh-ed25519-cert-v01@openssh.com", "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com",
		"rsa-sha2-512-cert-v01@openssh.com", "rsa-sha2-256-cert-v01@openssh.com",
		"ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
		"sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com",
		"rsa-sha2-512", "rsa-sha2-256",
	}
}

// serverHostKeyAlgs lists what a server's keys can sign, in the order
// of the keys; want, when set, filters and orders them. RSA keys sign
// with SHA-1 (ssh-rsa) only when want names it, as sshd does.
func serverHostKeyAlgs(keys []ssh.Signer, want []string) []string {
	var algs, sha1 []string
	for _, k := range keys {
		t := k.PublicKey().Type()
		switch t {
		case "ssh-rsa", "ssh-rsa" + certSuffix:
			if _, ok := k.(ssh.AlgorithmSigner); !ok {
				continue
			}
			if t == "ssh-rsa" {
				algs = append(algs, "rsa-sha2-512", "rsa-sha2-256")
			} else {
				algs = append(algs, "rsa-sha2-512"+certSuffix, "rsa-sha2-256"+certSuffix)
			}
			sha1 = append(sha1, t)
		case "ssh-dss", "ssh-dss" + certSuffix:
		default:
			algs = append(algs, t)
		}
	}
	if len(want) == 0 {
		return algs
	}
	algs = append(algs, sha1...)
	return slices.DeleteFunc(slices.Clone(want), func(a string) bool { return !slices.Contains(algs, a) })
}

// signHostKey signs the exchange hash with the key for alg.
func signHostKey(keys []ssh.Signer, alg string, h []byte) (blob, sig []byte, err error) {
	kt := hostKeyKeyType(alg)
	for _, k := range keys {
		if k.PublicKey().Type() != kt {
			continue
		}
		var s *ssh.Signature
		if as, ok := k.(ssh.AlgorithmSigner); ok {
			s, err = as.SignWithAlgorithm(rand.Reader, h, hostKeySigFormat(alg))
		} else {
			s, err = k.Sign(rand.Reader, h)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("sign exchange hash with %s: %w", alg, err)
		}
		return k.PublicKey().Marshal(), marshalSignature(s), nil
	}
	return nil, nil, fmt.Errorf("ssh: no host key for %s", alg)
}

func marshalSignature(s *ssh.Signature) []byte {
	b := appendSSHString(nil, []byte(s.Format))
	b = appendSSHString(b, s.Blob)
	return append(b, s.Rest...)
}

func parseSignature(b []byte) (*ssh.Signature, error) {
	r := pktReader{b: b}
	s := &ssh.Signature{Format: string(r.string()), Blob: r.string()}
	if !r.ok() {
		return nil, fmt.Errorf("ssh: malformed host key signature")
	}
	if len(r.b) > 0 {
		s.Rest = r.b
	}
	return s, nil
}

// verifyHostKey parses the server's key, checks it is of the negotiated
// algorithm's type and that it signed h in that algorithm's format.
func verifyHostKey(alg string, blob, sigBlob, h []byte) (ssh.PublicKey, error) {
	// A copy: the key may share its bytes, and blob is in a packet
	// buffer that the next read reuses, but the callback may keep it.
	key, err := ssh.ParsePublicKey(slices.Clone(blob))
	if err != nil {
		return nil, fmt.Errorf("ssh: server's host key: %w", err)
	}
	if key.Type() != hostKeyKeyType(alg) {
		return nil, fmt.Errorf("ssh: server sent a %s host key for %s", key.Type(), alg)
	}
	sig, err := parseSignature(sigBlob)
	if err != nil {
		return nil, err
	}
	if sig.Format != hostKeySigFormat(alg) {
		return nil, fmt.Errorf("ssh: server signed with %s, not %s", sig.Format, hostKeySigFormat(alg))
	}
	if err := key.Verify(h, sig); err != nil {
		return nil, fmt.Errorf("ssh: host key signature: %w", err)
	}
	return key, nil
}
