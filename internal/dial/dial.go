// Package dial connects to a destination the way ssh(1) does, but natively:
// a direct TCP connection (ConnectTimeout, ConnectionAttempts,
// AddressFamily, BindAddress), a ProxyCommand, or a chain of jump hosts
// (ProxyJump, -J) where each hop is an SSH client of its own, resolved
// through the config, host-key checked and authenticated, and the next hop
// is reached through a direct-tcpip channel of the previous one. No hop
// needs nc or anything else installed.
package dial

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jumpgate/jumpgate/internal/engine"
	"github.com/jumpgate/jumpgate/internal/rawio"
	"github.com/jumpgate/jumpgate/internal/sshconf"
	"github.com/jumpgate/jumpgate/internal/sshconn"
	"github.com/jumpgate/jumpgate/internal/sshwire"
	"github.com/jumpgate/jumpgate/internal/vlog"
)

// maxHops bounds a jump chain, so that a config whose hosts jump through
// each other ends with an error instead of recursing forever.
const maxHops = 16

// ResolveFunc resolves the configuration of a jump host as ssh(1) does for
// the `ssh -l user -p port -J extra -W … host` it runs for that hop: the
// hop's own config, with user, port and (when extra is not "") ProxyJump
// from the jump spec, and -W's defaults.
type ResolveFunc func(hop Hop, extra string) (*sshconf.Host, error)

// Dialer connects to resolved hosts.
type Dialer struct {
	// Resolve resolves jump hosts. Required for ProxyJump.
	Resolve  ResolveFunc
	Prompter sshconn.Prompter
	// Log is the destination's logger; hops log to it too.
	Log *vlog.Logger
	// Warn receives user-facing warnings (known_hosts additions…).
	Warn   io.Writer
	Getenv func(string) string
	// Stderr receives a ProxyCommand's standard error.
	Stderr io.Writer
	// Banner receives the server's pre-auth banner, if any; nil drops it.
	Banner io.Writer
	// ViaMaster, when set, is asked first for a connection to addr
	// through the jump host hop (connection multiplexing: the hop's
	// master opens it, so the hop is not authenticated again). It returns
	// nil, nil when it cannot help, and the hop is then dialled directly.
	ViaMaster func(ctx context.Context, hop *sshconf.Host, addr string) (net.Conn, error)
	// ResolveDomain, when set, makes a host whose HostName is
	// HOST/DOMAIN (hyper2/vm1) the libvirt domain DOMAIN on the
	// hypervisor HOST, reached through it ([Dialer.dialDomain]).
	ResolveDomain DomainResolver
	// Handshake runs the SSH handshake; nil means our engine's.
	Handshake sshwire.ClientHandshake
}

// Conn is an authenticated connection to a destination, together with the
// jump hosts it runs through.
type Conn struct {
	// Conn is the SSH connection; Conn's own Close also ends the jump
	// hosts under it.
	sshwire.Conn
	Host   *sshconf.Host
	Auth   *sshconn.Client // for ForwardAgent, HostKeyUnsafe
	Via    *Conn           // the jump host this connection runs through, or nil
	Dialed time.Duration   // time to connect and authenticate
	closer io.Closer       // ProxyCommand process, if any
	count  *countingConn
}

// Transferred is what went over the wire of this connection (its
// encrypted packets, as ssh(1)'s "Transferred:" line counts) and for how
// long it has been up.
func (c *Conn) Transferred() (sent, received int64, up time.Duration) {
	if c.count == nil {
		return 0, 0, 0
	}
	return c.count.sent.Load(), c.count.received.Load(), time.Since(c.count.start)
}

// countingConn counts the bytes a connection carries.
type countingConn struct {
	net.Conn
	start          time.Time
	sent, received atomic.Int64
}

// NetConn is the conn c counts (sshio.MinRTT looks through it).
func (c *countingConn) NetConn() net.Conn { return c.Conn }

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.received.Add(int64(n))
	return n, err
}

func (c *countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.sent.Add(int64(n))
	return n, err
}

// Close closes the connection and, after it, its jump hosts.
func (c *Conn) Close() error {
	err := c.Conn.Close()
	c.Auth.Close()
	if c.closer != nil {
		c.closer.Close()
	}
	if c.Via != nil {
		c.Via.Close()
	}
	return err
}

// Chain names the hosts from the first jump host to this one.
func (c *Conn) Chain() []string {
	var names []string
	for x := c; x != nil; x = x.Via {
		names = append([]string{x.Host.Original()}, names...)
	}
	return names
}

// HopError is a failure at a jump host on the way to the destination.
type HopError struct {
	Hop string // the jump host as named in the chain
	Err error
}

func (e *HopError) Error() string { return fmt.Sprintf("jump host %s: %v", e.Hop, e.Err) }
func (e *HopError) Unwrap() error { return e.Err }

// Dial connects to h and authenticates.
func (d *Dialer) Dial(ctx context.Context, h *sshconf.Host) (*Conn, error) {
	return d.dial(ctx, h, 0)
}

func (d *Dialer) dial(ctx context.Context, h *sshconf.Host, depth int) (*Conn, error) {
	if depth > maxHops {
		return nil, fmt.Errorf("jump chain longer than %d hops (do the jump hosts' ProxyJump settings loop?)", maxHops)
	}
	if hyper, domain, ok := SplitDomain(h.Hostname()); ok && d.ResolveDomain != nil {
		return d.dialDomain(ctx, h, hyper, domain, depth)
	}
	start := time.Now()
	log := d.Log
	port, _ := strconv.Atoi(h.Get("port"))
	if port == 0 {
		port = 22
	}
	target := h.Hostname()
	addr := net.JoinHostPort(target, strconv.Itoa(port))

	var (
		conn   net.Conn
		via    *Conn
		closer io.Closer
	)
	switch pj, pc := h.Get("proxyjump"), h.Get("proxycommand"); {
	case pj != "" && !strings.EqualFold(pj, "none"):
		hops, err := ParseJumpList(pj)
		if err != nil || len(hops) == 0 {
			return nil, fmt.Errorf("ProxyJump %q: %w", pj, err)
		}
		last := hops[len(hops)-1]
		extra := JoinJumpList(hops[:len(hops)-1])
		hh, err := d.Resolve(last, extra)
		if err != nil {
			return nil, &HopError{Hop: last.Host, Err: err}
		}
		if d.ViaMaster != nil {
			if conn, err = d.ViaMaster(ctx, hh, addr); err != nil {
				return nil, &HopError{Hop: last.Host, Err: err}
			}
			if conn != nil {
				log.Debugf("Connecting to %s [%s] port %d through the master of jump host %s.", h.Original(), target, port, last.Host)
				break
			}
		}
		via, err = d.dial(ctx, hh, depth+1)
		if err != nil {
			var he *HopError
			if errors.As(err, &he) {
				return nil, err
			}
			return nil, &HopError{Hop: last.Host, Err: err}
		}
		log.Debugf("Connecting to %s [%s] port %d through jump host %s.", h.Original(), target, port, last.Host)
		conn, err = dialVia(ctx, via.Conn, addr)
		if err != nil {
			via.Close()
			return nil, &HopError{Hop: last.Host, Err: fmt.Errorf("cannot reach %s port %d from there: %w", target, port, err)}
		}
	case pc != "" && !strings.EqualFold(pc, "none"):
		cmd, err := h.Expand(pc)
		if err != nil {
			return nil, fmt.Errorf("ProxyCommand: %w", err)
		}
		log.Debugf("Executing proxy command: exec %s", cmd)
		shell := ""
		if d.Getenv != nil {
			shell = d.Getenv("SHELL")
		}
		pconn, err := proxyCommand(ctx, shell, cmd, d.Stderr)
		if err != nil {
			return nil, err
		}
		conn, closer = pconn, pconn
	default:
		var err error
		conn, err = dialTCP(ctx, h, target, port, log)
		if err != nil {
			return nil, err
		}
	}

	c, err := d.handshake(ctx, h, conn, addr)
	if err != nil {
		conn.Close()
		if closer != nil {
			closer.Close()
		}
		if via != nil {
			via.Close()
		}
		return nil, err
	}
	c.Via, c.closer = via, closer
	c.Dialed = time.Since(start)
	return c, nil
}

// dialVia opens a direct-tcpip channel through client, as `ssh -W` would.
func dialVia(ctx context.Context, client sshwire.Conn, addr string) (net.Conn, error) {
	c, err := sshwire.Dial(ctx, client, "tcp", addr)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, channelError(err)
	}
	// Written in the goroutine that writes the connection inside: each
	// hop's encryption in a goroutine of its own (a queue between them)
	// ran two-hop uploads at 0.62-0.76x OpenSSH on the quiet 2-core
	// machine, against 1.00-1.05x this way (docs/perf.md).
	return c, nil
}

// channelError turns "ssh: rejected: connect failed (Connection refused)"
// into ssh(1)'s words.
func channelError(err error) error {
	return errors.New(OpenFailure(err))
}

// OpenFailure words a refused channel open as ssh(1) does after "open
// failed: ": the reason, then the server's message ("connect failed:
// Connection refused").
func OpenFailure(err error) string {
	var oe *sshwire.OpenChannelError
	if errors.As(err, &oe) {
		if oe.Message == "" {
			return oe.Reason.String()
		}
		return oe.Reason.String() + ": " + oe.Message
	}
	return err.Error()
}

// handshake runs the SSH handshake and authentication over conn.
func (d *Dialer) handshake(ctx context.Context, h *sshconf.Host, conn net.Conn, addr string) (*Conn, error) {
	log := d.Log
	// A socket's reads and writes skip the scheduler's system-call
	// bookkeeping: see rawio.
	conn = rawio.NewConn(conn)
	count := &countingConn{Conn: conn, start: time.Now()}
	conn = count
	auth, err := sshconn.NewClient(ctx, sshconn.Config{
		Host: h, Prompter: d.Prompter, Log: log, Warn: d.Warn, Getenv: d.Getenv,
	})
	if err != nil {
		return nil, err
	}
	cfg := *auth.Config
	if d.Banner != nil && log.Enabled(vlog.Info) {
		cfg.BannerCallback = func(msg string) error {
			_, err := io.WriteString(d.Banner, msg)
			return err
		}
	}
	// The handshake blocks on the network; closing conn when ctx ends
	// unblocks it.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	hc := net.Conn(conn)
	if t := connectTimeout(h); t > 0 && conn.SetDeadline(time.Now().Add(t)) == nil {
		// As ssh(1), ConnectTimeout covers the wait for the server's
		// identification, not the user typing a passphrase later.
		hc = &bannerDeadline{Conn: conn}
	}
	handshake := d.Handshake
	if handshake == nil {
		handshake = engine.Client
	}
	cc, err := handshake(newReadBuffered(hc), addr, &cfg)
	if err != nil {
		auth.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &HandshakeError{Host: h, Method: auth.Method(), Err: err}
	}
	// Our engine logged these during the exchange (a HostProver is ours).
	if _, ours := cc.(sshwire.HostProver); !ours && cc.Algorithms().KeyExchange != "" {
		a := cc.Algorithms()
		log.Debugf("kex: algorithm: %s", a.KeyExchange)
		log.Debugf("kex: host key algorithm: %s", a.HostKey)
		log.Debugf("kex: server->client cipher: %s MAC: %s compression: none", a.Read.Cipher, macName(a.Read))
		log.Debugf("kex: client->server cipher: %s MAC: %s compression: none", a.Write.Cipher, macName(a.Write))
	}
	log.Verbosef("Authenticated to %s ([%s]:%s) using %q.", h.Hostname(), hostOf(conn.RemoteAddr(), h.Hostname()), h.Get("port"), auth.Method())
	return &Conn{Conn: cc, Host: h, Auth: auth, count: count}, nil
}

func macName(d sshwire.DirectionAlgorithms) string {
	if strings.Contains(d.Cipher, "gcm") || strings.Contains(d.Cipher, "poly1305") {
		return "<implicit>"
	}
	return d.MAC
}

func hostOf(a net.Addr, fallback string) string {
	if ta, ok := a.(*net.TCPAddr); !ok || ta.IP.IsUnspecified() {
		// A channel through a jump host or a ProxyCommand pipe.
		return fallback
	}
	if h, _, err := net.SplitHostPort(a.String()); err == nil {
		return h
	}
	return a.String()
}

// HandshakeError is a failed SSH handshake or authentication.
type HandshakeError struct {
	Host   *sshconf.Host
	Method string // last authentication method tried
	Err    error
}

func (e *HandshakeError) Error() string { return e.Err.Error() }
func (e *HandshakeError) Unwrap() error { return e.Err }

// AuthFailed reports whether the server was reached and refused every
// authentication method (ssh(1)'s "Permission denied").
func (e *HandshakeError) AuthFailed() bool {
	var af sshwire.AuthFailure
	return errors.As(e.Err, &af)
}

// Methods is the list of methods tried, for "Permission denied (…)".
func (e *HandshakeError) Methods() string {
	var af sshwire.AuthFailure
	if !errors.As(e.Err, &af) {
		return e.Method
	}
	var out []string
	for _, m := range af.AttemptedMethods() {
		if m != "none" {
			out = append(out, m)
		}
	}
	if len(out) == 0 {
		return e.Method
	}
	return strings.Join(out, ",")
}

// bannerDeadline clears the connection's deadline once the first bytes
// from the server have arrived.
type bannerDeadline struct {
	net.Conn
	seen bool
}

// NetConn is the conn c watches.
func (c *bannerDeadline) NetConn() net.Conn { return c.Conn }

func (c *bannerDeadline) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 && !c.seen {
		c.seen = true
		c.Conn.SetDeadline(time.Time{})
	}
	return n, err
}

func connectTimeout(h *sshconf.Host) time.Duration {
	v := h.Get("connecttimeout")
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return 0
	}
	return time.Duration(n) * time.Second
}

// readBufferSize is how much a connection's reader takes at once.
const readBufferSize = 256 << 10

// readBuffered is the connection an SSH transport runs on, read through a
// large buffer: x/crypto/ssh reads its transport 4 KiB at a time, so a
// packet's header and body were separate reads (system calls, or wake-ups
// of a jump host's channel reader). One read now takes all that has
// arrived, up to 256 KiB (docs/perf.md).
type readBuffered struct {
	net.Conn
	r *bufio.Reader
}

func newReadBuffered(c net.Conn) *readBuffered {
	return &readBuffered{Conn: c, r: bufio.NewReaderSize(c, readBufferSize)}
}

func (c *readBuffered) Read(p []byte) (int, error) { return c.r.Read(p) }

// NetConn is the conn c reads.
func (c *readBuffered) NetConn() net.Conn { return c.Conn }
