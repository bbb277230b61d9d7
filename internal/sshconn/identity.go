package sshconn

// Public key identities, gathered in the order of pubkey_prepare() in
// OpenSSH 9.2's sshconnect2.c:
//
//	CertificateFile certificates
//	agent keys, in agent order (a key also named by IdentityFile is taken
//	  from the agent; agent-only keys are skipped with IdentitiesOnly)
//	the remaining IdentityFile keys, each followed by its -cert.pub
//
// then filtered by PubkeyAcceptedAlgorithms, without duplicates.

import (
	"bytes"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// defaultIdentityFiles are OpenSSH 9.2's, as ssh -G prints them.
var defaultIdentityFiles = []string{
	"~/.ssh/id_rsa", "~/.ssh/id_ecdsa", "~/.ssh/id_ecdsa_sk",
	"~/.ssh/id_ed25519", "~/.ssh/id_ed25519_sk", "~/.ssh/id_xmss", "~/.ssh/id_dsa",
}

// identity is one public key we may offer.
type identity struct {
	pub      ssh.PublicKey
	file     string // path, or the agent's comment
	agent    bool   // signed by the agent
	explicit bool   // named by the user (IdentityFile, CertificateFile)
	// For file keys: the private key, parsed now or loaded on demand.
	privFile string
	signer   ssh.Signer
}

func (id *identity) describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s", id.file, keyTypeName(id.pub), ssh.FingerprintSHA256(id.pub))
	if id.explicit {
		b.WriteString(" explicit")
	}
	if id.agent {
		b.WriteString(" agent")
	}
	return b.String()
}

// loadIdentityFile reads one IdentityFile: the key (from the private file,
// or file.pub when the private part is encrypted) and its -cert.pub.
func (a *authBuilder) loadIdentityFile(path string, explicit bool) []*identity {
	data, err := os.ReadFile(path)
	pubOnly, _ := readPublicKey(path + ".pub")
	if err != nil {
		if pubOnly == nil {
			if errors.Is(err, fs.ErrNotExist) && explicit {
				a.out.infof("no such identity: %s: No such file or directory", path)
			} else if explicit {
				a.out.infof("no such identity: %s: %v", path, err)
			} else {
				a.log.Debug3f("no such identity: %s", path)
			}
			return nil
		}
		// Only the public half: usable if the agent holds the key.
		return a.withCert(&identity{pub: pubOnly, file: path, explicit: explicit}, path)
	}
	id := &identity{file: path, explicit: explicit, privFile: path}
	raw, err := ssh.ParseRawPrivateKey(data)
	var missing *ssh.PassphraseMissingError
	switch {
	case err == nil:
		s, err := ssh.NewSignerFromKey(raw)
		if err != nil {
			a.out.errorf("Load key \"%s\": %v", path, err)
			return nil
		}
		id.signer, id.pub = s, s.PublicKey()
	case errors.As(err, &missing):
		id.pub = missing.PublicKey
		if id.pub == nil {
			id.pub = pubOnly
		}
	default:
		// An IdentityFile naming a public key selects an agent key.
		if pk, perr := readPublicKey(path); perr == nil {
			id.pub, id.privFile = pk, ""
			break
		}
		a.out.errorf("Load key \"%s\": invalid format", path)
		return nil
	}
	// A file.pub that holds a certificate for the key makes the identity
	// that certificate, as in ssh(1), which loads the public half first.
	if c, ok := pubOnly.(*ssh.Certificate); ok && id.pub != nil && keysEqual(c.Key, id.pub) {
		id.pub = c
		if id.signer != nil {
			id.signer = certSigner(c, id.signer)
		}
	}
	return a.withCert(id, path)
}

// withCert returns id followed by path-cert.pub, if that holds a
// certificate for id's key.
func (a *authBuilder) withCert(id *identity, path string) []*identity {
	out := []*identity{id}
	pk, err := readPublicKey(path + "-cert.pub")
	if err != nil {
		return out
	}
	cert, ok := pk.(*ssh.Certificate)
	if !ok || (id.pub != nil && !keysEqual(cert.Key, id.pub)) {
		a.log.Debugf("%s-cert.pub: not a certificate for %s", path, path)
		return out
	}
	return append(out, &identity{pub: cert, file: path + "-cert.pub", explicit: id.explicit, privFile: id.privFile, signer: certSigner(cert, id.signer)})
}

func certSigner(cert *ssh.Certificate, s ssh.Signer) ssh.Signer {
	if s == nil {
		return nil
	}
	cs, err := ssh.NewCertSigner(cert, s)
	if err != nil {
		return nil
	}
	return cs
}

func readPublicKey(path string) (ssh.PublicKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pk, _, _, _, err := ssh.ParseAuthorizedKey(data)
	return pk, err
}

// identities gathers what publickey auth offers, in OpenSSH's order.
func (a *authBuilder) identities() []*identity {
	s := a.s
	var files []*identity
	vals := s.h.GetAll("identityfile")
	explicit := len(vals) > 0 && !slices.Equal(vals, defaultIdentityFiles)
	if len(vals) == 0 {
		vals = defaultIdentityFiles
	}
	for _, v := range vals {
		p, err := s.h.Expand(v)
		if err != nil {
			a.out.errorf("expand IdentityFile %q: %v", v, err)
			continue
		}
		files = append(files, a.loadIdentityFile(p, explicit)...)
	}

	var preferred []*identity
	for _, v := range s.h.GetAll("certificatefile") {
		p, err := s.h.Expand(v)
		if err != nil {
			a.out.errorf("expand CertificateFile %q: %v", v, err)
			continue
		}
		pk, err := readPublicKey(p)
		cert, ok := pk.(*ssh.Certificate)
		if err != nil || !ok {
			a.out.infof("no such identity: %s: not a certificate", p)
			continue
		}
		id := &identity{pub: cert, file: p, explicit: true}
		// The private key comes from a file key of the same public key.
		for _, f := range files {
			if keysEqual(f.pub, cert.Key) && f.privFile != "" {
				id.privFile, id.signer = f.privFile, certSigner(cert, f.signer)
				break
			}
		}
		preferred = append(preferred, id)
	}

	for _, as := range a.agentSigners {
		found := false
		for i, f := range files {
			if keysEqual(f.pub, as.PublicKey()) {
				files = slices.Delete(files, i, i+1)
				f.agent, f.signer = true, as
				preferred = append(preferred, f)
				found = true
				break
			}
		}
		if !found && !a.identitiesOnly {
			preferred = append(preferred, &identity{pub: as.PublicKey(), file: a.agentComment(as.PublicKey()), agent: true, signer: as})
		}
	}
	// A certificate file whose private key only the agent holds.
	for _, id := range preferred {
		if c, ok := id.pub.(*ssh.Certificate); ok && id.signer == nil && id.privFile == "" {
			for _, as := range a.agentSigners {
				if keysEqual(as.PublicKey(), c.Key) {
					id.signer, id.agent = certSigner(c, as), true
				}
			}
		}
	}
	all := append(preferred, files...)

	var out []*identity
	for _, id := range all {
		if id.pub == nil && id.privFile == "" {
			continue
		}
		if id.pub != nil && slices.ContainsFunc(out, func(o *identity) bool { return keysEqual(o.pub, id.pub) }) {
			continue
		}
		out = append(out, id)
	}
	return out
}

func (a *authBuilder) agentComment(pk ssh.PublicKey) string {
	for _, k := range a.agentKeys {
		if bytes.Equal(k.Blob, pk.Marshal()) && k.Comment != "" {
			return k.Comment
		}
	}
	return "(agent key)"
}

// lazySigner loads an encrypted private key when the server has accepted
// its public half, asking for the passphrase as load_identity_file() does.
type lazySigner struct {
	a      *authBuilder
	id     *identity
	algos  []string
	loaded ssh.AlgorithmSigner
	failed bool
}

func (l *lazySigner) PublicKey() ssh.PublicKey { return l.id.pub }

func (l *lazySigner) Sign(r io.Reader, data []byte) (*ssh.Signature, error) {
	return l.SignWithAlgorithm(r, data, "")
}

func (l *lazySigner) Algorithms() []string { return l.algos }

// SignWithAlgorithm signs with the loaded key. If the key cannot be loaded
// (no passphrase given, BatchMode) it returns a signature that cannot
// verify: x/crypto/ssh ends publickey auth on a signing error, and this way
// the server refuses this key and the next one is tried, as ssh(1) moves to
// the next identity.
func (l *lazySigner) SignWithAlgorithm(r io.Reader, data []byte, algo string) (*ssh.Signature, error) {
	if l.loaded == nil && !l.failed {
		s, err := l.a.loadPrivate(l.id)
		if err != nil {
			l.a.log.Debugf("%v", err)
			l.failed = true
		} else {
			l.loaded = s
		}
	}
	if l.loaded == nil {
		blob := make([]byte, 64)
		rand.Read(blob)
		if algo == "" {
			algo = l.id.pub.Type()
		}
		return &ssh.Signature{Format: algo, Blob: blob}, nil
	}
	l.a.log.Debugf("Server accepts key: %s", l.id.describe())
	return l.loaded.SignWithAlgorithm(r, data, algo)
}

// errNoPassphrase means the user gave none (or could not be asked).
var errNoPassphrase = errors.New("no passphrase given")

// loadPrivate reads id's private key, asking for the passphrase up to
// NumberOfPasswordPrompts times; an empty answer gives up on the key.
func (a *authBuilder) loadPrivate(id *identity) (ssh.AlgorithmSigner, error) {
	if id.privFile == "" {
		return nil, fmt.Errorf("no private key for %s", id.file)
	}
	data, err := os.ReadFile(id.privFile)
	if err != nil {
		a.out.infof("no such identity: %s: %v", id.privFile, err)
		return nil, err
	}
	var s ssh.Signer
	s, err = ssh.ParsePrivateKey(data)
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) {
		if a.batch || a.prompter == nil {
			return nil, fmt.Errorf("load key %s: %w (no prompts allowed)", id.privFile, errNoPassphrase)
		}
		prompt := fmt.Sprintf("Enter passphrase for key '%s': ", id.privFile)
		for i := 0; i < a.passwordPrompts; i++ {
			pass, perr := a.prompter.Prompt(prompt, false)
			if perr != nil {
				return nil, fmt.Errorf("load key %s: %w", id.privFile, perr)
			}
			if pass == "" {
				a.log.Debug2f("no passphrase given, try next key")
				return nil, fmt.Errorf("load key %s: %w", id.privFile, errNoPassphrase)
			}
			s, err = ssh.ParsePrivateKeyWithPassphrase(data, []byte(pass))
			if !errors.Is(err, x509.IncorrectPasswordError) {
				break
			}
			a.log.Debug2f("bad passphrase given, try again...")
		}
	}
	if err != nil {
		return nil, fmt.Errorf("load key %s: %w", id.privFile, err)
	}
	if c, ok := id.pub.(*ssh.Certificate); ok {
		if s, err = ssh.NewCertSigner(c, s); err != nil {
			return nil, fmt.Errorf("load key %s: %w", id.privFile, err)
		}
	}
	as, ok := s.(ssh.AlgorithmSigner)
	if !ok {
		return nil, fmt.Errorf("load key %s: signer cannot choose algorithms", id.privFile)
	}
	return as, nil
}

// agentSignersFrom lists the agent's keys and signers.
func agentSignersFrom(ag agent.ExtendedAgent) ([]*agent.Key, []ssh.Signer, error) {
	keys, err := ag.List()
	if err != nil {
		return nil, nil, err
	}
	signers, err := ag.Signers()
	return keys, signers, err
}
