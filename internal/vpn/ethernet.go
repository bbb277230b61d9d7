package vpn

// Layer 2 over tun@openssh.com (OpenSSH PROTOCOL section 2.3, tunnel mode
// SSH_TUNMODE_ETHERNET): each channel message is one Ethernet frame,
// header included, with nothing before it. sshd registers its
// address-family filter (openbsd-compat/port-net.c) for point-to-point
// tunnels only, so unlike layer 3 no 4-byte family precedes a frame. A
// frame carries no length of its own: the boundaries are the messages',
// which only a channel that keeps them ([sshwire.PacketReader],
// [sshwire.PacketWriter]: our engine) can carry.
//
// With offloads the near tap hands over TCP segments of up to 64 KiB;
// the far tap (sshd's) has none, and the far bridge forwards nothing
// longer than its ports' MTU, so every segment is cut into frames of the
// MTU here before it goes.

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/jumpgate/jumpgate/internal/sshwire"
)

// ethHeader is an Ethernet header's length; a VLAN tag adds vlanTag.
const (
	ethHeader = 14
	vlanTag   = 4
)

// ErrNoMessages is returned for a layer-2 tun@openssh.com channel whose
// connection joins messages (golang.org/x/crypto/ssh's does).
var ErrNoMessages = errors.New("layer 2 over tun@openssh.com needs an SSH engine that keeps message boundaries (Ethernet frames carry no length to split joined messages again)")

// messageChannel is a channel that reads and writes whole messages.
type messageChannel interface {
	sshwire.PacketReader
	sshwire.PacketWriter
}

// asMessageChannel returns ch as a channel of whole messages, or
// [ErrNoMessages].
func asMessageChannel(ch any) (messageChannel, error) {
	m, ok := ch.(messageChannel)
	if !ok {
		return nil, ErrNoMessages
	}
	return m, nil
}

// L2Reader reads Ethernet frames of a layer-2 tun@openssh.com channel.
type L2Reader struct {
	r   sshwire.PacketReader
	max int
}

// NewL2Reader reads frames for a tunnel of the given MTU from r.
func NewL2Reader(r sshwire.PacketReader, mtu int) *L2Reader {
	return &L2Reader{r: r, max: mtu + ethHeader + vlanTag}
}

// ReadPacket returns the next frame. A message shorter than an Ethernet
// header ends the tunnel with [ErrBadFrame], one longer than the MTU allows
// with [ErrPacketTooLong]: neither is a frame a tap gives.
func (l *L2Reader) ReadPacket() ([]byte, error) {
	p, err := l.r.ReadPacket()
	if err != nil {
		return nil, err
	}
	if err := l.check(p); err != nil {
		return nil, err
	}
	return p, nil
}

func (l *L2Reader) check(p []byte) error {
	switch {
	case len(p) < ethHeader:
		return fmt.Errorf("tun@openssh.com: %w: Ethernet frame of %d bytes", ErrBadFrame, len(p))
	case len(p) > l.max:
		return fmt.Errorf("tun@openssh.com frame of %d bytes, at most %d: %w", len(p), l.max, ErrPacketTooLong)
	}
	return nil
}

// SinkPackets hands each frame to f in the connection's reader, checked
// as ReadPacket checks it, if the channel can (sshwire.PacketSink).
func (l *L2Reader) SinkPackets(f func(p []byte) error) bool {
	return sinkVia(l.r, func(p []byte) error {
		if err := l.check(p); err != nil {
			return err
		}
		return f(p)
	})
}

// L2Writer writes each Ethernet frame as one tun@openssh.com message.
type L2Writer struct {
	w sshwire.PacketWriter
}

// NewL2Writer returns a writer of layer-2 tun@openssh.com messages on w.
func NewL2Writer(w sshwire.PacketWriter) *L2Writer { return &L2Writer{w: w} }

// WritePacket sends frame as one message; what is shorter than an
// Ethernet header is dropped.
func (l *L2Writer) WritePacket(frame []byte) error {
	if len(frame) < ethHeader {
		return nil
	}
	return l.w.WritePacket(frame)
}

// Flush does nothing: every frame is written at once.
func (l *L2Writer) Flush() error { return nil }

// L2OffloadWriter writes what a tap with offloads reads as plain frames
// of at most the MTU.
type L2OffloadWriter struct {
	w   PacketWriter
	mtu int
	seg []byte
}

// NewL2OffloadWriter writes through w (an [L2Writer]) frames whose IP
// packets are at most mtu bytes.
func NewL2OffloadWriter(w PacketWriter, mtu int) *L2OffloadWriter {
	return &L2OffloadWriter{w: w, mtu: mtu, seg: make([]byte, ethHeader+vlanTag+mtu)}
}

// WritePacket takes a virtio_net_hdr and a frame as the tap gave them:
// the checksum left to the device is finished, a TCP segment is cut into
// frames of the MTU, each behind a copy of the segment's Ethernet header.
// What no tap gives (a short header, a checksum outside the frame) is
// dropped.
func (o *L2OffloadWriter) WritePacket(b []byte) error {
	if len(b) < vnetHdrLen+ethHeader {
		return nil
	}
	h, frame := parseVnetHdr(b), b[vnetHdrLen:]
	if h.gsoType == vnetGSONone {
		if h.flags&vnetFlagNeedsCsum != 0 && !finishChecksum(frame, int(h.csumStart), int(h.csumOffset)) {
			return nil
		}
		return o.w.WritePacket(frame)
	}
	eth := ethHeader
	if binary.BigEndian.Uint16(frame[12:]) == 0x8100 {
		eth += vlanTag
	}
	if len(frame) < eth {
		return nil
	}
	copy(o.seg, frame[:eth])
	return segmentTCP(frame[eth:], int(h.gsoSize), o.seg[eth:eth+o.mtu], func(p []byte) error {
		return o.w.WritePacket(o.seg[:eth+len(p)])
	})
}

// Flush flushes the underlying writer.
func (o *L2OffloadWriter) Flush() error { return o.w.Flush() }

// PermitTunnel is what a server lets clients open, as sshd's
// PermitTunnel: a set of [Mode] bits.
type PermitTunnel uint8

// sshd's PermitTunnel values.
const (
	PermitNo           PermitTunnel = 0
	PermitPointToPoint PermitTunnel = 1 << (L3 - 1)
	PermitEthernet     PermitTunnel = 1 << (L2 - 1)
	PermitYes                       = PermitPointToPoint | PermitEthernet
)

// ParsePermitTunnel parses sshd's words: yes, point-to-point, ethernet, no.
func ParsePermitTunnel(s string) (PermitTunnel, error) {
	switch s {
	case "yes":
		return PermitYes, nil
	case "point-to-point":
		return PermitPointToPoint, nil
	case "ethernet":
		return PermitEthernet, nil
	case "no":
		return PermitNo, nil
	}
	return 0, fmt.Errorf("unknown PermitTunnel %q (want yes, point-to-point, ethernet or no)", s)
}

// Allows reports whether tunnels of mode m may be opened.
func (p PermitTunnel) Allows(m Mode) bool {
	return (m == L3 || m == L2) && p&(1<<(m-1)) != 0
}
