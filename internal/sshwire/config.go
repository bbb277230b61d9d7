package sshwire

// Handshake configuration. It is ours rather than x/crypto's because
// x/crypto's AuthMethod is opaque: an engine of our own could not read it.

import (
	"net"
	"time"

	"golang.org/x/crypto/ssh"
)

// ClientConfig configures the client side of a handshake (RFC 4253 and
// 4252).
type ClientConfig struct {
	// User is the user name to authenticate as.
	User string
	// Auth are the methods to try, in order; see AuthCallback.
	Auth []AuthMethod
	// AuthCallback, when set, picks the next method once the server has
	// said which it allows; nil means the first untried allowed one, and
	// a nil method ends authentication.
	AuthCallback func(AuthContext) (AuthMethod, error)
	// HostKeyCallback checks the server's host key; it is required.
	HostKeyCallback func(hostname string, remote net.Addr, key ssh.PublicKey) error
	// BannerCallback receives SSH_MSG_USERAUTH_BANNER; nil drops it.
	BannerCallback func(message string) error
	// ClientVersion is the identification string; "" means the engine's.
	ClientVersion string
	// Algorithms restricts and orders what is offered; an empty list
	// means the engine's defaults.
	Algorithms AlgorithmList
	// RekeyLimit and RekeyInterval start a key re-exchange after that
	// many bytes either way, or that long after the last one (ssh_config
	// RekeyLimit); zero is the engine's default: by the cipher's volume,
	// never by time.
	RekeyLimit    uint64
	RekeyInterval time.Duration
	// KexDone, when set, is called once the first key exchange has
	// verified the server's host key, before authentication, with what
	// it proved: an agent bound to it (session-bind@openssh.com) signs
	// only for the destinations its keys are restricted to.
	KexDone func(HostProof)
	// Debugf receives the engine's protocol trace worded as ssh(1)'s
	// debug lines; level is 1 to 3 (-v to -vvv). Nil discards it.
	Debugf func(level int, format string, args ...any)
	// Windows bounds how far receive windows grow; zero values are the
	// engine's defaults.
	Windows WindowLimits
}

// WindowLimits bound the receive windows (RFC 4254 section 5.2) an engine
// grows past OpenSSH's 2 MiB to fill long paths.
type WindowLimits struct {
	// Max is one channel's largest window in bytes; 0 means 64 MiB, and
	// a value at or below 2 MiB keeps windows fixed at OpenSSH's 2 MiB.
	Max uint32
	// Budget bounds the bytes a connection's windows may hold past their
	// first 2 MiB each, summed over its channels; 0 means 256 MiB.
	Budget int64
}

// HostProof is what the first key exchange proved about the server
// (OpenSSH PROTOCOL.agent, session-bind@openssh.com): its host key, the
// session identifier (the exchange hash) and the host key's signature
// over it, each in its wire encoding.
type HostProof struct {
	HostKey, SessionID, Signature []byte
}

// HostProver is a client connection that can say what its first key
// exchange proved.
type HostProver interface {
	HostProof() HostProof
}

// AlgorithmList lists algorithms to offer, in order of preference.
type AlgorithmList struct {
	KeyExchanges []string
	Ciphers      []string
	MACs         []string
	HostKeys     []string
	// Compressions (RFC 4253 6.2, OpenSSH PROTOCOL 2.1): empty means
	// "none" for a client, and for a server zlib@openssh.com (which
	// starts after authentication) or none, as sshd's default.
	Compressions []string
}

// AuthContext is where authentication stands when the client picks its
// next method.
type AuthContext struct {
	// Allowed are the methods the server says can continue.
	Allowed []string
	// Tried are the methods already tried.
	Tried []string
}

// AuthFailure is a client handshake's error when the server was reached
// and refused every authentication method (ssh(1)'s "Permission denied").
type AuthFailure interface {
	error
	// AttemptedMethods are the methods tried, "none" first.
	AttemptedMethods() []string
}

// AuthMethod is a client authentication method (RFC 4252): one of
// [PublicKeys], [Password], [KeyboardInteractive], [None], or a [Retry]
// of one.
type AuthMethod interface {
	// Name is the method's protocol name ("publickey").
	Name() string
	authMethod()
}

// PublicKeys authenticates with the signers Signers returns when the
// method is tried (agent keys, identity files, certificate signers).
type PublicKeys struct {
	Signers func() ([]ssh.Signer, error)
}

// Password authenticates with the password Password returns.
type Password struct {
	Password func() (string, error)
}

// KeyboardInteractiveChallenge answers the server's questions (RFC 4256).
type KeyboardInteractiveChallenge func(name, instruction string, questions []string, echos []bool) (answers []string, err error)

// KeyboardInteractive authenticates by answering challenges.
type KeyboardInteractive struct {
	Challenge KeyboardInteractiveChallenge
}

// None is the "none" method, which a server may accept outright.
type None struct{}

// Retry tries Method up to Max times while the server refuses it (a
// mistyped password); Max <= 0 means until it succeeds.
type Retry struct {
	Method AuthMethod
	Max    int
}

func (PublicKeys) Name() string          { return "publickey" }
func (Password) Name() string            { return "password" }
func (KeyboardInteractive) Name() string { return "keyboard-interactive" }
func (None) Name() string                { return "none" }
func (r Retry) Name() string             { return r.Method.Name() }

func (PublicKeys) authMethod()          {}
func (Password) authMethod()            {}
func (KeyboardInteractive) authMethod() {}
func (None) authMethod()                {}
func (Retry) authMethod()               {}

// ServerConfig configures the server side of a handshake.
type ServerConfig struct {
	// HostKeys are the server's host keys; at least one is needed.
	HostKeys []ssh.Signer
	// PublicKeyCallback, PasswordCallback and KeyboardInteractiveCallback
	// decide each attempt of their method; nil disables the method.
	PublicKeyCallback           func(meta ConnMetadata, key ssh.PublicKey) (*Permissions, error)
	PasswordCallback            func(meta ConnMetadata, password []byte) (*Permissions, error)
	KeyboardInteractiveCallback func(meta ConnMetadata, challenge KeyboardInteractiveChallenge) (*Permissions, error)
	// AuthLogCallback sees every attempt and its outcome.
	AuthLogCallback func(meta ConnMetadata, method string, err error)
	// MaxAuthTries bounds failed attempts; 0 means the engine's default.
	MaxAuthTries int
	// ServerVersion is the identification string; "" means the engine's.
	ServerVersion string
	// BannerCallback returns a banner sent before authentication.
	BannerCallback func(meta ConnMetadata) string
	// Algorithms restricts and orders what is offered.
	Algorithms AlgorithmList
	// Windows bounds how far receive windows grow (see ClientConfig).
	Windows WindowLimits
}

// Permissions are what an authentication callback grants; the server
// reads them back from [ServerConn.Permissions].
type Permissions struct {
	// Extensions are free-form facts about the login (the key's
	// fingerprint).
	Extensions map[string]string
	// ExtraData carries the server's own values.
	ExtraData map[any]any
}

// ServerConn is the server side of a connection.
type ServerConn interface {
	Conn
	// Permissions are those of the method that authenticated.
	Permissions() *Permissions
}

// Signers is the [PublicKeys] method for a fixed list of signers.
func Signers(signers ...ssh.Signer) PublicKeys {
	return PublicKeys{Signers: func() ([]ssh.Signer, error) { return signers, nil }}
}

// ClientHandshake runs an engine's client handshake and authentication
// over nc; addr is the address the host key callback sees.
type ClientHandshake func(nc net.Conn, addr string, cfg *ClientConfig) (Conn, error)

// ServerHandshake runs an engine's server handshake and authentication
// over nc.
type ServerHandshake func(nc net.Conn, cfg *ServerConfig) (ServerConn, error)
