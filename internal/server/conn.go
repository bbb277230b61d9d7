package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/jumpgate/jumpgate/internal/authkeys"
	"github.com/jumpgate/jumpgate/internal/engine"
	"github.com/jumpgate/jumpgate/internal/sshwire"
)

// Conn is one authenticated connection, as channel handlers see it.
type Conn struct {
	sshwire.ServerConn
	// User is the account logged in as.
	User *User
	// Perms are the options of the authorized_keys line that let it in.
	Perms *authkeys.Perms
	// Log carries the connection's attributes.
	Log *slog.Logger

	srv *server
	wg  sync.WaitGroup // everything started for this connection

	mu             sync.Mutex
	noMoreSessions bool
	forwards       map[string]io.Closer // by "host:port" or "unix:path"
	closed         bool

	// flush asks the global request loop to answer what is queued;
	// reqsGone closes when that loop ends.
	flush    chan chan struct{}
	reqsGone chan struct{}
}

// authInfo travels from the auth callback to the connection in
// sshwire.Permissions.ExtraData.
type authInfo struct {
	user  *User
	perms *authkeys.Perms
	line  int
	path  string
}

type authInfoKey struct{}

// handle serves one connection [startups.admit] counted in.
func (s *server) handle(ctx context.Context, nc net.Conn) {
	start := time.Now()
	log := s.log.With("remote", nc.RemoteAddr().String())
	// Debug, as sshd's "Connection from" is verbose: a flood of
	// connections is summed up by MaxStartups throttling.
	log.Debug("connection accepted", "local", nc.LocalAddr().String())
	defer nc.Close()
	if ctx.Err() != nil {
		s.startups.done()
		return
	}
	if s.cfg.LoginGraceTime > 0 {
		nc.SetDeadline(time.Now().Add(s.cfg.LoginGraceTime))
	}
	handshake := s.cfg.Handshake
	if handshake == nil {
		handshake = engine.Server
	}
	sconn, err := handshake(nc, s.sshConfig(log, nc))
	s.startups.done()
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			err = fmt.Errorf("login grace time %s exceeded: %w", s.cfg.LoginGraceTime, err)
		}
		log.Warn("connection closed before login", "err", err, "duration", time.Since(start).Round(time.Millisecond))
		return
	}
	nc.SetDeadline(time.Time{})
	ai := sconn.Permissions().ExtraData[authInfoKey{}].(*authInfo)
	c := &Conn{
		ServerConn: sconn,
		User:       ai.user,
		Perms:      ai.perms,
		Log:        log.With("user", sconn.User()),
		srv:        s,
		forwards:   map[string]io.Closer{},
		flush:      make(chan chan struct{}),
		reqsGone:   make(chan struct{}),
	}
	attrs := []any{"key", sconn.Permissions().Extensions["pubkey-fp"], "file", ai.path, "line", ai.line,
		"client", string(sconn.ClientVersion())}
	if cert, ok := sconn.Permissions().Extensions["cert"]; ok {
		attrs = append(attrs, "cert", cert)
	}
	c.Log.Info("login", attrs...)

	ctx, cancel := context.WithCancel(ctx)
	reqs, chans := sconn.GlobalRequests(), sconn.HandleChannelOpen("")
	c.wg.Go(func() { c.serveRequests(ctx, reqs) })
	// Before any channel is served, as sshd does: ssh(1) quits when its
	// session closes, without waiting for the proof it asked for, so a
	// list sent beside a short command can arrive too late to be learnt.
	c.notifyHostKeys(ctx)
	for nch := range chans {
		c.newChannel(ctx, nch)
	}
	// The connection is gone: end what it started.
	cancel()
	c.closeForwards()
	sconn.Close()
	c.wg.Wait()
	c.Log.Info("connection closed", "duration", time.Since(start).Round(time.Millisecond))
}

func (s *server) sshConfig(log *slog.Logger, nc net.Conn) *sshwire.ServerConfig {
	// x/crypto forgives MaxAuthTries failed public key queries before it
	// counts them; sshd counts every failure, so count here too and cut
	// the connection at the limit (x/crypto's own limit stays as a backstop).
	// x/crypto cannot send sshd's "Too many authentication failures"
	// disconnect; on our engine, which counts as sshd and sends it, this
	// close must go, or it cuts the connection before the reason is sent.
	failures := 0
	return &sshwire.ServerConfig{
		HostKeys:      s.cfg.HostKeys,
		MaxAuthTries:  s.cfg.MaxAuthTries,
		ServerVersion: s.cfg.ServerVersion,
		PublicKeyCallback: func(meta sshwire.ConnMetadata, key ssh.PublicKey) (*sshwire.Permissions, error) {
			return s.authorize(log, meta, key)
		},
		AuthLogCallback: func(meta sshwire.ConnMetadata, method string, err error) {
			if err == nil || method == "none" {
				return
			}
			if !errors.Is(err, errQuiet) {
				log.Warn("auth failed", "user", meta.User(), "method", method, "err", err)
			}
			if failures++; failures >= s.cfg.MaxAuthTries {
				log.Warn("too many authentication failures", "user", meta.User(), "max", s.cfg.MaxAuthTries)
				nc.Close()
			}
		},
	}
}

// errQuiet marks auth failures already logged with more detail.
var errQuiet = errors.New("refused")

// authorize is the public key callback, in sshd's order: a certificate
// whose CA is in the TrustedUserCAKeys file, then the user's
// authorized_keys, where a key needs its own line and a certificate a
// cert-authority line for its CA.
func (s *server) authorize(log *slog.Logger, meta sshwire.ConnMetadata, key ssh.PublicKey) (*sshwire.Permissions, error) {
	u, err := s.cfg.LookupUser(meta.User())
	if err != nil {
		return nil, err
	}
	if uid := os.Getuid(); uid != 0 && u.UID != uint32(uid) {
		return nil, fmt.Errorf("not running as root: cannot log in as %s", u.Name)
	}
	login := authkeys.Login{User: u.Name, Key: key, Addr: addrOf(meta.RemoteAddr()), Now: time.Now()}
	granted := func(perms *authkeys.Perms, path string, line int) *sshwire.Permissions {
		ext := map[string]string{"pubkey-fp": ssh.FingerprintSHA256(key)}
		if cert, ok := key.(*ssh.Certificate); ok {
			ext["pubkey-fp"] = ssh.FingerprintSHA256(cert.Key)
			ext["cert"] = fmt.Sprintf("ID %q serial %d CA %s %s", cert.KeyId, cert.Serial,
				cert.SignatureKey.Type(), ssh.FingerprintSHA256(cert.SignatureKey))
		}
		return &sshwire.Permissions{
			Extensions: ext,
			ExtraData:  map[any]any{authInfoKey{}: &authInfo{user: u, perms: perms, line: line, path: path}},
		}
	}
	if _, isCert := key.(*ssh.Certificate); isCert && s.cfg.TrustedUserCAKeys != "" {
		cas, err := readCAKeys(s.cfg.TrustedUserCAKeys, log)
		if err != nil {
			log.Error("trusted user CA keys", "err", err)
		}
		perms, err := authkeys.AuthorizeCert(cas, login)
		if err == nil {
			return granted(perms, s.cfg.TrustedUserCAKeys, 0), nil
		}
		if !errors.Is(err, authkeys.ErrUntrustedCA) {
			log.Warn("certificate refused", "user", u.Name, "file", s.cfg.TrustedUserCAKeys, "err", err)
		}
	}
	path, err := expandPath(s.cfg.AuthorizedKeys, u)
	if err != nil {
		return nil, err
	}
	if err := checkModes(path, u.UID); err != nil {
		log.Error("authorized keys refused", "file", path, "err", err)
		return nil, fmt.Errorf("%w: %w", err, errQuiet)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read authorized keys: %w", err)
	}
	entries, errs := authkeys.Parse(data)
	for _, e := range errs {
		log.Error("authorized keys line rejected", "file", path, "err", e)
	}
	e, perms, refusals := authkeys.Authorize(entries, login)
	for _, err := range refusals {
		log.Warn("key refused", "user", u.Name, "file", path, "err", err)
	}
	if e != nil {
		return granted(perms, path, e.Line), nil
	}
	if len(refusals) > 0 {
		return nil, fmt.Errorf("refused by %s: %w", path, errQuiet)
	}
	return nil, fmt.Errorf("key %s not in %s", ssh.FingerprintSHA256(key), path)
}

// readCAKeys reads a TrustedUserCAKeys file at each login, as sshd does,
// so that an edit counts at once.
func readCAKeys(path string, log *slog.Logger) ([]ssh.PublicKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	keys, errs := authkeys.ParseCAKeys(data)
	for _, e := range errs {
		log.Error("trusted user CA keys line rejected", "file", path, "err", e)
	}
	return keys, nil
}

// checkModes is a small StrictModes: the authorized_keys file and its
// directory must belong to the user or root and not be writable by
// group or others, or anyone could add a key.
func checkModes(path string, uid uint32) error {
	for _, p := range []string{path, filepath.Dir(path)} {
		st, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("authorized keys: %w", err)
		}
		sys, ok := st.Sys().(*syscall.Stat_t)
		if !ok {
			continue
		}
		if sys.Uid != uid && sys.Uid != 0 {
			return fmt.Errorf("bad ownership of %s (uid %d)", p, sys.Uid)
		}
		if st.Mode().Perm()&0o022 != 0 && st.Mode()&os.ModeSticky == 0 {
			return fmt.Errorf("bad modes of %s (%v): writable by group or others", p, st.Mode().Perm())
		}
	}
	return nil
}

func addrOf(a net.Addr) netip.Addr {
	if ta, ok := a.(*net.TCPAddr); ok {
		ip, _ := netip.AddrFromSlice(ta.IP)
		return ip.Unmap()
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

func (c *Conn) newChannel(ctx context.Context, nch sshwire.NewChannel) {
	switch t := nch.ChannelType(); t {
	case "session":
		c.mu.Lock()
		refuse := c.noMoreSessions
		c.mu.Unlock()
		if refuse {
			c.Log.Warn("session refused after no-more-sessions@openssh.com")
			nch.Reject(sshwire.Prohibited, "no more sessions")
			return
		}
		c.wg.Go(func() { c.session(ctx, nch) })
	case "direct-tcpip":
		c.wg.Go(func() { c.directTCPIP(ctx, nch) })
	case "direct-streamlocal@openssh.com":
		c.wg.Go(func() { c.directStreamlocal(ctx, nch) })
	default:
		if h, ok := c.srv.cfg.Channels[t]; ok {
			c.wg.Go(func() { h(ctx, c, nch) })
			return
		}
		c.Log.Info("channel refused", "type", t)
		nch.Reject(sshwire.UnknownChannelType, "unsupported channel type "+t)
	}
}

// serveRequests answers global requests one at a time, in order.
func (c *Conn) serveRequests(ctx context.Context, reqs <-chan *sshwire.Request) {
	defer close(c.reqsGone)
	for {
		select {
		case r, ok := <-reqs:
			if !ok {
				return
			}
			c.globalRequest(ctx, r)
		case done := <-c.flush:
			// Only this loop takes from reqs: what it holds now arrived
			// before the flush was asked for.
			for range len(reqs) {
				c.globalRequest(ctx, <-reqs)
			}
			close(done)
		}
	}
}

// answerQueued returns once every global request that arrived before it
// was called is answered. sshd reads one stream in order, so a proof of
// host keys asked for before a command's exec is answered before that
// command's exit; ssh(1) quits at its session's close without waiting for
// the proof, and a quick command would otherwise leave it unlearnt.
func (c *Conn) answerQueued() {
	done := make(chan struct{})
	select {
	case c.flush <- done:
	case <-c.reqsGone:
		return
	}
	select {
	case <-done:
	case <-c.reqsGone:
	}
}

func (c *Conn) globalRequest(ctx context.Context, r *sshwire.Request) {
	switch r.Type {
	case "tcpip-forward":
		c.tcpipForward(ctx, r)
	case "cancel-tcpip-forward":
		c.cancelTCPIPForward(r)
	case "streamlocal-forward@openssh.com":
		c.streamlocalForward(ctx, r)
	case "cancel-streamlocal-forward@openssh.com":
		c.cancelStreamlocalForward(r)
	case reqHostKeysProve:
		c.proveHostKeys(r)
	case "no-more-sessions@openssh.com":
		c.mu.Lock()
		c.noMoreSessions = true
		c.mu.Unlock()
		r.Reply(true, nil)
	default:
		// keepalive@openssh.com and anything unknown: sshd answers
		// failure, and the answer is what keeps the client alive.
		r.Reply(false, nil)
	}
}

// addForward registers a listener, failing once the connection is closed.
func (c *Conn) addForward(key string, l io.Closer) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	if _, dup := c.forwards[key]; dup {
		return false
	}
	c.forwards[key] = l
	return true
}

func (c *Conn) removeForward(key string) bool {
	c.mu.Lock()
	l, ok := c.forwards[key]
	delete(c.forwards, key)
	c.mu.Unlock()
	if ok {
		l.Close()
	}
	return ok
}

func (c *Conn) closeForwards() {
	c.mu.Lock()
	c.closed = true
	fw := c.forwards
	c.forwards = nil
	c.mu.Unlock()
	for _, l := range fw {
		l.Close()
	}
}
