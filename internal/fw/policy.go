// Package fw generates and installs anti-spoofing firewall rules for Linux
// bridges: nftables bridge-family rules, in one table of ours, that stop ARP
// and IP spoofing from guest ports and keep each station's frames on the
// bridges it belongs to across bridges chained by veth pairs.
//
// The flow is policy → [Generate] → [Ruleset] → text ([Ruleset.Text], what
// `jumpgate fw plan` prints) or one nftables transaction ([Apply]). A policy
// comes from a file ([ParsePolicy], documented in docs/fw-policy.md) or is
// derived from a discovered topology ([FromTopology]).
package fw

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
)

// PolicyVersion is the only policy file version this package reads.
const PolicyVersion = 1

// Role is what a bridge port connects to.
type Role string

// Port roles.
const (
	// RoleGuest is a port with a guest (a VM's tap, a container's veth)
	// behind it: only the stations bound to it may send through it.
	RoleGuest Role = "guest"
	// RoleBorder is a port to another bridge, the host or an outside
	// network: frames through it may come from anyone but the stations
	// that live on this side of it.
	RoleBorder Role = "border"
)

// Border peers that are not bridges of the policy.
const (
	// PeerHost is the host's own network stack (a veth whose other end
	// carries the host's address).
	PeerHost = "host"
	// PeerExternal is a network the policy does not describe (an uplink).
	PeerExternal = "external"
	// PeerRemote is a bridge on another host, joined to this one by a
	// tunnel (VXLAN) or a cable; [Port.Remote] lists the stations known
	// to live there.
	PeerRemote = "remote"
)

// Policy says, per bridge, which ports are guest ports and which
// stations (MAC and IPs) sit behind each, and which are border ports.
// Bridges and port names live in one network namespace.
type Policy struct {
	Version int
	Bridges []Bridge
}

// Bridge is one bridge's ports.
type Bridge struct {
	Name  string
	Ports []Port
}

// Port is one bridge port and its role.
type Port struct {
	Name string
	Role Role
	// Bind lists the stations behind a guest port. An empty list quarantines
	// the port: nothing it sends gets through.
	Bind []Station
	// Peer is what a border port leads to: a bridge of the policy,
	// [PeerHost], [PeerExternal] or [PeerRemote].
	Peer string
	// Remote lists, on a border port to [PeerRemote], the stations known
	// to live beyond it on other hosts' bridges: no other port may send as
	// one of them.
	Remote []Station
	// Closed says that Remote is all there is beyond the port: frames
	// through it must come from one of Remote's MACs.
	Closed bool
}

// Station is one MAC address and the IP addresses it may use.
type Station struct {
	MAC net.HardwareAddr
	IPs []netip.Addr
}

// IP4 returns the station's IPv4 addresses.
func (s Station) IP4() []netip.Addr {
	return slices.DeleteFunc(slices.Clone(s.IPs), func(a netip.Addr) bool { return !a.Is4() })
}

// IP6 returns the station's IPv6 addresses.
func (s Station) IP6() []netip.Addr {
	return slices.DeleteFunc(slices.Clone(s.IPs), func(a netip.Addr) bool { return !a.Is6() })
}

// Bridge returns the policy's bridge named name, or nil.
func (p *Policy) Bridge(name string) *Bridge {
	for i := range p.Bridges {
		if p.Bridges[i].Name == name {
			return &p.Bridges[i]
		}
	}
	return nil
}

// Validate checks what a field alone cannot show: unique names, peers
// that exist, MACs bound to one port only. [ParsePolicy] calls it; callers
// that build a Policy in code should too. Its errors are [*FieldError]s.
func (p *Policy) Validate() error {
	if p.Version != PolicyVersion {
		return &FieldError{Path: "version", Err: fmt.Errorf("version %d is not supported (want %d)", p.Version, PolicyVersion)}
	}
	ports := map[string]string{}
	macs := map[string]string{}
	for i, b := range p.Bridges {
		bp := fmt.Sprintf("bridges[%d]", i)
		if err := checkIfName(b.Name); err != nil {
			return fieldErrorf(bp+".name", "bridge %q: %w", b.Name, err)
		}
		if p.countBridges(b.Name) > 1 {
			return fieldErrorf(bp+".name", "bridge %s is listed twice", b.Name)
		}
		for j, pt := range b.Ports {
			pp := fmt.Sprintf("%s.ports[%d]", bp, j)
			if err := checkIfName(pt.Name); err != nil {
				return fieldErrorf(pp+".name", "port %q: %w", pt.Name, err)
			}
			if other, ok := ports[pt.Name]; ok {
				return fieldErrorf(pp+".name", "port %s is already a port of bridge %s", pt.Name, other)
			}
			if p.Bridge(pt.Name) != nil {
				return fieldErrorf(pp+".name", "port %s is a bridge of the policy", pt.Name)
			}
			ports[pt.Name] = b.Name
			switch pt.Role {
			case RoleGuest:
				if pt.Peer != "" {
					return fieldErrorf(pp+".peer", "guest port %s has no peer (only border ports do)", pt.Name)
				}
				if len(pt.Remote) > 0 || pt.Closed {
					return fieldErrorf(remotePath(pp, pt), "guest port %s has no remote stations (only borders to %q do)", pt.Name, PeerRemote)
				}
				if err := checkStations(pp+".bind", pt.Name, pt.Bind, macs); err != nil {
					return err
				}
			case RoleBorder:
				if len(pt.Bind) > 0 {
					return fieldErrorf(pp+".bind", "border port %s binds no stations (only guest ports do)", pt.Name)
				}
				if pt.Peer != PeerRemote && (len(pt.Remote) > 0 || pt.Closed) {
					return fieldErrorf(remotePath(pp, pt), "port %s: only a border to %q has remote stations", pt.Name, PeerRemote)
				}
				if err := checkStations(pp+".remote", pt.Name, pt.Remote, macs); err != nil {
					return err
				}
				switch {
				case pt.Peer == PeerHost || pt.Peer == PeerExternal || pt.Peer == PeerRemote:
				case pt.Peer == b.Name:
					return fieldErrorf(pp+".peer", "port %s: peer %s is the port's own bridge", pt.Name, pt.Peer)
				case p.Bridge(pt.Peer) == nil:
					return fieldErrorf(pp+".peer", "port %s: peer %q is neither a bridge of the policy, %q, %q nor %q",
						pt.Name, pt.Peer, PeerHost, PeerExternal, PeerRemote)
				}
			default:
				return fieldErrorf(pp+".role", "port %s: role %q: want %q or %q", pt.Name, pt.Role, RoleGuest, RoleBorder)
			}
		}
	}
	for i, b := range p.Bridges {
		if other, ok := ports[b.Name]; ok {
			return fieldErrorf(fmt.Sprintf("bridges[%d].name", i), "bridge %s is also a port of bridge %s", b.Name, other)
		}
	}
	return nil
}

// remotePath is the field that gives a port remote stations.
func remotePath(pp string, pt Port) string {
	if len(pt.Remote) == 0 {
		return pp + ".closed"
	}
	return pp + ".remote"
}

// checkStations checks the stations of port name listed at path: each
// MAC on one port only (macs maps those seen so far to their port), each
// IP a unicast address.
func checkStations(path, name string, sts []Station, macs map[string]string) error {
	for k, s := range sts {
		sp := fmt.Sprintf("%s[%d]", path, k)
		if err := checkStationMAC(s.MAC); err != nil {
			return fieldErrorf(sp+".mac", "port %s: %w", name, err)
		}
		m := s.MAC.String()
		if other, ok := macs[m]; ok {
			return fieldErrorf(sp+".mac", "port %s: mac %s is already bound to port %s", name, m, other)
		}
		macs[m] = name
		for l, ip := range s.IPs {
			if !ip.IsValid() || ip.Zone() != "" || ip.Is4In6() || ip.IsUnspecified() || ip.IsMulticast() {
				return fieldErrorf(fmt.Sprintf("%s.ips[%d]", sp, l), "port %s: ip %s: want a unicast IPv4 or IPv6 address", name, ip)
			}
		}
	}
	return nil
}

// FieldError is a policy error at one field, named by its path in the
// file ("bridges[0].ports[2].peer"). [ParsePolicy] adds the file and line.
type FieldError struct {
	File string
	Line int
	Path string
	Err  error
}

func (e *FieldError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(":")
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, "%d:", e.Line)
	}
	if b.Len() > 0 {
		b.WriteString(" ")
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *FieldError) Unwrap() error { return e.Err }

func fieldErrorf(path, format string, args ...any) *FieldError {
	return &FieldError{Path: path, Err: fmt.Errorf(format, args...)}
}

func (p *Policy) countBridges(name string) int {
	n := 0
	for _, b := range p.Bridges {
		if b.Name == name {
			n++
		}
	}
	return n
}

// checkIfName checks a Linux interface name (IFNAMSIZ, no '/', no blanks).
func checkIfName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("empty interface name")
	case len(name) > 15:
		return fmt.Errorf("interface name longer than 15 bytes")
	case name == "." || name == "..":
		return fmt.Errorf("invalid interface name")
	case strings.ContainsFunc(name, func(r rune) bool { return r == '/' || r == ':' || r <= ' ' || r >= 0x7f || r == '"' }):
		return fmt.Errorf("interface name has a character Linux or nft refuses")
	}
	return nil
}

// checkStationMAC accepts a unicast, non-zero Ethernet address.
func checkStationMAC(mac net.HardwareAddr) error {
	switch {
	case len(mac) != 6:
		return fmt.Errorf("mac %q: want a 6-byte Ethernet address", mac)
	case mac[0]&1 != 0:
		return fmt.Errorf("mac %s: a multicast address cannot be a station's", mac)
	case slices.Equal(mac, net.HardwareAddr{0, 0, 0, 0, 0, 0}):
		return fmt.Errorf("mac %s: the zero address cannot be a station's", mac)
	}
	return nil
}
