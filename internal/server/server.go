// Package server is jumpgate's SSH server (`jumpgate serve`): public-key
// and user certificate authentication from authorized_keys files with
// their options and a TrustedUserCAKeys file, exec/shell/subsystem
// sessions with or without a PTY, and the forwarding channels and global
// requests of RFC 4254 and OpenSSH's PROTOCOL (direct-tcpip,
// tcpip-forward, *streamlocal*@openssh.com).
//
// Flow: [Serve] accepts → handshake and auth under the login grace time
// (conn.go, judged by package authkeys) → per connection, global requests and new channels are
// dispatched (conn.go) to sessions (session.go, pty.go) and forwarding
// (forward.go).
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/jumpgate/jumpgate/internal/sshwire"
)

// Defaults, as sshd's.
const (
	DefaultAuthorizedKeys = "%h/.ssh/authorized_keys"
	DefaultMaxAuthTries   = 6
	DefaultLoginGraceTime = 120 * time.Second
)

// ChannelHandler serves one channel type that is not built in (room for
// tun@openssh.com and x11). It owns nc and must accept or reject it.
type ChannelHandler func(ctx context.Context, c *Conn, nc sshwire.NewChannel)

// Config configures [Serve]. The zero value of each field means its
// default.
type Config struct {
	// HostKeys are the server's host keys; at least one is needed.
	HostKeys []ssh.Signer
	// AuthorizedKeys is the path of each user's authorized_keys file, with
	// sshd's tokens %h (home), %u (user) and %%. Relative paths are taken
	// from the user's home. Default [DefaultAuthorizedKeys].
	AuthorizedKeys string
	// TrustedUserCAKeys is a file of CA public keys whose user
	// certificates log in any user they name as a principal (sshd's
	// TrustedUserCAKeys); "" means none. It is read at each login.
	TrustedUserCAKeys string
	// MaxAuthTries is the number of failed attempts before the connection
	// is closed. Default [DefaultMaxAuthTries].
	MaxAuthTries int
	// LoginGraceTime bounds the time from accept to successful auth.
	// Default [DefaultLoginGraceTime]; negative means no limit.
	LoginGraceTime time.Duration
	// MaxStartups limits connections that have not logged in yet.
	// Default [DefaultMaxStartups].
	MaxStartups MaxStartups
	// AcceptEnv lists patterns of environment variable names clients may
	// set (sshd's AcceptEnv); LANG and LC_* are always accepted.
	AcceptEnv []string
	// Logger receives one line per connection event. Default: discard.
	Logger *slog.Logger
	// LookupUser finds a user account. Default: /etc/passwd and /etc/group.
	LookupUser func(name string) (*User, error)
	// Subsystems maps subsystem names to commands run with the user's
	// shell. Default: sftp → /usr/lib/openssh/sftp-server when present.
	Subsystems map[string]string
	// Channels serves extra channel types.
	Channels map[string]ChannelHandler
	// ServerVersion is the identification string. Default "SSH-2.0-jumpgate".
	ServerVersion string
	// X11Forwarding accepts x11-req (sshd's X11Forwarding; off by
	// default), with displays from X11DisplayOffset (default
	// [DefaultX11DisplayOffset]) on loopback and cookies given to the
	// xauth at XAuthLocation (default [DefaultXAuthLocation]).
	X11Forwarding    bool
	X11DisplayOffset int
	XAuthLocation    string
	// Handshake runs the SSH handshake; nil means our engine's.
	Handshake sshwire.ServerHandshake
}

// Serve accepts SSH connections on ln until ctx ends, then closes ln and
// every connection and returns nil once all of them are gone. It returns
// an error if ln fails for another reason.
func Serve(ctx context.Context, ln net.Listener, cfg Config) error {
	s, err := newServer(cfg)
	if err != nil {
		return err
	}
	return s.serve(ctx, ln)
}

type server struct {
	cfg      Config
	log      *slog.Logger
	startups *startups

	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

func newServer(cfg Config) (*server, error) {
	if len(cfg.HostKeys) == 0 {
		return nil, errors.New("server: no host keys")
	}
	if cfg.AuthorizedKeys == "" {
		cfg.AuthorizedKeys = DefaultAuthorizedKeys
	}
	if cfg.MaxAuthTries <= 0 {
		cfg.MaxAuthTries = DefaultMaxAuthTries
	}
	if cfg.LoginGraceTime == 0 {
		cfg.LoginGraceTime = DefaultLoginGraceTime
	}
	if cfg.MaxStartups == (MaxStartups{}) {
		cfg.MaxStartups = DefaultMaxStartups
	}
	if err := cfg.MaxStartups.valid(); err != nil {
		return nil, fmt.Errorf("server: max startups %s: %w", cfg.MaxStartups, err)
	}
	if cfg.LookupUser == nil {
		cfg.LookupUser = LookupUser
	}
	if cfg.Subsystems == nil {
		cfg.Subsystems = defaultSubsystems()
	}
	if cfg.X11DisplayOffset <= 0 {
		cfg.X11DisplayOffset = DefaultX11DisplayOffset
	}
	if cfg.XAuthLocation == "" {
		cfg.XAuthLocation = DefaultXAuthLocation
	}
	if cfg.ServerVersion == "" {
		cfg.ServerVersion = "SSH-2.0-jumpgate"
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.TrustedUserCAKeys != "" {
		// Read at each login, but a path that cannot be read is a mistake
		// better told at start than found at the first refused login.
		if _, err := readCAKeys(cfg.TrustedUserCAKeys, log); err != nil {
			return nil, fmt.Errorf("server: trusted user CA keys: %w", err)
		}
	}
	return &server{cfg: cfg, log: log, conns: map[net.Conn]struct{}{}, startups: newStartups(cfg.MaxStartups, log)}, nil
}

func (s *server) serve(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	stop := context.AfterFunc(ctx, func() {
		ln.Close()
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.conns = nil // refuse connections accepted from now on
		s.mu.Unlock()
	})
	defer stop()
	var err error
	var tempDelay time.Duration
	for {
		var nc net.Conn
		nc, err = ln.Accept()
		if err != nil {
			var ne net.Error
			if ctx.Err() == nil && errors.As(err, &ne) && ne.Timeout() {
				// Out of fds and the like: back off as net/http does.
				tempDelay = min(max(2*tempDelay, 5*time.Millisecond), time.Second)
				s.log.Error("accept", "err", err)
				time.Sleep(tempDelay)
				continue
			}
			break
		}
		tempDelay = 0
		if !s.startups.admit() {
			nc.Close()
			continue
		}
		if !s.track(nc, true) {
			s.startups.done()
			nc.Close()
			break
		}
		wg.Go(func() {
			defer s.track(nc, false)
			s.handle(ctx, nc)
		})
	}
	stopped := ctx.Err() != nil
	cancel()
	wg.Wait()
	if stopped {
		return nil
	}
	return fmt.Errorf("accept on %s: %w", ln.Addr(), err)
}

// track adds or removes a live connection; adding fails once shut down.
func (s *server) track(c net.Conn, add bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !add {
		delete(s.conns, c)
		return true
	}
	if s.conns == nil {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}
