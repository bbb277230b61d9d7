// Package forward runs ssh(1)'s port forwarding over an SSH client
// connection: local forwards (-L, LocalForward), remote forwards (-R,
// RemoteForward, including the SOCKS form), dynamic forwards (-D, a small
// SOCKS4/4a/5 server of our own) and Unix sockets on either side, as in
// RFC 4254 section 7 and OpenSSH's PROTOCOL (streamlocal).
//
// Flow: [Forwarder.Start] binds a local listener or asks the server to
// listen (tcpip-forward, streamlocal-forward@openssh.com); each accepted
// connection, or each forwarded channel the server opens, is joined to its
// other end by join, which copies both ways and propagates half-close.
// [Forwarder.Close] ends the listeners and every live connection and waits
// for their goroutines.
package forward

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"

	"github.com/jumpgate/jumpgate/internal/rawio"
	"github.com/jumpgate/jumpgate/internal/sshconf"
	"github.com/jumpgate/jumpgate/internal/sshwire"
	"github.com/jumpgate/jumpgate/internal/vlog"
)

// Client is what forwarding needs of an SSH client connection; an
// [sshwire.Conn] provides it.
type Client interface {
	OpenChannel(ctx context.Context, kind string, extra []byte) (sshwire.Channel, <-chan *sshwire.Request, error)
	SendRequest(ctx context.Context, name string, wantReply bool, payload []byte) (bool, []byte, error)
	HandleChannelOpen(kind string) <-chan sshwire.NewChannel
}

// Options are the ssh_config settings that shape forwards.
type Options struct {
	// GatewayPorts lets local forwards without a bind address listen on
	// every address instead of loopback only.
	GatewayPorts bool
	// BindUnlink removes an existing Unix socket file before listening
	// (StreamLocalBindUnlink).
	BindUnlink bool
	// BindMask is the umask of Unix sockets we create
	// (StreamLocalBindMask, default 0177).
	BindMask os.FileMode
	// Log receives ssh(1)'s messages ("Allocated port …", channel open
	// failures); nil discards them.
	Log *vlog.Logger
	// Dial connects to the local end of remote forwards; nil is a
	// net.Dialer.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// PermitRemoteOpen limits where the SOCKS form of a remote forward
	// may connect (ssh_config's PermitRemoteOpen): nil or "any" permits
	// every target, "none" none, else host:port entries ("*" for any).
	PermitRemoteOpen []string
	// Conns, if set, is told of every forwarded connection as it opens
	// (+1) and ends (-1): a multiplexing master stays up while any is
	// open, as OpenSSH's ControlPersist does.
	Conns func(delta int)
}

// Error is a forward that could not be started.
type Error struct {
	Forward sshconf.Forward
	Err     error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Forwarder runs the forwards of one client connection.
type Forwarder struct {
	c    Client
	o    Options
	ctx  context.Context
	stop context.CancelFunc
	wg   sync.WaitGroup // every goroutine but the channel-open readers

	handleOnce sync.Once

	mu      sync.Mutex
	closed  bool
	live    map[io.Closer]struct{} // listeners and connections
	remotes []*remote
	nextID  int // channel numbers for messages, as ssh(1) prints them
}

// New returns a Forwarder for c. Nothing is started until [Forwarder.Start].
func New(c Client, o Options) *Forwarder {
	if o.Dial == nil {
		var d net.Dialer
		o.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			nc, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return rawio.NewConn(nc), nil
		}
	}
	ctx, stop := context.WithCancel(context.Background())
	return &Forwarder{c: c, o: o, ctx: ctx, stop: stop, live: map[io.Closer]struct{}{}}
}

// Start starts one forward and returns where it listens: the local
// listener's address, or for a remote forward the address the server
// bound (with the allocated port when ListenPort was 0). It blocks until
// the server has answered a remote forward's request.
func (f *Forwarder) Start(ctx context.Context, fw sshconf.Forward) (net.Addr, error) {
	var (
		addr net.Addr
		err  error
	)
	switch fw.Kind {
	case sshconf.Local, sshconf.Dynamic:
		addr, err = f.startLocal(fw)
	case sshconf.Remote, sshconf.RemoteDynamic:
		addr, err = f.startRemote(ctx, fw)
	default:
		err = fmt.Errorf("unknown forward kind %v", fw.Kind)
	}
	if err != nil {
		return nil, &Error{Forward: fw, Err: err}
	}
	return addr, nil
}

// Close stops every forward and closes every forwarded connection, then
// waits for their goroutines to end. Remote listeners end with the SSH
// connection; Close does not cancel them on the server.
func (f *Forwarder) Close() error {
	f.mu.Lock()
	f.closed = true
	live := f.live
	f.live = map[io.Closer]struct{}{}
	for c := range live {
		f.counted(c, -1)
	}
	f.mu.Unlock()
	f.stop()
	for c := range live {
		c.Close()
	}
	f.wg.Wait()
	return nil
}

// track registers c to be closed by Close; false if Close has begun, in
// which case c has been closed.
func (f *Forwarder) track(c io.Closer) bool {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		c.Close()
		return false
	}
	f.live[c] = struct{}{}
	f.counted(c, +1)
	f.mu.Unlock()
	return true
}

func (f *Forwarder) untrack(c io.Closer) {
	f.mu.Lock()
	if _, ok := f.live[c]; ok {
		delete(f.live, c)
		f.counted(c, -1)
	}
	f.mu.Unlock()
}

// counted tells Options.Conns of a connection (not a listener) tracked
// or untracked; f.mu is held, so the count never goes below zero.
func (f *Forwarder) counted(c io.Closer, delta int) {
	if _, ln := c.(net.Listener); !ln && f.o.Conns != nil {
		f.o.Conns(delta)
	}
}

// channelID numbers forwarded connections for messages.
func (f *Forwarder) channelID() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	return f.nextID
}

// go runs fn as a tracked goroutine unless Close has begun.
func (f *Forwarder) spawn(fn func()) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return false
	}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		fn()
	}()
	return true
}

// openFailure words a refused channel as ssh(1) does: "connect failed:
// Connection refused".
func openFailure(err error) string {
	var oe *sshwire.OpenChannelError
	if errors.As(err, &oe) {
		if oe.Message == "" {
			return oe.Reason.String()
		}
		return oe.Reason.String() + ": " + oe.Message
	}
	return err.Error()
}

// hostPort joins host and port, bracketing IPv6 literals.
func hostPort(host string, port int) string {
	return net.JoinHostPort(host, strconv.Itoa(port))
}
