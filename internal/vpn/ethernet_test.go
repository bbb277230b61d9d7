package vpn

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/netip"
	"slices"
	"testing"

	"github.com/jumpgate/jumpgate/internal/sshtest"
	"github.com/jumpgate/jumpgate/internal/sshwire"
)

// ethFrame is an Ethernet frame carrying p (IPv4 or IPv6 by its version).
func ethFrame(p []byte) []byte {
	h := []byte{2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00}
	if p[0]>>4 == 6 {
		h[12], h[13] = 0x86, 0xdd
	}
	return append(h, p...)
}

// openL2 opens a layer-2 tun@openssh.com channel over the in-memory seam
// and returns both ends.
func openL2(t *testing.T) (near, far sshwire.Channel) {
	t.Helper()
	client, server := sshtest.Pair()
	t.Cleanup(func() { client.Close() })
	got := make(chan sshwire.Channel, 1)
	go func() {
		nc := <-server.HandleChannelOpen("")
		o, err := ParseTunOpen(nc.ExtraData())
		if err != nil || o.Mode != uint32(L2) {
			nc.Reject(sshwire.Prohibited, "not a layer-2 tunnel")
			got <- nil
			return
		}
		ch, reqs, _ := nc.Accept()
		go sshwire.DiscardRequests(reqs)
		got <- ch
	}()
	ch, reqs, err := client.OpenChannel(context.Background(), TunChannelType, TunOpen{Mode: uint32(L2), Unit: 3}.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	go sshwire.DiscardRequests(reqs)
	f := <-got
	if f == nil {
		t.Fatal("far end refused")
	}
	return ch, f
}

// Layer-2 tun@openssh.com carries each frame as one message with nothing
// before it, as sshd does (no address family in ethernet mode).
func TestL2OverPair(t *testing.T) {
	t.Parallel()
	near, far := openL2(t)
	m, err := asMessageChannel(near)
	if err != nil {
		t.Fatal(err)
	}
	w, r := NewL2Writer(m), NewL2Reader(m, 1500)
	farR := far.(sshwire.PacketReader)
	for _, f := range [][]byte{ethFrame(ipPacket(4, 46)), ethFrame(ipPacket(6, 1500)), ethFrame(ipPacket(4, 28))[:14]} {
		if err := w.WritePacket(f); err != nil {
			t.Fatal(err)
		}
		msg, err := farR.ReadPacket()
		if err != nil || !bytes.Equal(msg, f) {
			t.Fatalf("far end read %d bytes, %v; want the %d-byte frame as it is", len(msg), err, len(f))
		}
		if _, err := far.Write(msg); err != nil {
			t.Fatal(err)
		}
		back, err := r.ReadPacket()
		if err != nil || !bytes.Equal(back, f) {
			t.Fatalf("read back %d bytes, %v; want the %d-byte frame", len(back), err, len(f))
		}
	}
	// Not a frame: dropped on the way out, refused on the way in.
	if err := w.WritePacket(make([]byte, 13)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		msg  []byte
		want error
	}{
		{make([]byte, 13), ErrBadFrame},
		{make([]byte, 1500+ethHeader+vlanTag+1), ErrPacketTooLong},
	} {
		far.Write(tc.msg)
		if _, err := r.ReadPacket(); !errors.Is(err, tc.want) {
			t.Errorf("message of %d bytes: %v, want %v", len(tc.msg), err, tc.want)
		}
	}
	far.Close()
	if _, err := r.ReadPacket(); err != io.EOF {
		t.Errorf("after close: %v", err)
	}
}

// A channel that joins messages cannot carry frames.
func TestL2NeedsMessages(t *testing.T) {
	t.Parallel()
	if _, err := asMessageChannel(struct{ sshwire.Channel }{}); !errors.Is(err, ErrNoMessages) {
		t.Errorf("plain channel: %v, want ErrNoMessages", err)
	}
}

func TestL2OffloadWriter(t *testing.T) {
	t.Parallel()
	const mtu = 1500
	for _, tc := range []struct {
		name     string
		src, dst netip.Addr
		gso      byte
	}{
		{"IPv4", netip.MustParseAddr("198.18.3.99"), netip.MustParseAddr("198.18.3.11"), vnetGSOTCPv4},
		{"IPv6", netip.MustParseAddr("2001:2::99"), netip.MustParseAddr("2001:2::11"), vnetGSOTCPv6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			payload := make([]byte, 20000)
			for i := range payload {
				payload[i] = byte(i)
			}
			p := tcpPacket(tc.src, tc.dst, 1000, 0x18, payload)
			s, o := partial(p)
			frame := ethFrame(p)
			var c collect
			w := NewL2OffloadWriter(&c, mtu)
			mss := mtu - 40 - 20
			if err := w.WritePacket(vnetFrame(vnetFlagNeedsCsum, tc.gso, mss, ethHeader+s, o, frame)); err != nil {
				t.Fatal(err)
			}
			if want := (len(payload) + mss - 1) / mss; len(c.pkts) != want {
				t.Fatalf("%d frames, want %d", len(c.pkts), want)
			}
			var got []byte
			for _, f := range c.pkts {
				if len(f) > mtu+ethHeader || !bytes.Equal(f[:ethHeader], frame[:ethHeader]) {
					t.Fatalf("frame of %d bytes (MTU %d), header %x", len(f), mtu, f[:ethHeader])
				}
				checkTCP(t, f[ethHeader:])
				ipLen := 20
				if tc.src.Is6() {
					ipLen = 40
				}
				got = append(got, f[ethHeader+ipLen+20:]...)
			}
			if !bytes.Equal(got, payload) {
				t.Error("the frames' payloads do not add up to the segment's")
			}

			// A frame within the MTU only gets its checksum finished.
			small := tcpPacket(tc.src, tc.dst, 1, 0x18, payload[:100])
			s, o = partial(small)
			c = collect{}
			if err := w.WritePacket(vnetFrame(vnetFlagNeedsCsum, vnetGSONone, 0, ethHeader+s, o, ethFrame(small))); err != nil {
				t.Fatal(err)
			}
			if len(c.pkts) != 1 || len(c.pkts[0]) != ethHeader+len(small) {
				t.Fatalf("small frame: %d frames", len(c.pkts))
			}
			checkTCP(t, c.pkts[0][ethHeader:])
		})
	}
}

func FuzzL2OffloadWriter(f *testing.F) {
	p := tcpPacket(netip.MustParseAddr("198.18.3.99"), netip.MustParseAddr("198.18.3.11"), 1, 0x10, make([]byte, 5000))
	s, o := partial(p)
	f.Add(vnetFrame(vnetFlagNeedsCsum, vnetGSOTCPv4, 1448, ethHeader+s, o, ethFrame(p)))
	tagged := slices.Concat(ethFrame(p)[:12], []byte{0x81, 0, 0, 5}, ethFrame(p)[12:])
	f.Add(vnetFrame(vnetFlagNeedsCsum, vnetGSOTCPv4, 1448, ethHeader+vlanTag+s, o, tagged))
	f.Add(vnetFrame(vnetFlagNeedsCsum, vnetGSONone, 0, 0xffff, 0xffff, ethFrame(p[:60])))
	f.Fuzz(func(t *testing.T, b []byte) {
		const mtu = 1400
		var c collect
		if err := NewL2OffloadWriter(&c, mtu).WritePacket(b); err != nil {
			t.Fatal(err)
		}
		for _, f := range c.pkts {
			if len(f) < ethHeader {
				t.Fatalf("sent a frame of %d bytes", len(f))
			}
			if len(f) > mtu+ethHeader+vlanTag && len(f) != len(b)-vnetHdrLen {
				t.Fatalf("cut a frame of %d bytes (MTU %d)", len(f), mtu)
			}
		}
	})
}

func TestPermitTunnel(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		s      string
		l3, l2 bool
	}{
		{"yes", true, true}, {"point-to-point", true, false}, {"ethernet", false, true}, {"no", false, false},
	} {
		p, err := ParsePermitTunnel(tc.s)
		if err != nil || p.Allows(L3) != tc.l3 || p.Allows(L2) != tc.l2 || p.Allows(Mode(3)) {
			t.Errorf("%s: %v, %v; l3 %v l2 %v", tc.s, p, err, p.Allows(L3), p.Allows(L2))
		}
	}
	if _, err := ParsePermitTunnel("true"); err == nil {
		t.Error("PermitTunnel true accepted")
	}
}

// A mode the server does not permit is refused before any device is
// made, as sshd refuses it.
func TestServeTunChannelRefuses(t *testing.T) {
	t.Parallel()
	client, server := sshtest.Pair()
	t.Cleanup(func() { client.Close() })
	go func() {
		for nc := range server.HandleChannelOpen("") {
			go ServeTunChannel(context.Background(), nc, PermitPointToPoint, slog.New(slog.DiscardHandler))
		}
	}()
	_, _, err := client.OpenChannel(context.Background(), TunChannelType, TunOpen{Mode: uint32(L2), Unit: AnyUnit}.Marshal())
	var oe *sshwire.OpenChannelError
	if !errors.As(err, &oe) || oe.Reason != sshwire.Prohibited {
		t.Errorf("layer 2 under point-to-point: %v, want administratively prohibited", err)
	}
}
