// Package vpn carries IP packets (layer 3) or Ethernet frames (layer 2)
// between a local tun/tap device and an SSH channel, and configures both
// ends: addresses, routes, bridges and NAT, all removed again on exit.
//
// Two transports exist. The OpenSSH-native one is the "tun@openssh.com"
// channel of OpenSSH's PROTOCOL §2.3 (sshd with PermitTunnel, or `jumpgate
// serve --permit-tunnel`): one packet per channel message, prefixed with a
// 4-byte address family for layer 3. Peer mode runs a copy of jumpgate on
// the far host (`jumpgate vpn --serve-peer`) over an exec channel and speaks our own
// framing ([FrameWriter], [FrameReader]), which carries many packets per
// write.
//
// Flow: [Open] makes the device → [Setup] configures it (netconf_linux.go)
// → [Pump] copies both ways until one side ends → [Endpoint.Close] removes
// everything that was made.
package vpn

import (
	"errors"
	"fmt"
	"io"
)

// Mode is the layer a tunnel works at.
type Mode int

const (
	// L3 carries IP packets through tun devices.
	L3 Mode = 1 // SSH_TUNMODE_POINTOPOINT
	// L2 carries Ethernet frames through tap devices.
	L2 Mode = 2 // SSH_TUNMODE_ETHERNET
)

func (m Mode) String() string {
	switch m {
	case L3:
		return "l3"
	case L2:
		return "l2"
	}
	return fmt.Sprintf("mode(%d)", int(m))
}

// ParseMode parses "l3" or "l2".
func ParseMode(s string) (Mode, error) {
	switch s {
	case "l3":
		return L3, nil
	case "l2":
		return L2, nil
	}
	return 0, fmt.Errorf("unknown tunnel mode %q (want l3 or l2)", s)
}

// Device is a tun or tap device: each Read returns one packet or frame,
// each Write sends one.
type Device interface {
	io.ReadWriteCloser
	// Name is the interface name, such as "tun0".
	Name() string
}

// MaxPacket bounds the packets and frames any transport accepts: an MTU
// of at most 65535 plus an Ethernet header.
const MaxPacket = 65535 + 14

// vnetHdrLen is the size of the virtio_net_hdr before every packet of a
// device opened with offloads (IFF_VNET_HDR, the kernel's default size).
const vnetHdrLen = 10

// MaxFrame bounds what peer mode's framing carries: a packet of
// [MaxPacket] behind a virtio_net_hdr when the tunnel has offloads.
const MaxFrame = MaxPacket + vnetHdrLen

// ErrNoOffload is wrapped by [Open] when the kernel refuses offloads.
var ErrNoOffload = errors.New("offloads refused")

// ErrPacketTooLong is wrapped by decoders when a peer announces a packet
// longer than the tunnel allows.
var ErrPacketTooLong = errors.New("packet longer than the tunnel MTU")
