package vpn

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"slices"
	"testing"
)

// refSum is the RFC 1071 checksum the slow way, to check ours against.
func refSum(parts ...[]byte) uint16 {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return ^uint16(s)
}

// tcpPacket builds a TCP packet from src to dst with the given flags and
// payload, its checksums valid, its IPv4 id 0x1234.
func tcpPacket(src, dst netip.Addr, seq uint32, flags byte, payload []byte) []byte {
	th := make([]byte, 20)
	binary.BigEndian.PutUint16(th[0:], 40000)
	binary.BigEndian.PutUint16(th[2:], 22)
	binary.BigEndian.PutUint32(th[4:], seq)
	th[12], th[13] = 5<<4, flags
	binary.BigEndian.PutUint16(th[14:], 512)
	var ip, pseudo []byte
	l := len(th) + len(payload)
	if src.Is4() {
		ip = make([]byte, 20)
		ip[0], ip[8], ip[9] = 0x45, 64, 6
		binary.BigEndian.PutUint16(ip[2:], uint16(20+l))
		binary.BigEndian.PutUint16(ip[4:], 0x1234)
		ip[6] = 0x40 // DF
		copy(ip[12:], src.AsSlice())
		copy(ip[16:], dst.AsSlice())
		binary.BigEndian.PutUint16(ip[10:], refSum(ip))
		pseudo = append(append(src.AsSlice(), dst.AsSlice()...), 0, 6, byte(l>>8), byte(l))
	} else {
		ip = make([]byte, 40)
		ip[0], ip[6], ip[7] = 0x60, 6, 64
		binary.BigEndian.PutUint16(ip[4:], uint16(l))
		copy(ip[8:], src.AsSlice())
		copy(ip[24:], dst.AsSlice())
		pseudo = append(append(src.AsSlice(), dst.AsSlice()...), 0, 0, byte(l>>8), byte(l), 0, 0, 0, 6)
	}
	binary.BigEndian.PutUint16(th[16:], refSum(pseudo, th, payload))
	return slices.Concat(ip, th, payload)
}

// checkTCP fails unless p's IP and TCP checksums are valid.
func checkTCP(t *testing.T, p []byte) {
	t.Helper()
	ipLen, tcpLen := 40, len(p)-40
	var pseudo []byte
	if p[0]>>4 == 4 {
		ipLen = 20
		tcpLen = len(p) - 20
		if refSum(p[:20]) != 0 {
			t.Errorf("IPv4 header checksum wrong")
		}
		if int(binary.BigEndian.Uint16(p[2:])) != len(p) {
			t.Errorf("IPv4 total length %d, packet %d", binary.BigEndian.Uint16(p[2:]), len(p))
		}
		pseudo = append(slices.Clone(p[12:20]), 0, 6, byte(tcpLen>>8), byte(tcpLen))
	} else {
		if int(binary.BigEndian.Uint16(p[4:])) != tcpLen {
			t.Errorf("IPv6 payload length %d, want %d", binary.BigEndian.Uint16(p[4:]), tcpLen)
		}
		pseudo = append(slices.Clone(p[8:40]), 0, 0, byte(tcpLen>>8), byte(tcpLen), 0, 0, 0, 6)
	}
	if refSum(pseudo, p[ipLen:]) != 0 {
		t.Errorf("TCP checksum wrong")
	}
}

// partial turns p's TCP checksum into what a kernel leaves a device with
// checksum offload: the pseudo header's sum, not complemented.
func partial(p []byte) (start, offset int) {
	ipLen := 40
	if p[0]>>4 == 4 {
		ipLen = 20
	}
	tcpLen := len(p) - ipLen
	var pseudo []byte
	if ipLen == 20 {
		pseudo = append(slices.Clone(p[12:20]), 0, 6, byte(tcpLen>>8), byte(tcpLen))
	} else {
		pseudo = append(slices.Clone(p[8:40]), 0, 0, byte(tcpLen>>8), byte(tcpLen), 0, 0, 0, 6)
	}
	binary.BigEndian.PutUint16(p[ipLen+16:], ^refSum(pseudo))
	return ipLen, 16
}

func vnetFrame(flags, gso byte, gsoSize, start, offset int, p []byte) []byte {
	h := make([]byte, vnetHdrLen)
	h[0], h[1] = flags, gso
	binary.NativeEndian.PutUint16(h[4:], uint16(gsoSize))
	binary.NativeEndian.PutUint16(h[6:], uint16(start))
	binary.NativeEndian.PutUint16(h[8:], uint16(offset))
	return append(h, p...)
}

// collect is a PacketWriter that keeps copies of what it is given.
type collect struct{ pkts [][]byte }

func (c *collect) WritePacket(p []byte) error { c.pkts = append(c.pkts, slices.Clone(p)); return nil }
func (c *collect) Flush() error               { return nil }

func TestFinishChecksum(t *testing.T) {
	for _, n := range []int{0, 1, 7, 8, 9, 1448, 30001} {
		for _, src := range []netip.Addr{netip.MustParseAddr("198.19.252.1"), netip.MustParseAddr("fd00::1")} {
			dst := netip.MustParseAddr("198.19.252.2")
			if src.Is6() {
				dst = netip.MustParseAddr("fd00::2")
			}
			payload := bytes.Repeat([]byte{0xff, 0x01, 0x80}, n/3+1)[:n]
			want := tcpPacket(src, dst, 1, 0x18, payload)
			got := slices.Clone(want)
			start, off := partial(got)
			if !finishChecksum(got, start, off) || !bytes.Equal(got, want) {
				t.Errorf("%v, %d bytes: checksum %x, want %x", src, n, got[start+off:start+off+2], want[start+off:start+off+2])
			}
		}
	}
	// A sum of zero goes out as 0xffff: for UDP, 0 would mean none.
	if p := []byte{0, 0, 0xff, 0xff}; !finishChecksum(p, 0, 0) || p[0] != 0xff || p[1] != 0xff {
		t.Errorf("checksum of zero written as %x, want ffff", p[:2])
	}
	if finishChecksum(make([]byte, 30), 20, 16) || finishChecksum(make([]byte, 30), 40, 0) {
		t.Error("checksum offsets past the packet accepted")
	}
}

func TestSegmentTCP(t *testing.T) {
	const mss = 1000
	for _, src := range []netip.Addr{netip.MustParseAddr("198.19.252.1"), netip.MustParseAddr("fd00::1")} {
		dst := netip.MustParseAddr("198.18.2.2")
		if src.Is6() {
			dst = netip.MustParseAddr("fd00:2::2")
		}
		payload := make([]byte, 3*mss+500)
		for i := range payload {
			payload[i] = byte(i * 7)
		}
		seg := tcpPacket(src, dst, 0xfffffe00, tcpFIN|tcpPSH|tcpCWR|0x10, payload)
		start, off := partial(seg)
		gso := byte(vnetGSOTCPv4)
		if src.Is6() {
			gso = vnetGSOTCPv6
		}
		var c collect
		w := NewNativeOffloadWriter(&c, 1500, func(netip.Addr) bool { return false })
		if err := w.WritePacket(vnetFrame(vnetFlagNeedsCsum, gso, mss, start, off, seg)); err != nil {
			t.Fatal(err)
		}
		if len(c.pkts) != 4 {
			t.Fatalf("%v: %d packets, want 4", src, len(c.pkts))
		}
		var joined []byte
		for i, p := range c.pkts {
			checkTCP(t, p)
			ipLen := 40
			if src.Is4() {
				ipLen = 20
				if id := binary.BigEndian.Uint16(p[4:]); id != 0x1234+uint16(i) {
					t.Errorf("packet %d: IPv4 id %#x", i, id)
				}
			}
			th := p[ipLen:]
			if seq := binary.BigEndian.Uint32(th[4:]); seq != 0xfffffe00+uint32(i*mss) {
				t.Errorf("packet %d: seq %#x", i, seq)
			}
			want := byte(0x10)
			if i == 0 {
				want |= tcpCWR
			}
			if i == 3 {
				want |= tcpFIN | tcpPSH
			}
			if th[13] != want {
				t.Errorf("packet %d: flags %#x, want %#x", i, th[13], want)
			}
			joined = append(joined, th[20:]...)
		}
		if !bytes.Equal(joined, payload) {
			t.Errorf("%v: payload not carried across the packets in order", src)
		}
	}
}

func TestNativeOffloadWriter(t *testing.T) {
	near, far, routed := netip.MustParseAddr("198.19.252.1"), netip.MustParseAddr("198.19.252.2"), netip.MustParseAddr("198.18.2.2")
	local := func(a netip.Addr) bool { return a == far }
	big := tcpPacket(near, far, 1, 0x10, make([]byte, 20000))
	tests := []struct {
		name  string
		frame func() []byte
		sizes []int // of the packets sent
	}{
		{"small packet, checksum done", func() []byte {
			return vnetFrame(0, 0, 0, 0, 0, tcpPacket(near, far, 1, 0x18, []byte("hello")))
		}, []int{45}},
		{"small packet, checksum left", func() []byte {
			p := tcpPacket(near, far, 1, 0x18, []byte("hello"))
			s, o := partial(p)
			return vnetFrame(vnetFlagNeedsCsum, 0, 0, s, o, p)
		}, []int{45}},
		{"segment to the far host goes whole", func() []byte {
			p := slices.Clone(big)
			s, o := partial(p)
			return vnetFrame(vnetFlagNeedsCsum, vnetGSOTCPv4, 1448, s, o, p)
		}, []int{20040}},
		{"segment routed on is cut", func() []byte {
			p := tcpPacket(near, routed, 1, 0x10, make([]byte, 3000))
			s, o := partial(p)
			return vnetFrame(vnetFlagNeedsCsum, vnetGSOTCPv4, 1448, s, o, p)
		}, []int{1488, 1488, 144}},
		{"segment over one message is cut", func() []byte {
			p := tcpPacket(near, far, 1, 0x10, make([]byte, tunMaxMessage))
			s, o := partial(p)
			return vnetFrame(vnetFlagNeedsCsum, vnetGSOTCPv4, 8000, s, o, p)
		}, append(slices.Repeat([]int{1500}, 22), 40+tunMaxMessage-22*1460)}, // gso_size 8000 cut to the MTU's 1460
		{"short header dropped", func() []byte { return []byte{1, 2, 3} }, nil},
		{"checksum offset past the packet dropped", func() []byte {
			return vnetFrame(vnetFlagNeedsCsum, 0, 0, 40, 16, tcpPacket(near, far, 1, 0x18, nil))
		}, nil},
		{"routed segment that is not TCP dropped", func() []byte {
			p := tcpPacket(near, routed, 1, 0x10, make([]byte, 3000))
			p[9] = 17
			return vnetFrame(0, vnetGSOTCPv4, 1448, 0, 0, p)
		}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var c collect
			w := NewNativeOffloadWriter(&c, 1500, local)
			if err := w.WritePacket(tc.frame()); err != nil {
				t.Fatal(err)
			}
			var sizes []int
			for _, p := range c.pkts {
				sizes = append(sizes, len(p))
				checkTCP(t, p)
			}
			if !slices.Equal(sizes, tc.sizes) {
				t.Errorf("sent packets of %v bytes, want %v", sizes, tc.sizes)
			}
		})
	}
}

func TestVnetReader(t *testing.T) {
	p := tcpPacket(netip.MustParseAddr("198.19.252.2"), netip.MustParseAddr("198.19.252.1"), 1, 0x18, []byte("hi"))
	msg := append([]byte{0, 0, 0, afInet}, p...)
	r := NewVnetReader(NewL3Reader(bytes.NewReader(append(slices.Clone(msg), msg...)), 1500), 1500)
	for range 2 {
		got, err := r.ReadPacket()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, append(make([]byte, vnetHdrLen), p...)) {
			t.Fatalf("got % x", got)
		}
	}
}

// FuzzNativeOffloadWriter: whatever the device hands over, the writer
// does not panic, and sends only packets of the MTU, or whole segments
// that fit one message, to the far host.
func FuzzNativeOffloadWriter(f *testing.F) {
	near, far := netip.MustParseAddr("198.19.252.1"), netip.MustParseAddr("198.19.252.2")
	p := tcpPacket(near, far, 1, 0x10, make([]byte, 5000))
	s, o := partial(p)
	f.Add(vnetFrame(vnetFlagNeedsCsum, vnetGSOTCPv4, 1448, s, o, p), false)
	f.Add(vnetFrame(vnetFlagNeedsCsum, vnetGSOTCPv4, 1448, s, o, p), true)
	p6 := tcpPacket(netip.MustParseAddr("fd00::1"), netip.MustParseAddr("fd00::2"), 1, 0x10, make([]byte, 3000))
	s, o = partial(p6)
	f.Add(vnetFrame(vnetFlagNeedsCsum, vnetGSOTCPv6, 1000, s, o, p6), false)
	f.Add([]byte{1, 1, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x45}, true)
	f.Fuzz(func(t *testing.T, frame []byte, whole bool) {
		const mtu = 1400
		var c collect
		w := NewNativeOffloadWriter(&c, mtu, func(netip.Addr) bool { return whole })
		if err := w.WritePacket(frame); err != nil {
			t.Fatal(err)
		}
		for _, p := range c.pkts {
			if len(p) > mtu && (!whole || len(p)+4 > tunMaxMessage) {
				t.Fatalf("sent a packet of %d bytes (MTU %d, whole %v)", len(p), mtu, whole)
			}
		}
	})
}
