package vpn

// The tun@openssh.com channel (OpenSSH PROTOCOL §2.3). Channel open:
//
//	uint32  tunnel mode (1 layer 3, 2 layer 2)
//	uint32  remote unit number (0x7fffffff: any)
//
// Each channel data message carries one packet; for layer 3 it starts with
// a 4-byte address family (2 for IPv4, 24 — OpenBSD's AF_INET6 — for IPv6).
// x/crypto/ssh's channel Read joins consecutive messages, so the boundaries
// are recovered from the IP headers' length fields ([L3Reader]). Layer 2
// needs the messages themselves (ethernet.go).

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"

	"golang.org/x/crypto/ssh"

	"github.com/jumpgate/jumpgate/internal/sshwire"
)

// TunChannelType is OpenSSH's tunnel channel.
const TunChannelType = "tun@openssh.com"

// AnyUnit asks the server to choose the tunnel unit.
const AnyUnit = 0x7fffffff

// OpenSSH's address families on the wire (OpenBSD's values).
const (
	afInet  = 2
	afInet6 = 24
)

// TunOpen is the channel-specific data of a tun@openssh.com open.
type TunOpen struct {
	Mode uint32
	Unit uint32
}

// Marshal encodes the open payload.
func (o TunOpen) Marshal() []byte { return ssh.Marshal(&o) }

// ParseTunOpen decodes the open payload.
func ParseTunOpen(b []byte) (TunOpen, error) {
	var o TunOpen
	if err := ssh.Unmarshal(b, &o); err != nil {
		return o, fmt.Errorf("tun@openssh.com open: %w", err)
	}
	if o.Mode != uint32(L3) && o.Mode != uint32(L2) {
		return o, fmt.Errorf("tun@openssh.com open: unknown tunnel mode %d", o.Mode)
	}
	return o, nil
}

// L3Reader re-frames layer-3 tun@openssh.com data read from a channel.
type L3Reader struct {
	src io.Reader
	r   *bufio.Reader
	max int
	buf []byte
}

// NewL3Reader reads packets of at most max bytes (the MTU) from r.
func NewL3Reader(r io.Reader, max int) *L3Reader {
	return &L3Reader{src: r, r: bufio.NewReaderSize(r, 256<<10), max: max, buf: make([]byte, 4+max)}
}

// SinkPackets hands each packet to f without its address family, in the
// connection's reader, if the channel can (sshwire.PacketSink) and nothing
// was read from it yet. Each message is then one packet, checked as
// ReadPacket checks it, and of exactly its IP length.
func (l *L3Reader) SinkPackets(f func(p []byte) error) bool {
	if l.r.Buffered() > 0 {
		return false
	}
	return sinkVia(l.src, func(p []byte) error {
		if len(p) < 4+6 {
			return fmt.Errorf("tun@openssh.com: %w: message of %d bytes", ErrBadFrame, len(p))
		}
		n, err := l.length(p)
		if err != nil {
			return err
		}
		if 4+n != len(p) {
			return fmt.Errorf("tun@openssh.com: %w: message of %d bytes holds an IP packet of %d", ErrBadFrame, len(p), n)
		}
		return f(p[4:])
	})
}

// length is the IP packet's length from the first 4+6 bytes of a
// message: its address family and the start of the packet.
func (l *L3Reader) length(h []byte) (int, error) {
	af := binary.BigEndian.Uint32(h)
	ver := h[4] >> 4
	var n int
	switch {
	case af == afInet && ver == 4:
		n = int(binary.BigEndian.Uint16(h[6:]))
		if n < 20 {
			return 0, fmt.Errorf("tun@openssh.com: %w: IPv4 total length %d", ErrBadFrame, n)
		}
	case af == afInet6 && ver == 6:
		n = 40 + int(binary.BigEndian.Uint16(h[8:]))
	default:
		return 0, fmt.Errorf("tun@openssh.com: %w: address family %d with IP version %d", ErrBadFrame, af, ver)
	}
	if n > l.max {
		return 0, fmt.Errorf("tun@openssh.com packet of %d bytes, MTU %d: %w", n, l.max, ErrPacketTooLong)
	}
	return n, nil
}

// ReadPacket returns the next IP packet without its address family,
// valid until the next call.
func (l *L3Reader) ReadPacket() ([]byte, error) {
	h, err := l.r.Peek(4 + 6)
	if err != nil {
		if len(h) > 0 && err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		if len(h) == 0 {
			return nil, err
		}
		return nil, fmt.Errorf("tun@openssh.com packet header: %w", err)
	}
	n, err := l.length(h)
	if err != nil {
		return nil, err
	}
	b := l.buf[:4+n]
	if _, err := io.ReadFull(l.r, b); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("tun@openssh.com packet of %d bytes: %w", n, err)
	}
	return b[4:], nil
}

// L3Writer writes each IP packet as one tun@openssh.com message.
type L3Writer struct {
	w    io.Writer
	buf  []byte
	pace *pacer
}

// NewL3Writer returns a writer of layer-3 tun@openssh.com messages on w.
func NewL3Writer(w io.Writer) *L3Writer { return &L3Writer{w: w, buf: make([]byte, 4+MaxPacket)} }

// NewPacedL3Writer is [NewL3Writer] for a channel to OpenSSH's sshd:
// roundTrip (a global request with a reply, such as keepalive@openssh.com)
// lets it keep what is in flight below sshd's window, so that x/crypto/ssh
// never splits a packet in two messages (see pace.go).
func NewPacedL3Writer(w io.Writer, roundTrip func() error) *L3Writer {
	l := NewL3Writer(w)
	l.pace = newPacer(roundTrip)
	return l
}

// WritePacket writes p with its address family as one message: whole
// through a channel that can ([sshwire.PacketWriter]), else in one Write,
// which x/crypto/ssh sends as one message while the window takes it (see
// [NewPacedL3Writer]). Packets that are not IP are dropped.
func (l *L3Writer) WritePacket(p []byte) error {
	if len(p) == 0 || len(p) > MaxPacket {
		return nil
	}
	var af uint32
	switch p[0] >> 4 {
	case 4:
		af = afInet
	case 6:
		af = afInet6
	default:
		return nil
	}
	b := l.buf[:4+len(p)]
	binary.BigEndian.PutUint32(b, af)
	copy(b[4:], p)
	if pw, ok := l.w.(sshwire.PacketWriter); ok {
		return pw.WritePacket(b)
	}
	if l.pace != nil {
		if err := l.pace.wrote(len(b)); err != nil {
			return err
		}
	}
	_, err := l.w.Write(b)
	return err
}

// Flush does nothing: every packet is written at once.
func (l *L3Writer) Flush() error { return nil }
