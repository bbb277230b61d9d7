package forward

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/jumpgate/jumpgate/internal/sshconf"
	"github.com/jumpgate/jumpgate/internal/sshtest"
	"github.com/jumpgate/jumpgate/internal/sshwire"
)

// pairServer serves direct-tcpip on the server end of an in-memory pair
// as sshd does: it connects to the target and copies both ways.
func pairServer(server sshwire.Conn) {
	for nc := range server.HandleChannelOpen("") {
		var m directTCPIPMsg
		if nc.ChannelType() != "direct-tcpip" || ssh.Unmarshal(nc.ExtraData(), &m) != nil {
			nc.Reject(sshwire.UnknownChannelType, "unsupported")
			continue
		}
		c, err := net.Dial("tcp", net.JoinHostPort(m.Host, strconv.Itoa(int(m.Port))))
		if err != nil {
			nc.Reject(sshwire.ConnectionFailed, "Connection refused")
			continue
		}
		ch, reqs, err := nc.Accept()
		if err != nil {
			c.Close()
			continue
		}
		go sshwire.DiscardRequests(reqs)
		go join(ch, c.(halfConn))
	}
}

// A -L forward over the in-memory seam: no root, no sshd.
func TestLocalForwardOverPair(t *testing.T) {
	t.Parallel()
	client, server := sshtest.Pair()
	t.Cleanup(func() { client.Close() })
	go pairServer(server)
	target := upperServer(t, "tcp", "127.0.0.1:0").Addr().(*net.TCPAddr)
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := closed.Addr().(*net.TCPAddr).Port
	closed.Close()

	f := New(client, Options{})
	t.Cleanup(func() { f.Close() })
	tests := []struct {
		name string
		port int
		ok   bool
	}{
		{"bytes both ways with half-close", target.Port, true},
		{"refused target closes the local connection", closedPort, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr, err := f.Start(context.Background(), sshconf.Forward{Kind: sshconf.Local, ListenHost: "127.0.0.1", HasListenHost: true,
				ConnectHost: "127.0.0.1", ConnectPort: tt.port})
			if err != nil {
				t.Fatal(err)
			}
			c, err := net.Dial("tcp", addr.String())
			if err != nil {
				t.Fatal(err)
			}
			if tt.ok {
				roundTrip(t, c, strings.Repeat("over the pair ", 10000))
				return
			}
			defer c.Close()
			if b, err := io.ReadAll(c); len(b) != 0 || err != nil {
				t.Errorf("read %q, %v; want EOF at once", b, err)
			}
		})
	}
}

// A -R forward over the seam: the client asks for tcpip-forward and
// joins each forwarded-tcpip channel to the local target.
func TestRemoteForwardOverPair(t *testing.T) {
	t.Parallel()
	client, server := sshtest.Pair()
	t.Cleanup(func() { client.Close() })
	target := upperServer(t, "tcp", "127.0.0.1:0").Addr().(*net.TCPAddr)
	var asked tcpipForwardMsg
	go func() {
		for r := range server.GlobalRequests() {
			if r.Type == "tcpip-forward" && ssh.Unmarshal(r.Payload, &asked) == nil {
				r.Reply(true, binary.BigEndian.AppendUint32(nil, 4242))
				continue
			}
			r.Reply(false, nil)
		}
	}()
	f := New(client, Options{})
	t.Cleanup(func() { f.Close() })
	addr, err := f.Start(context.Background(), sshconf.Forward{Kind: sshconf.Remote, ListenHost: "127.0.0.1", HasListenHost: true,
		ConnectHost: "127.0.0.1", ConnectPort: target.Port})
	if err != nil {
		t.Fatal(err)
	}
	if asked.Port != 0 || !strings.HasSuffix(addr.String(), ":4242") {
		t.Fatalf("asked for %+v, listening on %v", asked, addr)
	}
	extra := ssh.Marshal(&forwardedTCPIPMsg{Addr: "127.0.0.1", Port: 4242, OrigAddr: "192.0.2.1", OrigPort: 5555})
	ch, reqs, err := server.OpenChannel(context.Background(), "forwarded-tcpip", extra)
	if err != nil {
		t.Fatal(err)
	}
	go sshwire.DiscardRequests(reqs)
	roundTrip(t, &sshwire.ChannelConn{Channel: ch}, "back through the client")
}
