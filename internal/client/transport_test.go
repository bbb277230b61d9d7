package client

import (
	"errors"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/jumpgate/jumpgate/internal/sshwire"
)

// endedConn is a connection that ended with err.
type endedConn struct {
	sshwire.Conn
	err    error
	remote net.Addr
}

func (c endedConn) Wait() error          { return c.err }
func (c endedConn) RemoteAddr() net.Addr { return c.remote }

func TestTransportFailure(t *testing.T) {
	t.Parallel()
	tcp := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 4242}
	pipe := &net.UnixAddr{Name: "@", Net: "unix"}
	for _, tc := range []struct {
		err    error
		remote net.Addr
		want   string
	}{
		{errors.New("ssh: MAC failure"), tcp, "Corrupted MAC on input.\r\nssh_dispatch_run_fatal: Connection to 127.0.0.1 port 4242: message authentication code incorrect"},
		{errors.New("chacha20poly1305: message authentication failed"), pipe, "Corrupted MAC on input.\r\nssh_dispatch_run_fatal: Connection to UNKNOWN port 65535: message authentication code incorrect"},
		{errors.New("ssh: invalid packet length, packet too large"), tcp, "Bad packet length.\r\n"},
		{errors.New("ssh: illegal padding 3"), tcp, "padding error: illegal padding 3\r\n"},
		{errors.New("ssh: message authentication code incorrect"), tcp, "Corrupted MAC on input.\r\nssh_dispatch_run_fatal: Connection to 127.0.0.1 port 4242: message authentication code incorrect"},
		{errors.New("ssh: bad packet length"), tcp, "Bad packet length.\r\n"},
		{errors.New("ssh: bad packet padding"), tcp, "padding error: bad packet padding\r\n"},
		{io.EOF, tcp, ""},
		{nil, tcp, ""},
		{errors.New("ssh: disconnect, reason 11: bye"), tcp, ""},
	} {
		got := transportFailure(endedConn{err: tc.err, remote: tc.remote})
		if tc.want == "" && got != "" || tc.want != "" && !strings.HasPrefix(got, tc.want) {
			t.Errorf("%v: got %q, want %q", tc.err, got, tc.want)
		}
	}
}
