package libvirt

// Parsers for what virsh prints: `domifaddr`, `list --all`, `domdisplay`
// and the <graphics> elements of `dumpxml`. virsh aligns its tables with
// spaces for people, so the parsers read whitespace-separated columns and
// know which column may itself hold spaces (a domain's name or state).

import (
	"encoding/xml"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// IfAddr is one row of `virsh domifaddr`.
type IfAddr struct {
	Name     string // interface (vnet0 from leases and ARP, eth0 from the agent)
	MAC      string
	Protocol string // ipv4 or ipv6
	Prefix   netip.Prefix
}

// ParseDomIfAddr parses `virsh domifaddr` (with or without -q). A row whose
// name and MAC are "-" continues the interface above it, as virsh prints
// an interface's second and later addresses.
func ParseDomIfAddr(s string) ([]IfAddr, error) {
	var out []IfAddr
	n := 0
	for line := range strings.Lines(s) {
		n++
		f := strings.Fields(line)
		if len(f) == 0 || isRule(f[0]) || f[0] == "Name" && len(f) >= 2 && f[1] == "MAC" {
			continue
		}
		if len(f) != 4 {
			return nil, fmt.Errorf("domifaddr line %d: want name, MAC, protocol and address, got %q", n, strings.TrimSpace(line))
		}
		a := IfAddr{Name: f[0], MAC: strings.ToLower(f[1]), Protocol: f[2]}
		if a.Name == "-" && len(out) > 0 {
			a.Name = out[len(out)-1].Name
		}
		if a.MAC == "-" && len(out) > 0 {
			a.MAC = out[len(out)-1].MAC
		}
		p, err := parsePrefix(f[3])
		if err != nil {
			return nil, fmt.Errorf("domifaddr line %d: %w", n, err)
		}
		a.Prefix = p
		out = append(out, a)
	}
	return out, nil
}

func parsePrefix(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("bad address %q", s)
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func isRule(s string) bool { return strings.Trim(s, "-") == "" && len(s) > 1 }

// PickAddr chooses the address to reach a guest at: the first IPv4
// address that is neither loopback nor link-local, else the first such
// IPv6 address. ok is false when there is none.
func PickAddr(addrs []IfAddr) (netip.Addr, bool) {
	usable := func(a netip.Addr) bool {
		return a.IsValid() && !a.IsLoopback() && !a.IsLinkLocalUnicast() && !a.IsUnspecified() && !a.IsMulticast()
	}
	for _, want4 := range []bool{true, false} {
		for _, x := range addrs {
			a := x.Prefix.Addr().Unmap()
			if a.Is4() == want4 && usable(a) {
				return a, true
			}
		}
	}
	return netip.Addr{}, false
}

// Domain is one row of `virsh list --all`.
type Domain struct {
	ID    int // -1 when the domain is not running
	Name  string
	State string // running, shut off, paused, …
}

// states are virsh's domain state words (virshDomainStateToString), the
// longest first so that "shut off" wins over a name ending in "off".
var states = []string{"in shutdown", "pmsuspended", "no state", "shut off", "running", "crashed", "blocked", "paused", "idle", "dying"}

// ParseList parses `virsh list --all` (with or without -q). Names may hold
// spaces; the state is recognised by its words at the end of the row.
func ParseList(s string) ([]Domain, error) {
	var out []Domain
	n := 0
	for line := range strings.Lines(s) {
		n++
		t := strings.TrimSpace(line)
		f := strings.Fields(t)
		if len(f) == 0 || isRule(f[0]) || len(f) >= 3 && f[0] == "Id" && f[1] == "Name" {
			continue
		}
		if len(f) < 3 {
			return nil, fmt.Errorf("list line %d: want id, name and state, got %q", n, t)
		}
		d := Domain{ID: -1}
		if f[0] != "-" {
			id, err := strconv.Atoi(f[0])
			if err != nil || id < 0 {
				return nil, fmt.Errorf("list line %d: bad id %q", n, f[0])
			}
			d.ID = id
		}
		rest := strings.TrimSpace(t[len(f[0]):])
		for _, st := range states {
			if before, ok := strings.CutSuffix(rest, st); ok && strings.TrimSpace(before) != "" && strings.HasSuffix(before, " ") {
				d.Name, d.State = strings.TrimSpace(before), st
				break
			}
		}
		if d.State == "" {
			// An unknown state word: take the last field.
			i := strings.LastIndexFunc(rest, unicode.IsSpace)
			_, size := utf8.DecodeRuneInString(rest[i:])
			d.Name, d.State = strings.TrimSpace(rest[:i]), rest[i+size:]
		}
		out = append(out, d)
	}
	return out, nil
}

// Display is a domain's graphical console as seen from its hypervisor.
type Display struct {
	Type    string // "spice" or "vnc"
	Network string // "tcp" or "unix"
	// Address is host:port (reachable from the hypervisor) or, for
	// "unix", the socket's path there.
	Address string
	// TLSPort is Spice's TLS port, 0 if none.
	TLSPort int
}

// String is the display's URI on the hypervisor, as remote-viewer takes it.
func (d Display) String() string { return d.URI(d.Network, d.Address) }

// URI is the remote-viewer URI of this display served at network/address
// (for example a local forward of it).
func (d Display) URI(network, address string) string {
	if network == "unix" {
		// Escaped, so that a path with a space, '?' or '#' reads back.
		return (&url.URL{Scheme: d.Type + "+unix", Path: address}).String()
	}
	if d.Type == "vnc" {
		// remote-viewer reads vnc://host:N as display N below 100 and
		// as a port from 5900 on, as virsh domdisplay prints it.
		host, port, _ := net.SplitHostPort(address)
		if p, err := strconv.Atoi(port); err == nil && p >= 5900 {
			return "vnc://" + net.JoinHostPort(host, strconv.Itoa(p-5900))
		}
	}
	return d.Type + "://" + address
}

// ErrNoDisplay says a domain has no Spice or VNC display to connect to.
var ErrNoDisplay = errors.New("no Spice or VNC display")

// ParseDomDisplay parses `virsh domdisplay`: spice://host:port[?tls-port=N],
// vnc://host:display, or spice+unix:// / vnc+unix:// and a socket path.
func ParseDomDisplay(s string) (Display, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Display{}, ErrNoDisplay
	}
	u, err := url.Parse(s)
	if err != nil {
		return Display{}, fmt.Errorf("domdisplay %q: %w", s, err)
	}
	d := Display{Network: "tcp"}
	typ, unix := strings.CutSuffix(u.Scheme, "+unix")
	switch typ {
	case "spice", "vnc":
		d.Type = typ
	default:
		return Display{}, fmt.Errorf("domdisplay %q: %w (scheme %q)", s, ErrNoDisplay, u.Scheme)
	}
	if unix {
		if u.Path == "" || !strings.HasPrefix(u.Path, "/") {
			return Display{}, fmt.Errorf("domdisplay %q: no socket path", s)
		}
		d.Network, d.Address = "unix", u.Path
		return d, nil
	}
	host, port := u.Hostname(), u.Port()
	if !validHost(host) {
		return Display{}, fmt.Errorf("domdisplay %q: bad host %q", s, host)
	}
	p := 0
	if port != "" {
		if p, err = strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
			return Display{}, fmt.Errorf("domdisplay %q: bad port %q", s, port)
		}
	}
	if typ == "vnc" && p < 5900 {
		p += 5900 // a display number
	}
	if p == 0 || p > 65535 {
		return Display{}, fmt.Errorf("domdisplay %q: no port", s)
	}
	if t := u.Query().Get("tls-port"); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil || n <= 0 || n > 65535 {
			return Display{}, fmt.Errorf("domdisplay %q: bad tls-port %q", s, t)
		}
		d.TLSPort = n
	}
	d.Address = net.JoinHostPort(connectHost(host), strconv.Itoa(p))
	return d, nil
}

// validHost accepts an IP address or a DNS name.
func validHost(h string) bool {
	if _, err := netip.ParseAddr(h); err == nil {
		return true
	}
	return h != "" && len(h) <= 253 && strings.Trim(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.") == ""
}

// connectHost turns a listen address into one to connect to from the
// hypervisor: a wildcard becomes loopback.
func connectHost(h string) string {
	switch h {
	case "", "0.0.0.0", "::", "[::]":
		return "127.0.0.1"
	}
	return strings.Trim(h, "[]")
}

type xmlDomain struct {
	Graphics []xmlGraphics `xml:"devices>graphics"`
}

type xmlGraphics struct {
	Type    string      `xml:"type,attr"`
	Port    string      `xml:"port,attr"`
	TLSPort string      `xml:"tlsPort,attr"`
	Listen  string      `xml:"listen,attr"`
	Socket  string      `xml:"socket,attr"`
	Listens []xmlListen `xml:"listen"`
}

type xmlListen struct {
	Type    string `xml:"type,attr"`
	Address string `xml:"address,attr"`
	Socket  string `xml:"socket,attr"`
}

// ParseGraphicsXML reads the Spice and VNC <graphics> elements of a
// running domain's XML (`virsh dumpxml`), where libvirt has filled in
// the ports it chose. Graphics that cannot be connected to (no port yet,
// a type other than Spice or VNC) are left out.
func ParseGraphicsXML(b []byte) ([]Display, error) {
	var dom xmlDomain
	if err := xml.Unmarshal(b, &dom); err != nil {
		return nil, fmt.Errorf("domain XML: %w", err)
	}
	var out []Display
	for _, g := range dom.Graphics {
		if g.Type != "spice" && g.Type != "vnc" {
			continue
		}
		socket, listen := g.Socket, g.Listen
		for _, l := range g.Listens {
			switch l.Type {
			case "socket":
				if l.Socket != "" {
					socket = l.Socket
				}
			case "address", "network":
				if l.Address != "" {
					listen = l.Address
				}
			}
		}
		if socket != "" && strings.HasPrefix(socket, "/") {
			out = append(out, Display{Type: g.Type, Network: "unix", Address: socket})
			continue
		}
		p, err := strconv.Atoi(g.Port)
		if err != nil || p <= 0 || p > 65535 {
			continue
		}
		d := Display{Type: g.Type, Network: "tcp", Address: net.JoinHostPort(connectHost(listen), strconv.Itoa(p))}
		if t, err := strconv.Atoi(g.TLSPort); err == nil && t > 0 && t <= 65535 {
			d.TLSPort = t
		}
		out = append(out, d)
	}
	return out, nil
}
