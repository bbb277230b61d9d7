package vpn

// Offloaded peer frames. With offloads (see [Open]) each frame of peer
// mode's framing is a virtio_net_hdr and then the packet, read from one
// end's device and written to the other's as they are: the far kernel
// finishes the checksum and cuts a TCP segment of up to 64 KiB into
// packets of the MTU where it has to (or hands it on whole to a veth or a
// bridge port that takes it so). Only the header's few fields the far
// kernel acts on are checked here; the kernel checks the rest.
//
//	byte    flags      (1: NEEDS_CSUM, 2: DATA_VALID)
//	byte    gso_type   (0 none, 1 TCPv4, 4 TCPv6; 0x80 ECN)
//	uint16  hdr_len
//	uint16  gso_size   (payload bytes per segment)
//	uint16  csum_start
//	uint16  csum_offset
//
// in the byte order of the hosts, the same at both ends because the far
// end runs a copy of this binary.

import (
	"encoding/binary"
	"fmt"
	"io"
)

// virtio_net_hdr flags and gso_type values (linux/virtio_net.h).
const (
	vnetFlagNeedsCsum = 1

	vnetGSONone  = 0
	vnetGSOTCPv4 = 1
	vnetGSOTCPv6 = 4
	vnetGSOECN   = 0x80
)

// vnetHdr is a parsed virtio_net_hdr, its gso_type without the ECN bit.
type vnetHdr struct {
	flags, gsoType        uint8
	gsoSize               uint16
	csumStart, csumOffset uint16
}

// parseVnetHdr reads the header at the start of b (at least vnetHdrLen
// bytes).
func parseVnetHdr(b []byte) vnetHdr {
	return vnetHdr{
		flags:      b[0],
		gsoType:    b[1] &^ vnetGSOECN,
		gsoSize:    binary.NativeEndian.Uint16(b[4:]),
		csumStart:  binary.NativeEndian.Uint16(b[6:]),
		csumOffset: binary.NativeEndian.Uint16(b[8:]),
	}
}

// NewPeerReader reads peer mode's frames for a tunnel of the given MTU:
// each at most MTU+14 bytes, or with offload a virtio_net_hdr and a
// packet checked by checkVnetFrame.
func NewPeerReader(r io.Reader, mtu int, offload bool) PacketReader {
	if !offload {
		return NewFrameReader(r, mtu+14)
	}
	return &offloadReader{r: NewFrameReader(r, MaxFrame), mtu: mtu}
}

type offloadReader struct {
	r   *FrameReader
	mtu int
}

func (o *offloadReader) ReadPacket() ([]byte, error) {
	p, err := o.r.ReadPacket()
	if err != nil {
		return nil, err
	}
	if err := checkVnetFrame(p, o.mtu); err != nil {
		return nil, err
	}
	return p, nil
}

// checkVnetFrame accepts a header and packet of an offloaded tunnel: a
// whole header, a packet of at most mtu+14 bytes unless it is a TCP
// segment (the only kind the devices are opened for), and then segments
// of at most mtu bytes each.
func checkVnetFrame(p []byte, mtu int) error {
	if len(p) < vnetHdrLen {
		return fmt.Errorf("peer frame of %d bytes: %w: shorter than its %d-byte offload header", len(p), ErrBadFrame, vnetHdrLen)
	}
	n, h := len(p)-vnetHdrLen, parseVnetHdr(p)
	switch h.gsoType {
	case vnetGSONone:
		if n > mtu+14 {
			return fmt.Errorf("peer packet of %d bytes, MTU %d: %w", n, mtu, ErrPacketTooLong)
		}
	case vnetGSOTCPv4, vnetGSOTCPv6:
		if h.gsoSize == 0 || int(h.gsoSize) > mtu {
			return fmt.Errorf("peer TCP segment of %d-byte packets, MTU %d: %w", h.gsoSize, mtu, ErrPacketTooLong)
		}
	default:
		return fmt.Errorf("peer frame: %w: segmentation type %d, not offered", ErrBadFrame, h.gsoType)
	}
	return nil
}
