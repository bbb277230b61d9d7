package sshwire

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"
)

// Dial opens a direct-tcpip channel (RFC 4254 section 7.2) to the
// "host:port" addr for network "tcp", or a direct-streamlocal@openssh.com
// channel (OpenSSH PROTOCOL 2.4) to the socket path addr for "unix", and
// returns it as a net.Conn whose addresses are placeholders and whose
// deadlines are not supported.
func Dial(ctx context.Context, c Conn, network, addr string) (net.Conn, error) {
	switch network {
	case "tcp", "tcp4", "tcp6":
		host, ps, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		port, err := strconv.ParseUint(ps, 10, 16)
		if err != nil {
			return nil, err
		}
		b := appendString(nil, host)
		b = appendUint32(b, uint32(port))
		b = appendString(b, "0.0.0.0")
		b = appendUint32(b, 0)
		ch, reqs, err := c.OpenChannel(ctx, "direct-tcpip", b)
		if err != nil {
			return nil, err
		}
		go DiscardRequests(reqs)
		zero := &net.TCPAddr{IP: net.IPv4zero}
		return &ChannelConn{Channel: ch, Local: zero, Remote: zero}, nil
	case "unix":
		b := appendString(nil, addr)
		b = appendString(b, "")
		b = appendUint32(b, 0)
		ch, reqs, err := c.OpenChannel(ctx, "direct-streamlocal@openssh.com", b)
		if err != nil {
			return nil, err
		}
		go DiscardRequests(reqs)
		go io.Copy(io.Discard, ch.Stderr())
		return &ChannelConn{Channel: ch, Local: &net.UnixAddr{Name: "@", Net: "unix"}, Remote: &net.UnixAddr{Name: addr, Net: "unix"}}, nil
	}
	return nil, fmt.Errorf("ssh: unsupported protocol: %s", network)
}

func appendUint32(b []byte, v uint32) []byte {
	return append(b, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

// ChannelConn is a channel as a net.Conn.
type ChannelConn struct {
	Channel
	Local, Remote net.Addr
}

// MessageSizer is implemented by a channel whose writes travel in
// messages of a bounded size and that cuts a long write itself: a writer
// hands it whole writes (sshio.ChannelWriter).
//
// ChannelConn does not pass it on, so what is copied into a forward or a
// master's relay goes in chunks of a packet each, not in whole reads cut
// and corked as one burst: through jump hosts' masters, uploads were 5-22%
// faster so, and two-hop uploads without masters no slower (docs/perf.md).
type MessageSizer interface {
	// MaxMessage is the most bytes one write sends as one message; 0 if
	// unknown.
	MaxMessage() int
}

// MinRTT is the channel's, if it tells: the smallest round trip of the
// path under the connection that carries it.
func (c *ChannelConn) MinRTT() time.Duration {
	if r, ok := c.Channel.(interface{ MinRTT() time.Duration }); ok {
		return r.MinRTT()
	}
	return 0
}

// Cork is the channel's, if it has one (sshio.Cork): it corks the socket
// under the connection that carries it.
func (c *ChannelConn) Cork() func() {
	if k, ok := c.Channel.(interface{ Cork() func() }); ok {
		return k.Cork()
	}
	return func() {}
}

// LocalAddr is Local.
func (c *ChannelConn) LocalAddr() net.Addr { return c.Local }

// RemoteAddr is Remote.
func (c *ChannelConn) RemoteAddr() net.Addr { return c.Remote }

var errDeadline = errors.New("ssh: channel: deadline not supported")

// SetDeadline is not supported.
func (c *ChannelConn) SetDeadline(time.Time) error { return errDeadline }

// SetReadDeadline is not supported.
func (c *ChannelConn) SetReadDeadline(time.Time) error { return errDeadline }

// SetWriteDeadline is not supported.
func (c *ChannelConn) SetWriteDeadline(time.Time) error { return errDeadline }
