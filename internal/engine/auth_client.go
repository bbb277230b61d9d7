package engine

// The client side of user authentication (RFC 4252, RFC 4256): "none"
// first to learn what the server allows, then the configured methods in
// order (or as AuthCallback picks them) until one succeeds or none is
// left.

import (
	"crypto/rand"
	"fmt"
	"slices"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/jumpgate/jumpgate/internal/sshwire"
)

// maxAuthRounds bounds the methods tried on one connection, against a
// server that keeps answering partial success.
const maxAuthRounds = 64

// AuthError is authentication that ran out of methods. Its message keeps
// x/crypto's wording ("attempted methods [none publickey]"), which callers
// turn into ssh(1)'s "Permission denied (publickey,password)".
type AuthError struct {
	// Tried are the methods tried, "none" first.
	Tried []string
	// Allowed are the methods the server last said could continue.
	Allowed []string
	// PasswordChange is the server's prompt when it asked for a new
	// password, which we do not offer; "" otherwise.
	PasswordChange string
	// SignErrors are keys the server would have taken but that failed
	// to sign (an agent that refused).
	SignErrors []error
}

func (e *AuthError) Error() string {
	s := fmt.Sprintf("ssh: unable to authenticate, attempted methods [%s], no supported methods remain", strings.Join(e.Tried, " "))
	if e.PasswordChange != "" {
		s += fmt.Sprintf("; the server asked for a password change (%q), which is not supported", e.PasswordChange)
	}
	return s
}

// AttemptedMethods is Tried (sshwire.AuthFailure).
func (e *AuthError) AttemptedMethods() []string { return e.Tried }

var _ sshwire.AuthFailure = (*AuthError)(nil)

type authResult int

const (
	authFailed authResult = iota
	authPartial
	authSucceeded
)

type clientAuthState struct {
	pc       packetConn
	cfg      *sshwire.ClientConfig
	allowed  []string
	pwdMsg   string
	signErrs []error
}

// clientAuth authenticates as cfg.User and tells pc on success.
func clientAuth(pc packetConn, cfg *sshwire.ClientConfig) error {
	a := &clientAuthState{pc: pc, cfg: cfg}
	if err := pc.writePacket(serviceMsg(layerMsgServiceRequest, serviceUserauth)); err != nil {
		return err
	}
	for {
		p, err := a.read()
		if err != nil {
			return err
		}
		if p[0] == layerMsgExtInfo {
			continue // the transport took server-sig-algs from it
		}
		if s, ok := parseService(p, layerMsgServiceAccept); !ok || s != serviceUserauth {
			return protoErrorf("expected service accept for %s, got message %d", serviceUserauth, p[0])
		}
		break
	}
	tried := []string{"none"}
	res, err := a.none()
	for round := 0; err == nil && res != authSucceeded; round++ {
		if round == maxAuthRounds {
			return protoErrorf("more than %d authentication rounds", maxAuthRounds)
		}
		var m sshwire.AuthMethod
		if a.cfg.AuthCallback != nil {
			m, err = a.cfg.AuthCallback(sshwire.AuthContext{Allowed: slices.Clone(a.allowed), Tried: slices.Clone(tried)})
			if err != nil {
				return err
			}
		} else {
			m = a.nextMethod(tried)
		}
		if m == nil {
			return &AuthError{Tried: tried, Allowed: a.allowed, PasswordChange: a.pwdMsg, SignErrors: a.signErrs}
		}
		res, err = a.run(m)
		// After partial success a method may be asked again (AuthenticationMethods
		// publickey,publickey wants a second key), as x/crypto does.
		if res != authPartial {
			tried = append(tried, m.Name())
		}
	}
	if err != nil {
		return err
	}
	pc.authenticated()
	return nil
}

// nextMethod is the first configured method not yet tried that the
// server allows.
func (a *clientAuthState) nextMethod(tried []string) sshwire.AuthMethod {
	for _, m := range a.cfg.Auth {
		if !slices.Contains(tried, m.Name()) && slices.Contains(a.allowed, m.Name()) {
			return m
		}
	}
	return nil
}

func (a *clientAuthState) run(m sshwire.AuthMethod) (authResult, error) {
	switch m := m.(type) {
	case sshwire.None:
		return a.none()
	case sshwire.Password:
		return a.password(m)
	case sshwire.PublicKeys:
		return a.publicKeys(m)
	case sshwire.KeyboardInteractive:
		return a.keyboardInteractive(m)
	case sshwire.Retry:
		for i := 0; m.Max <= 0 || i < m.Max; i++ {
			res, err := a.run(m.Method)
			if err != nil || res != authFailed || !slices.Contains(a.allowed, m.Name()) {
				return res, err
			}
		}
		return authFailed, nil
	}
	return authFailed, fmt.Errorf("ssh: unknown authentication method %T", m)
}

// read returns the next message, handing banners to the callback.
func (a *clientAuthState) read() ([]byte, error) {
	for {
		p, err := a.pc.readPacket()
		if err != nil {
			return nil, err
		}
		if len(p) == 0 {
			return nil, protoErrorf("empty message")
		}
		switch p[0] {
		case layerMsgDisconnect:
			return nil, parseDisconnect(p)
		case msgUserauthBanner:
			text, ok := parseBanner(p)
			if !ok {
				return nil, protoErrorf("malformed banner")
			}
			if a.cfg.BannerCallback != nil {
				if err := a.cfg.BannerCallback(text); err != nil {
					return nil, err
				}
			}
			continue
		}
		return p, nil
	}
}

// outcome reads SUCCESS or FAILURE; other is the method-specific message
// number the caller handles (0: none).
func (a *clientAuthState) outcome(p []byte) (authResult, error) {
	switch p[0] {
	case msgUserauthSuccess:
		if len(p) != 1 {
			return authFailed, protoErrorf("malformed userauth success")
		}
		return authSucceeded, nil
	case msgUserauthFailure:
		f, ok := parseUserauthFailure(p)
		if !ok {
			return authFailed, protoErrorf("malformed userauth failure")
		}
		a.allowed = f.methods
		if f.partial {
			return authPartial, nil
		}
		return authFailed, nil
	}
	return authFailed, protoErrorf("unexpected message %d during authentication", p[0])
}

func (a *clientAuthState) send(r *userauthRequest) error {
	r.user, r.service = a.cfg.User, serviceConnection
	return a.pc.writePacket(r.marshal())
}

func (a *clientAuthState) none() (authResult, error) {
	if err := a.send(&userauthRequest{method: "none"}); err != nil {
		return authFailed, err
	}
	p, err := a.read()
	if err != nil {
		return authFailed, err
	}
	return a.outcome(p)
}

func (a *clientAuthState) password(m sshwire.Password) (authResult, error) {
	pw, err := m.Password()
	if err != nil {
		return authFailed, err
	}
	if err := a.send(&userauthRequest{method: "password", password: []byte(pw)}); err != nil {
		return authFailed, err
	}
	p, err := a.read()
	if err != nil {
		return authFailed, err
	}
	if p[0] == msgUserauthMethod60 { // SSH_MSG_USERAUTH_PASSWD_CHANGEREQ
		c := newCursor(p[1:])
		prompt := c.str()
		c.str()
		if !c.end() {
			return authFailed, protoErrorf("malformed password change request")
		}
		a.pwdMsg = prompt
		if prompt == "" {
			a.pwdMsg = "password expired"
		}
		return authFailed, nil
	}
	return a.outcome(p)
}

func (a *clientAuthState) keyboardInteractive(m sshwire.KeyboardInteractive) (authResult, error) {
	if err := a.send(&userauthRequest{method: "keyboard-interactive"}); err != nil {
		return authFailed, err
	}
	for {
		p, err := a.read()
		if err != nil {
			return authFailed, err
		}
		if p[0] != msgUserauthMethod60 {
			return a.outcome(p)
		}
		q, ok := parseInfoRequest(p)
		if !ok {
			return authFailed, protoErrorf("malformed keyboard-interactive info request")
		}
		answers, err := m.Challenge(q.name, q.instruction, q.prompts, q.echos)
		if err != nil {
			return authFailed, err
		}
		if len(answers) != len(q.prompts) {
			return authFailed, fmt.Errorf("ssh: keyboard-interactive: %d answers for %d prompts", len(answers), len(q.prompts))
		}
		if err := a.pc.writePacket(infoResponseMsg(answers)); err != nil {
			return authFailed, err
		}
	}
}

func (a *clientAuthState) publicKeys(m sshwire.PublicKeys) (authResult, error) {
	signers, err := m.Signers()
	if err != nil {
		return authFailed, err
	}
	for _, s := range signers {
		if !slices.Contains(a.allowed, "publickey") {
			break
		}
		res, err := a.publicKey(s)
		if err != nil || res != authFailed {
			return res, err
		}
	}
	return authFailed, nil
}

// publicKey offers one key, then signs if the server will take it.
func (a *clientAuthState) publicKey(s ssh.Signer) (authResult, error) {
	pub := s.PublicKey()
	algo := pubkeyAlgo(s, a.pc.serverSigAlgs())
	blob := pub.Marshal()
	method, hostKey := "publickey", []byte(nil)
	if a.pc.hostBound() {
		method = methodHostbound
		hostKey, _ = a.pc.hostProof()
	}
	if err := a.send(&userauthRequest{method: method, algo: algo, key: blob, hostKey: hostKey}); err != nil {
		return authFailed, err
	}
	p, err := a.read()
	if err != nil {
		return authFailed, err
	}
	if p[0] != msgUserauthMethod60 {
		return a.outcome(p)
	}
	okAlgo, okKey, ok := parsePKOK(p)
	if !ok || okAlgo != algo || string(okKey) != string(blob) {
		return authFailed, protoErrorf("PK_OK for another key or algorithm")
	}
	data := signedDataMethod(a.pc.sessionID(), a.cfg.User, method, algo, blob, hostKey)
	var sig *ssh.Signature
	if as, ok := s.(ssh.AlgorithmSigner); ok {
		sig, err = as.SignWithAlgorithm(rand.Reader, data, signatureAlgo(algo))
	} else {
		sig, err = s.Sign(rand.Reader, data)
	}
	if err != nil {
		// As ssh(1) after "signing failed … agent refused operation":
		// go on with the next key.
		a.signErrs = append(a.signErrs, fmt.Errorf("sign with %s key %s: %w", pub.Type(), ssh.FingerprintSHA256(pub), err))
		return authFailed, nil
	}
	if err := a.send(&userauthRequest{method: method, hasSig: true, algo: algo, key: blob, hostKey: hostKey, sig: ssh.Marshal(sig)}); err != nil {
		return authFailed, err
	}
	p, err = a.read()
	if err != nil {
		return authFailed, err
	}
	return a.outcome(p)
}

// signatureAlgo is the signature algorithm of a public key algorithm:
// certificates sign as their key does.
func signatureAlgo(algo string) string {
	return strings.TrimSuffix(algo, certSuffix)
}

// pubkeyAlgo chooses the algorithm to offer a key under. For RSA, as
// OpenSSH: the first of rsa-sha2-512 and rsa-sha2-256 the server lists
// in server-sig-algs and the signer can make, else ssh-rsa.
func pubkeyAlgo(s ssh.Signer, serverAlgs []string) string {
	kt := s.PublicKey().Type()
	if kt != ssh.KeyAlgoRSA && kt != ssh.CertAlgoRSAv01 {
		return kt
	}
	as, ok := s.(ssh.AlgorithmSigner)
	if !ok || serverAlgs == nil {
		return kt
	}
	var can []string
	if ms, ok := as.(ssh.MultiAlgorithmSigner); ok {
		can = ms.Algorithms()
	}
	for _, sig := range []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256} {
		if !slices.Contains(serverAlgs, sig) || (can != nil && !slices.Contains(can, sig)) {
			continue
		}
		if kt == ssh.CertAlgoRSAv01 {
			return sig + certSuffix
		}
		return sig
	}
	return kt
}
