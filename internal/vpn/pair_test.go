package vpn

import (
	"bytes"
	"context"
	"encoding/binary"
	"testing"

	"github.com/jumpgate/jumpgate/internal/sshtest"
	"github.com/jumpgate/jumpgate/internal/sshwire"
)

// ipPacket is an IPv4 or IPv6 packet of n bytes whose length fields are
// right, filled with a pattern.
func ipPacket(version byte, n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i * 7)
	}
	p[0] = version << 4
	if version == 4 {
		p[0] |= 5
		binary.BigEndian.PutUint16(p[2:], uint16(n))
	} else {
		binary.BigEndian.PutUint16(p[4:], uint16(n-40))
	}
	return p
}

// A layer-3 tun@openssh.com stream over the in-memory seam, whose
// channels keep message boundaries as OpenSSH's do: each packet we write
// is one message with its address family, and the far end's messages
// are read back as the same packets.
func TestTunChannelOverPair(t *testing.T) {
	t.Parallel()
	packets := []struct {
		name string
		p    []byte
		af   uint32
	}{
		{"small IPv4", ipPacket(4, 28), afInet},
		{"full IPv4", ipPacket(4, 1500), afInet},
		{"IPv6", ipPacket(6, 48), afInet6},
	}
	client, server := sshtest.Pair()
	t.Cleanup(func() { client.Close() })
	go func() {
		for r := range server.GlobalRequests() {
			r.Reply(false, nil) // keepalive@openssh.com, as sshd answers
		}
	}()
	type opened struct {
		o   TunOpen
		ch  sshwire.Channel
		err error
	}
	far := make(chan opened, 1)
	go func() {
		nc := <-server.HandleChannelOpen("")
		o, err := ParseTunOpen(nc.ExtraData())
		if err != nil || nc.ChannelType() != TunChannelType {
			nc.Reject(sshwire.Prohibited, "not a tunnel")
			far <- opened{err: err}
			return
		}
		ch, reqs, err := nc.Accept()
		if err == nil {
			go sshwire.DiscardRequests(reqs)
		}
		far <- opened{o, ch, err}
	}()
	ch, reqs, err := client.OpenChannel(context.Background(), TunChannelType, TunOpen{Mode: uint32(L3), Unit: AnyUnit}.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	go sshwire.DiscardRequests(reqs)
	f := <-far
	if f.err != nil || f.o.Mode != uint32(L3) || f.o.Unit != AnyUnit {
		t.Fatalf("far end: %+v", f)
	}
	w := NewPacedL3Writer(ch, func() error {
		_, _, err := client.SendRequest(context.Background(), "keepalive@openssh.com", true, nil)
		return err
	})
	farReader := f.ch.(sshwire.PacketReader)
	r := NewL3Reader(ch, 1500)
	for _, tt := range packets {
		t.Run(tt.name, func(t *testing.T) {
			if err := w.WritePacket(tt.p); err != nil {
				t.Fatal(err)
			}
			msg, err := farReader.ReadPacket()
			if err != nil {
				t.Fatal(err)
			}
			if len(msg) != 4+len(tt.p) || binary.BigEndian.Uint32(msg) != tt.af || !bytes.Equal(msg[4:], tt.p) {
				t.Fatalf("message of %d bytes, af %d; want one message of %d bytes, af %d", len(msg), binary.BigEndian.Uint32(msg), 4+len(tt.p), tt.af)
			}
			// The far end sends it back as one message.
			if _, err := f.ch.Write(msg); err != nil {
				t.Fatal(err)
			}
			got, err := r.ReadPacket()
			if err != nil || !bytes.Equal(got, tt.p) {
				t.Fatalf("read back %d bytes, %v; want the %d-byte packet", len(got), err, len(tt.p))
			}
		})
	}
}
