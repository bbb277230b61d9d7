package vpn

// Offloads on the native transport. The far end of a tun@openssh.com
// channel is a tun device sshd opened without offloads, so what crosses
// must be plain IP packets with their checksums done. The near device is
// still opened with offloads, and its TCP segments are sent as they are
// where the far kernel can take them: one packet of up to ~32 KiB instead
// of ~22 of the MTU, one message, one decryption and one write for sshd.
//
// A kernel takes a packet longer than the device's MTU on input and
// delivers it to its own sockets whole (as it does what GRO and LRO
// build). It cannot forward one: without the segmentation metadata it
// sees a packet over the outgoing MTU with DF set, drops it and answers
// "fragmentation needed". So a segment is sent whole only to the far
// host's own addresses (the tunnel's far address and those its interfaces
// had when the tunnel came up); towards anything the far host routes to
// (its VMs, --route, --nat) it is cut into packets of the MTU here, which
// is what ssh -w would have carried.
//
// Both sshd and jumpgate serve open tun channels with a maximum message of
// 32 KiB, which also bounds the segments: the device's gso_max_size keeps
// the kernel's own below it, and anything longer (a segment GRO built on
// another interface and routed here) is cut as above.

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"net/netip"
)

const (
	// tunMaxMessage is the largest tun@openssh.com message sshd and
	// jumpgate serve accept (their channels' maximum packet).
	tunMaxMessage = 32 << 10
	// NativeGSOMaxSize is the near device's gso_max_size on the native
	// transport: the kernel's TCP segments, headers included, stay below
	// it, so each fits one message with its address family.
	NativeGSOMaxSize = tunMaxMessage - 4
)

// NativeOffloadWriter writes what a device with offloads reads as plain
// IP packets on the native transport.
type NativeOffloadWriter struct {
	w     PacketWriter // one IP packet per message ([L3Writer])
	local func(netip.Addr) bool
	mtu   int
	seg   []byte
}

// NewNativeOffloadWriter writes through w (an [L3Writer]); TCP segments
// to addresses local reports as the far host's own go whole, others are
// cut into packets of at most mtu bytes.
func NewNativeOffloadWriter(w PacketWriter, mtu int, local func(netip.Addr) bool) *NativeOffloadWriter {
	return &NativeOffloadWriter{w: w, local: local, mtu: mtu, seg: make([]byte, mtu)}
}

// WritePacket takes a virtio_net_hdr and a packet as the device gave them.
// What the kernel should never give (a short header, a checksum or
// segment outside the packet) is dropped, as a device drops a bad packet.
func (o *NativeOffloadWriter) WritePacket(frame []byte) error {
	if len(frame) < vnetHdrLen {
		return nil
	}
	h, p := parseVnetHdr(frame), frame[vnetHdrLen:]
	whole := len(p) <= o.mtu
	if !whole && h.gsoType != vnetGSONone && len(p)+4 <= tunMaxMessage {
		dst, ok := ipDst(p)
		whole = ok && o.local(dst)
	}
	switch {
	case whole:
		if h.flags&vnetFlagNeedsCsum != 0 && !finishChecksum(p, int(h.csumStart), int(h.csumOffset)) {
			return nil
		}
		return o.w.WritePacket(p)
	case h.gsoType == vnetGSONone:
		return nil // over the MTU and not a segment: no device gives that
	default:
		return segmentTCP(p, int(h.gsoSize), o.seg, o.w.WritePacket)
	}
}

// Flush flushes the underlying writer.
func (o *NativeOffloadWriter) Flush() error { return o.w.Flush() }

// VnetReader gives the packets of r behind an empty virtio_net_hdr, for a
// device with offloads that receives plain packets.
type VnetReader struct {
	r   PacketReader
	buf []byte
}

// NewVnetReader reads packets of at most max bytes from r.
func NewVnetReader(r PacketReader, max int) *VnetReader {
	return &VnetReader{r: r, buf: make([]byte, vnetHdrLen+max)}
}

// ReadPacket returns the next packet behind a zero header, valid until
// the next call.
func (v *VnetReader) ReadPacket() ([]byte, error) {
	p, err := v.r.ReadPacket()
	if err != nil {
		return nil, err
	}
	if vnetHdrLen+len(p) > len(v.buf) {
		return nil, fmt.Errorf("packet of %d bytes: %w", len(p), ErrPacketTooLong)
	}
	b := v.buf[:vnetHdrLen+len(p)]
	clear(b[:vnetHdrLen])
	copy(b[vnetHdrLen:], p)
	return b, nil
}

// SinkPackets hands each packet of r to f behind a zero header, in the
// connection's reader, if r can ([packetSink]); it reports whether it did.
func (v *VnetReader) SinkPackets(f func(p []byte) error) bool {
	return sinkVia(v.r, func(p []byte) error {
		if vnetHdrLen+len(p) > len(v.buf) {
			return fmt.Errorf("packet of %d bytes: %w", len(p), ErrPacketTooLong)
		}
		b := v.buf[:vnetHdrLen+len(p)]
		clear(b[:vnetHdrLen])
		copy(b[vnetHdrLen:], p)
		return f(b)
	})
}

// ipDst is the destination of an IPv4 or IPv6 packet.
func ipDst(p []byte) (netip.Addr, bool) {
	switch {
	case len(p) >= 20 && p[0]>>4 == 4:
		return netip.AddrFrom4([4]byte(p[16:20])), true
	case len(p) >= 40 && p[0]>>4 == 6:
		return netip.AddrFrom16([16]byte(p[24:40])), true
	}
	return netip.Addr{}, false
}

// finishChecksum completes a checksum the kernel left to the device: the
// field at start+offset holds the pseudo-header's sum, and the one's
// complement sum from start to the end goes there, 0 written as 0xffff
// (the same number; for UDP, 0 would mean none, which IPv6 forbids), as
// the kernel's own skb_checksum_help does. It reports false for offsets
// outside p.
func finishChecksum(p []byte, start, offset int) bool {
	at := start + offset
	if start > len(p) || at+2 > len(p) {
		return false
	}
	c := ^fold(sum(p[start:], 0))
	if c == 0 {
		c = 0xffff
	}
	binary.BigEndian.PutUint16(p[at:], c)
	return true
}

// sum adds b as big-endian 16-bit words to acc, eight bytes at a time.
func sum(b []byte, acc uint64) uint64 {
	var carry uint64
	for len(b) >= 8 {
		acc, carry = bits.Add64(acc, binary.BigEndian.Uint64(b), carry)
		b = b[8:]
	}
	acc += carry
	for len(b) >= 2 {
		acc, carry = bits.Add64(acc, uint64(binary.BigEndian.Uint16(b)), 0)
		acc += carry
		b = b[2:]
	}
	if len(b) == 1 {
		acc, carry = bits.Add64(acc, uint64(b[0])<<8, 0)
		acc += carry
	}
	return acc
}

// fold reduces a 64-bit one's complement sum to 16 bits.
func fold(acc uint64) uint16 {
	hi, lo := acc>>32, acc&0xffffffff
	acc = hi + lo
	acc = acc>>32 + acc&0xffffffff
	acc = acc>>16 + acc&0xffff
	acc = acc>>16 + acc&0xffff
	return uint16(acc)
}

// TCP flags that belong to one segment of a cut packet only.
const (
	tcpFIN = 0x01
	tcpPSH = 0x08
	tcpCWR = 0x80
)

// segmentTCP cuts a TCP segment longer than the MTU into packets of mss
// payload bytes each, as the kernel's GSO would: consecutive sequence
// numbers and IPv4 ids, FIN and PSH on the last packet only, CWR on the
// first only, lengths and checksums computed afresh. Each packet is built
// in buf, whose length (the MTU) bounds it, and handed to fn. A packet that is not
// TCP over IPv4 or IPv6 without extension headers is dropped.
func segmentTCP(p []byte, mss int, buf []byte, fn func([]byte) error) error {
	var ipLen int
	var v4 bool
	switch {
	case len(p) >= 20 && p[0]>>4 == 4 && p[9] == 6:
		ipLen, v4 = int(p[0]&0xf)*4, true
	case len(p) >= 40 && p[0]>>4 == 6 && p[6] == 6:
		ipLen = 40
	default:
		return nil
	}
	if ipLen < 20 || len(p) < ipLen+20 {
		return nil
	}
	tcpLen := int(p[ipLen+12]>>4) * 4
	hdrLen := ipLen + tcpLen
	if tcpLen < 20 || len(p) < hdrLen || mss <= 0 || hdrLen >= len(buf) {
		return nil
	}
	// A segment built elsewhere for a larger MTU (GRO on a jumbo-frame
	// link) is cut smaller: TCP takes any size up to the MSS.
	mss = min(mss, len(buf)-hdrLen)
	payload := p[hdrLen:]
	seq := binary.BigEndian.Uint32(p[ipLen+4:])
	flags := p[ipLen+13]
	var id uint16
	if v4 {
		id = binary.BigEndian.Uint16(p[4:])
	}
	for i, off := 0, 0; off < len(payload); i, off = i+1, off+mss {
		n := min(mss, len(payload)-off)
		b := buf[:hdrLen+n]
		copy(b, p[:hdrLen])
		copy(b[hdrLen:], payload[off:off+n])
		ip, th := b[:ipLen], b[ipLen:hdrLen]
		f := flags
		if off+n < len(payload) {
			f &^= tcpFIN | tcpPSH
		}
		if i > 0 {
			f &^= tcpCWR
		}
		th[13] = f
		binary.BigEndian.PutUint32(th[4:], seq+uint32(off))
		var pseudo uint64
		if v4 {
			binary.BigEndian.PutUint16(ip[2:], uint16(len(b)))
			binary.BigEndian.PutUint16(ip[4:], id+uint16(i))
			ip[10], ip[11] = 0, 0
			binary.BigEndian.PutUint16(ip[10:], ^fold(sum(ip, 0)))
			pseudo = sum(ip[12:20], uint64(6)+uint64(tcpLen+n))
		} else {
			binary.BigEndian.PutUint16(ip[4:], uint16(len(b)-40))
			pseudo = sum(ip[8:40], uint64(6)+uint64(tcpLen+n))
		}
		th[16], th[17] = 0, 0
		binary.BigEndian.PutUint16(th[16:], ^fold(sum(b[ipLen:], pseudo)))
		if err := fn(b); err != nil {
			return err
		}
	}
	return nil
}
