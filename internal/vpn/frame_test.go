package vpn

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net/netip"
	"os"
	"slices"
	"testing"
)

func seed(f *testing.F, name string) {
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
}

func TestFrameRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		packets [][]byte
	}{
		{"one", [][]byte{[]byte("hello")}},
		{"many", [][]byte{bytes.Repeat([]byte{1}, 1500), {2}, bytes.Repeat([]byte{3}, 9000)}},
		{"over a batch", func() [][]byte {
			var p [][]byte
			for i := range 200 {
				p = append(p, bytes.Repeat([]byte{byte(i)}, 1400))
			}
			return p
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			w := NewFrameWriter(&buf)
			for _, p := range tt.packets {
				if err := w.WritePacket(p); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			r := NewFrameReader(&buf, 9014)
			for i, want := range tt.packets {
				got, err := r.ReadPacket()
				if err != nil || !bytes.Equal(got, want) {
					t.Fatalf("packet %d: %d bytes, %v; want %d bytes", i, len(got), err, len(want))
				}
			}
			if _, err := r.ReadPacket(); err != io.EOF {
				t.Errorf("after the last packet: %v, want EOF", err)
			}
		})
	}
}

func TestFrameBadInput(t *testing.T) {
	t.Parallel()
	hdr := func(n uint32) []byte { return binary.BigEndian.AppendUint32(nil, n) }
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"longer than the MTU", hdr(1515), ErrPacketTooLong},
		{"empty frame", hdr(0), ErrBadFrame},
		{"truncated header", []byte{0, 0}, io.ErrUnexpectedEOF},
		{"truncated packet", append(hdr(10), 1, 2, 3), io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := NewFrameReader(bytes.NewReader(tt.in), 1514).ReadPacket()
			if !errors.Is(err, tt.want) {
				t.Errorf("err %v, want %v", err, tt.want)
			}
		})
	}
}

// FuzzFrame decodes arbitrary streams without panicking, and re-encodes
// what it decoded into the same bytes.
func FuzzFrame(f *testing.F) {
	seed(f, "frames.bin")
	f.Add([]byte{0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, in []byte) {
		r := NewFrameReader(bytes.NewReader(in), 1514)
		var out bytes.Buffer
		w := NewFrameWriter(&out)
		for {
			p, err := r.ReadPacket()
			if err != nil {
				break
			}
			if len(p) == 0 || len(p) > 1514 {
				t.Fatalf("decoded a packet of %d bytes", len(p))
			}
			if err := w.WritePacket(p); err != nil {
				t.Fatal(err)
			}
		}
		w.Flush()
		if !bytes.HasPrefix(in, out.Bytes()) {
			t.Fatalf("re-encoding differs from the input")
		}
	})
}

func TestOffloadReaderRejects(t *testing.T) {
	t.Parallel()
	frame := func(flags, gso byte, size uint16, n int) []byte {
		h := make([]byte, vnetHdrLen, vnetHdrLen+n)
		h[0], h[1] = flags, gso
		binary.NativeEndian.PutUint16(h[4:6], size)
		p := append(h, bytes.Repeat([]byte{0x45}, n)...)
		return append(binary.BigEndian.AppendUint32(nil, uint32(len(p))), p...)
	}
	tests := []struct {
		name string
		in   []byte
		want error // nil: accepted
	}{
		{"plain packet of the MTU", frame(0, vnetGSONone, 0, 1514), nil},
		{"TCPv4 segment of 64 KiB", frame(1, vnetGSOTCPv4, 1448, 65000), nil},
		{"TCPv6 segment with ECN", frame(1, vnetGSOTCPv6|vnetGSOECN, 1428, 30000), nil},
		{"plain packet over the MTU", frame(0, vnetGSONone, 0, 1515), ErrPacketTooLong},
		{"segments over the MTU", frame(1, vnetGSOTCPv4, 1501, 3000), ErrPacketTooLong},
		{"segments of 0 bytes", frame(1, vnetGSOTCPv4, 0, 3000), ErrPacketTooLong},
		{"UDP segmentation, not offered", frame(1, 3, 1400, 3000), ErrBadFrame},
		{"truncated offload header", append(binary.BigEndian.AppendUint32(nil, 4), 0, 1, 2, 3), ErrBadFrame},
		{"longer than any packet", binary.BigEndian.AppendUint32(nil, MaxFrame+1), ErrPacketTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := NewPeerReader(bytes.NewReader(tt.in), 1500, true).ReadPacket()
			if !errors.Is(err, tt.want) {
				t.Errorf("err %v, want %v", err, tt.want)
			}
		})
	}
}

// FuzzOffloadFrame decodes arbitrary streams as an offloaded tunnel's
// frames without panicking; what it accepts has a whole header and fits
// the limits it checks.
func FuzzOffloadFrame(f *testing.F) {
	seed(f, "frames.bin")
	f.Add(append([]byte{0, 0, 0, 20, 1, 1, 0, 54, 0xa8, 5, 0, 34, 0, 16}, make([]byte, 10)...))
	f.Fuzz(func(t *testing.T, in []byte) {
		r := NewPeerReader(bytes.NewReader(in), 1500, true)
		for {
			p, err := r.ReadPacket()
			if err != nil {
				break
			}
			if len(p) < vnetHdrLen || len(p) > MaxFrame {
				t.Fatalf("accepted a frame of %d bytes", len(p))
			}
			if p[1]&^vnetGSOECN == vnetGSONone && len(p)-vnetHdrLen > 1514 {
				t.Fatalf("accepted an unsegmented packet of %d bytes", len(p)-vnetHdrLen)
			}
		}
	})
}

// FuzzParse feeds arbitrary channel data to the tun@openssh.com layer-3
// re-framer: no panic, packets within the MTU, and what it yields written
// back by L3Writer gives the input it consumed.
func FuzzParse(f *testing.F) {
	seed(f, "ipv4-header.bin")
	f.Add([]byte{0, 0, 0, 24, 0x60, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, in []byte) {
		r := NewL3Reader(bytes.NewReader(in), 1500)
		var out bytes.Buffer
		w := NewL3Writer(&out)
		for {
			p, err := r.ReadPacket()
			if err != nil {
				break
			}
			if len(p) > 1500 || len(p) < 20 {
				t.Fatalf("packet of %d bytes", len(p))
			}
			if err := w.WritePacket(p); err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.HasPrefix(in, out.Bytes()) {
			t.Fatalf("re-encoding differs from the input")
		}
		ParseTunOpen(in)
	})
}

func TestL3ReaderRejects(t *testing.T) {
	t.Parallel()
	v4 := func(af uint32, total uint16) []byte {
		b := binary.BigEndian.AppendUint32(nil, af)
		h := make([]byte, 20)
		h[0] = 0x45
		binary.BigEndian.PutUint16(h[2:], total)
		return append(b, h...)
	}
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"too long", v4(afInet, 1600), ErrPacketTooLong},
		{"wrong family", v4(afInet6, 20), ErrBadFrame},
		{"short total length", v4(afInet, 10), ErrBadFrame},
		{"truncated", v4(afInet, 40), io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := NewL3Reader(bytes.NewReader(tt.in), 1500).ReadPacket()
			if !errors.Is(err, tt.want) {
				t.Errorf("err %v, want %v", err, tt.want)
			}
		})
	}
}

func TestPickPair(t *testing.T) {
	t.Parallel()
	near, far, err := PickPair(nil)
	if err != nil || near.String() != "198.19.252.1/30" || far.String() != "198.19.252.2/30" {
		t.Errorf("empty: %v %v %v", near, far, err)
	}
	used := []netip.Prefix{netip.MustParsePrefix("198.19.252.0/24")}
	near, _, err = PickPair(used)
	if err != nil || near.String() != "198.19.253.1/30" {
		t.Errorf("with 198.19.252.0/24 used: %v %v", near, err)
	}
	if _, _, err := PickPair([]netip.Prefix{netip.MustParsePrefix("198.18.0.0/15")}); err == nil {
		t.Errorf("no error with the whole range used")
	}
}

// msgSink is a channel that hands its messages to a sink at once, as the
// engine's does (sshwire.PacketSink), keeping what the sink returned.
type msgSink struct {
	msgs   [][]byte
	errs   []error
	stream []byte // what Read gives
}

func (m *msgSink) ReadPacket() ([]byte, error) { return nil, io.EOF }

func (m *msgSink) Read(p []byte) (int, error) {
	if len(m.stream) == 0 {
		return 0, io.EOF
	}
	n := copy(p, m.stream)
	m.stream = m.stream[n:]
	return n, nil
}

func (m *msgSink) SinkPackets(f func(p []byte) error) {
	for _, p := range m.msgs {
		m.errs = append(m.errs, f(p))
	}
}

// TestSinkChecks: packets handed over in the connection's reader are
// checked as ReadPacket checks them, framing stripped or added the same
// way, and a bad one is the sink's error.
func TestSinkChecks(t *testing.T) {
	t.Parallel()
	v4 := append(binary.BigEndian.AppendUint32(nil, afInet), ipPacket(4, 60)...)
	wrongFamily := append(binary.BigEndian.AppendUint32(nil, afInet6), ipPacket(4, 60)...)
	tooLong := append(binary.BigEndian.AppendUint32(nil, afInet), ipPacket(4, 1600)...)
	joined := append(slices.Clone(v4), v4[4:]...)
	frame := ethFrame(ipPacket(4, 46))
	tests := []struct {
		name   string
		reader func(*msgSink) packetSink
		msg    []byte
		want   []byte // what reaches the device, or nil
		err    error
	}{
		{"l3", func(m *msgSink) packetSink { return NewL3Reader(m, 1500) }, v4, v4[4:], nil},
		{"l3 two packets in a message", func(m *msgSink) packetSink { return NewL3Reader(m, 1500) }, joined, nil, ErrBadFrame},
		{"l3 wrong family", func(m *msgSink) packetSink { return NewL3Reader(m, 1500) }, wrongFamily, nil, ErrBadFrame},
		{"l3 too long", func(m *msgSink) packetSink { return NewL3Reader(m, 1500) }, tooLong, nil, ErrPacketTooLong},
		{"l3 short", func(m *msgSink) packetSink { return NewL3Reader(m, 1500) }, v4[:9], nil, ErrBadFrame},
		{"l3 behind a vnet header", func(m *msgSink) packetSink { return NewVnetReader(NewL3Reader(m, 1500), 1500) },
			v4, append(make([]byte, vnetHdrLen), v4[4:]...), nil},
		{"l2", func(m *msgSink) packetSink { return NewL2Reader(m, 1500) }, frame, frame, nil},
		{"l2 short", func(m *msgSink) packetSink { return NewL2Reader(m, 1500) }, frame[:13], nil, ErrBadFrame},
		{"l2 too long", func(m *msgSink) packetSink { return NewL2Reader(m, 1500) }, make([]byte, 1500+ethHeader+vlanTag+1), nil, ErrPacketTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := &msgSink{msgs: [][]byte{tt.msg}}
			var got []byte
			if !tt.reader(m).SinkPackets(func(p []byte) error { got = slices.Clone(p); return nil }) {
				t.Fatal("SinkPackets declined a channel that takes a sink")
			}
			if !errors.Is(m.errs[0], tt.err) || !bytes.Equal(got, tt.want) {
				t.Errorf("device got %d bytes, sink returned %v; want %d bytes, %v", len(got), m.errs[0], len(tt.want), tt.err)
			}
		})
	}
	// Part of a packet already read from the stream: the stream stays.
	r := NewL3Reader(&msgSink{stream: append(slices.Clone(v4), v4[:7]...)}, 1500)
	if _, err := r.ReadPacket(); err != nil {
		t.Fatal(err)
	}
	if r.SinkPackets(func([]byte) error { return nil }) {
		t.Error("SinkPackets took over a reader that had read from the stream")
	}
}
