package forward

import (
	"context"
	"io"
	"net"
	"testing"

	"github.com/jumpgate/jumpgate/internal/sshconf"
)

// BenchmarkLocalForward pushes 4 MiB per iteration through a local
// forward to a sink, over our in-process server on loopback: the cost of
// the join and channel path without the network.
func BenchmarkLocalForward(b *testing.B) {
	c := startServer(b)
	sink, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer sink.Close()
	go func() {
		for {
			s, err := sink.Accept()
			if err != nil {
				return
			}
			go func() {
				io.Copy(io.Discard, s)
				s.Close()
			}()
		}
	}()
	f := New(c, Options{})
	defer f.Close()
	port := sink.Addr().(*net.TCPAddr).Port
	addr, err := f.Start(context.Background(), sshconf.Forward{Kind: sshconf.Local, ListenHost: "127.0.0.1", HasListenHost: true,
		ConnectHost: "127.0.0.1", ConnectPort: port})
	if err != nil {
		b.Fatal(err)
	}
	conn, err := net.Dial("tcp", addr.String())
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	buf := make([]byte, 4<<20)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := conn.Write(buf); err != nil {
			b.Fatal(err)
		}
	}
}
