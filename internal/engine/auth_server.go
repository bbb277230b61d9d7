package engine

// The server side of user authentication (RFC 4252, RFC 4256): each
// request goes to the ServerConfig callback of its method; failures are
// counted as sshd counts them ("none" and accepted key queries are free)
// and the connection ends at MaxAuthTries with sshd's words.

import (
	"errors"
	"fmt"
	"net"
	"slices"

	"golang.org/x/crypto/ssh"

	"github.com/jumpgate/jumpgate/internal/sshwire"
)

// defaultMaxAuthTries is sshd's MaxAuthTries default.
const defaultMaxAuthTries = 6

// errTooManyAuthFailures ends a server connection at MaxAuthTries.
var errTooManyAuthFailures = errors.New("ssh: too many authentication failures")

// connMeta is ConnMetadata; user is set once a request names it.
type connMeta struct {
	pc            packetConn
	user          string
	local, remote net.Addr
	windows       windowPool // the zero value has the defaults
}

func (m *connMeta) User() string          { return m.user }
func (m *connMeta) SessionID() []byte     { return m.pc.sessionID() }
func (m *connMeta) ClientVersion() []byte { return m.pc.clientVersion() }
func (m *connMeta) ServerVersion() []byte { return m.pc.serverVersion() }
func (m *connMeta) RemoteAddr() net.Addr  { return m.remote }
func (m *connMeta) LocalAddr() net.Addr   { return m.local }

type serverAuthState struct {
	pc   packetConn
	cfg  *sshwire.ServerConfig
	meta *connMeta
	// lastKey caches the callback's answer for the key last queried, so
	// a query and its signed request ask once.
	lastKey   []byte
	lastPerms *sshwire.Permissions
	lastErr   error
}

// serverAuth runs authentication to success and returns the permissions
// the deciding callback granted.
func serverAuth(pc packetConn, cfg *sshwire.ServerConfig, meta *connMeta) (*sshwire.Permissions, error) {
	s := &serverAuthState{pc: pc, cfg: cfg, meta: meta}
	p, err := s.read()
	if err != nil {
		return nil, err
	}
	if name, ok := parseService(p, layerMsgServiceRequest); !ok || name != serviceUserauth {
		s.disconnect(disconnectNoService, "service not available")
		return nil, protoErrorf("expected a service request for %s", serviceUserauth)
	}
	if err := pc.writePacket(serviceMsg(layerMsgServiceAccept, serviceUserauth)); err != nil {
		return nil, err
	}
	max := cfg.MaxAuthTries
	if max == 0 {
		max = defaultMaxAuthTries
	}
	failures := 0
	bannerSent := false
	for {
		p, err := s.read()
		if err != nil {
			return nil, err
		}
		req, ok := parseUserauthRequest(p)
		if !ok {
			s.disconnect(disconnectProtocolError, "malformed userauth request")
			return nil, protoErrorf("malformed userauth request (message %d)", p[0])
		}
		if req.service != serviceConnection {
			s.disconnect(disconnectNoService, "service not available")
			return nil, protoErrorf("client asked for service %q", req.service)
		}
		meta.user = req.user
		if !bannerSent && cfg.BannerCallback != nil {
			bannerSent = true
			if text := cfg.BannerCallback(meta); text != "" {
				if err := pc.writePacket(bannerMsg(text)); err != nil {
					return nil, err
				}
			}
		}
		perms, counted, err := s.attempt(req)
		if cfg.AuthLogCallback != nil && !errors.Is(err, errQueryOK) {
			cfg.AuthLogCallback(meta, req.method, err)
		}
		if err == nil {
			if perms == nil {
				perms = &sshwire.Permissions{}
			}
			if err := pc.writePacket([]byte{msgUserauthSuccess}); err != nil {
				return nil, err
			}
			pc.authenticated()
			return perms, nil
		}
		if errors.Is(err, errQueryOK) {
			continue
		}
		var pe *protocolError
		if errors.As(err, &pe) {
			s.disconnect(disconnectProtocolError, pe.msg)
			return nil, err
		}
		if counted {
			failures++
		}
		if max > 0 && failures >= max {
			// sshd's words, which ssh(1) prints as "Received disconnect
			// from …: Too many authentication failures".
			s.disconnect(disconnectProtocolError, "Too many authentication failures")
			return nil, errTooManyAuthFailures
		}
		f := userauthFailure{methods: s.methods()}
		if err := pc.writePacket(f.marshal()); err != nil {
			return nil, err
		}
	}
}

// errQueryOK is a publickey query answered with PK_OK.
var errQueryOK = errors.New("ssh: public key acceptable")

func (s *serverAuthState) methods() []string {
	var m []string
	if s.cfg.PublicKeyCallback != nil {
		m = append(m, "publickey")
	}
	if s.cfg.PasswordCallback != nil {
		m = append(m, "password")
	}
	if s.cfg.KeyboardInteractiveCallback != nil {
		m = append(m, "keyboard-interactive")
	}
	return m
}

func (s *serverAuthState) read() ([]byte, error) {
	p, err := s.pc.readPacket()
	if err != nil {
		return nil, err
	}
	if len(p) == 0 {
		return nil, protoErrorf("empty message")
	}
	if p[0] == layerMsgDisconnect {
		return nil, parseDisconnect(p)
	}
	return p, nil
}

func (s *serverAuthState) disconnect(reason uint32, msg string) {
	s.pc.writePacket(disconnectMsg(reason, msg))
}

// attempt decides one request; counted says whether a failure counts
// toward MaxAuthTries.
func (s *serverAuthState) attempt(req *userauthRequest) (*sshwire.Permissions, bool, error) {
	cfg := s.cfg
	switch req.method {
	case "none":
		return nil, false, errors.New("ssh: no auth passed yet")
	case "password":
		if cfg.PasswordCallback == nil {
			return nil, true, errors.New("ssh: password auth not configured")
		}
		if req.hasSig {
			return nil, true, errors.New("ssh: password change not supported")
		}
		p, err := cfg.PasswordCallback(s.meta, req.password)
		return p, true, err
	case "keyboard-interactive":
		if cfg.KeyboardInteractiveCallback == nil {
			return nil, true, errors.New("ssh: keyboard-interactive auth not configured")
		}
		p, err := cfg.KeyboardInteractiveCallback(s.meta, s.challenge)
		return p, true, err
	case "publickey":
		if cfg.PublicKeyCallback == nil {
			return nil, true, errors.New("ssh: publickey auth not configured")
		}
		return s.publicKey(req)
	}
	return nil, true, fmt.Errorf("ssh: unknown method %q", req.method)
}

func (s *serverAuthState) publicKey(req *userauthRequest) (*sshwire.Permissions, bool, error) {
	// A copy: the callback may keep the key past this packet's buffer.
	pub, err := ssh.ParsePublicKey(slices.Clone(req.key))
	if err != nil {
		return nil, true, fmt.Errorf("ssh: parse public key: %w", err)
	}
	if !algoFitsKey(req.algo, pub.Type()) {
		return nil, true, fmt.Errorf("ssh: algorithm %q does not fit a %s key", req.algo, pub.Type())
	}
	if s.lastKey == nil || string(s.lastKey) != string(req.key) {
		s.lastKey = slices.Clone(req.key)
		s.lastPerms, s.lastErr = s.cfg.PublicKeyCallback(s.meta, pub)
	}
	if s.lastErr != nil {
		return nil, true, s.lastErr
	}
	if !req.hasSig {
		if err := s.pc.writePacket(pkOKMsg(req.algo, req.key)); err != nil {
			return nil, false, err
		}
		return nil, false, errQueryOK
	}
	var sig ssh.Signature
	if err := ssh.Unmarshal(req.sig, &sig); err != nil {
		return nil, true, fmt.Errorf("ssh: malformed signature: %w", err)
	}
	if sig.Format != signatureAlgo(req.algo) {
		return nil, true, fmt.Errorf("ssh: signature %q for algorithm %q", sig.Format, req.algo)
	}
	data := signedData(s.pc.sessionID(), req.user, req.algo, req.key)
	if err := pub.Verify(data, &sig); err != nil {
		return nil, true, err
	}
	return s.lastPerms, true, nil
}

// algoFitsKey reports whether a public key algorithm may name a key of
// type kt: itself, or for RSA the SHA-2 algorithms of RFC 8332.
func algoFitsKey(algo, kt string) bool {
	switch kt {
	case ssh.KeyAlgoRSA:
		return algo == kt || algo == ssh.KeyAlgoRSASHA256 || algo == ssh.KeyAlgoRSASHA512
	case ssh.CertAlgoRSAv01:
		return algo == kt || algo == ssh.CertAlgoRSASHA256v01 || algo == ssh.CertAlgoRSASHA512v01
	}
	return algo == kt
}

// challenge asks the client one round of keyboard-interactive questions.
func (s *serverAuthState) challenge(name, instruction string, questions []string, echos []bool) ([]string, error) {
	if len(questions) > maxPrompts {
		return nil, fmt.Errorf("ssh: %d prompts, at most %d", len(questions), maxPrompts)
	}
	q := infoRequest{name: name, instruction: instruction, prompts: questions, echos: echos}
	if err := s.pc.writePacket(q.marshal()); err != nil {
		return nil, err
	}
	p, err := s.read()
	if err != nil {
		return nil, err
	}
	answers, ok := parseInfoResponse(p)
	if !ok || len(answers) != len(questions) {
		return nil, protoErrorf("malformed keyboard-interactive response")
	}
	return answers, nil
}
