// Package netcfg turns a declarative network file (YAML, schema version 1,
// documented in docs/net-schema.md) into kernel state: network namespaces,
// bridges, veth pairs, taps, addresses, routes and link shaping. It plans
// the changes against the live kernel, applies them (rolling back what one
// apply made when a later step fails), destroys exactly what a file owns and
// exports systemd-networkd files that recreate it at boot.
package netcfg

import (
	"fmt"
	"net/netip"
	"time"
)

// Version is the schema version this package reads.
const Version = 1

// Topology is a parsed, validated network file.
type Topology struct {
	// Name owns what the file makes: it is written into every link's
	// ifalias and names the state file. It defaults to the file's base name.
	Name       string
	Namespaces []Namespace
	Bridges    []Bridge
	Veths      []Veth
	Taps       []Tap
	Routes     []Route
	// VXLANs join bridges on different hosts at layer 2.
	VXLANs []VXLAN
}

// Namespace is a named network namespace (/run/netns/NAME).
type Namespace struct {
	Name string
	Host string // "" is the machine jumpgate runs on
}

// Bridge is a Linux bridge.
type Bridge struct {
	Name      string
	Host      string
	Namespace string // "" is the host
	STP       bool
	// Ageing is the FDB ageing time; 0 keeps the kernel's default (300s).
	Ageing        time.Duration
	VLANFiltering bool
	Addresses     []netip.Prefix
}

// End is one end of a veth pair.
type End struct {
	Name      string
	Namespace string
	Bridge    string // enslave to this bridge in the same namespace
	Addresses []netip.Prefix
}

// Veth is a veth pair, optionally shaped.
type Veth struct {
	Host  string // both ends are on one host
	A, B  End
	Shape Shape
}

// Shape emulates a WAN or DSL link, the same in both directions.
type Shape struct {
	Rate  uint64        // bits per second; 0 is unlimited
	Delay time.Duration // one way
	Loss  float64       // percent, 0–100
	// Limit is how many frames may queue in each direction, netem's
	// limit; 0 keeps the default (netem 10000, the userspace emulator
	// 1000). A path holds its bandwidth-delay product in that queue.
	Limit int
}

// IsZero reports whether the shape changes nothing.
func (s Shape) IsZero() bool { return s == Shape{} }

// MaxLimit bounds [Shape.Limit]: a million full-size frames, 1.5 GB in
// flight, is more than any emulated path here needs.
const MaxLimit = 1_000_000

// Tap is a persistent tap device.
type Tap struct {
	Name      string
	Host      string
	Namespace string
	Bridge    string
	Owner     *uint32 // uid allowed to open it
	Addresses []netip.Prefix
}

// Route is a route in one namespace.
type Route struct {
	Host      string
	Namespace string
	To        netip.Prefix
	Via       netip.Addr // zero: on-link through Dev
	Dev       string
}

// VXLAN is one layer-2 segment across hosts: a kernel VXLAN link named
// Name on each end's host, enslaved to the end's bridge, sending to the
// other end's Local address (unicast, UDP port Port).
type VXLAN struct {
	Name string
	ID   uint32 // the VNI
	Port uint16 // UDP destination port; 4789 (IANA) when not given
	Ends [2]VXLANEnd
}

// VXLANEnd is where a [VXLAN] meets a bridge.
type VXLANEnd struct {
	Host      string
	Namespace string
	Bridge    string
	Local     netip.Addr // this host's underlay address
	Dev       string     // the underlay link; its MTU sets the segment's
}

// DefaultVXLANPort is the IANA port for VXLAN (RFC 7348), which Linux
// does not use unless told.
const DefaultVXLANPort = 4789

// Hosts lists the hosts the file names, in order of first mention; "" (the
// machine jumpgate runs on) comes first when anything is on it.
func (t *Topology) Hosts() []string {
	var hs []string
	seen := map[string]bool{}
	add := func(h string) {
		if !seen[h] {
			seen[h] = true
			hs = append(hs, h)
		}
	}
	for _, n := range t.Namespaces {
		add(n.Host)
	}
	for _, b := range t.Bridges {
		add(b.Host)
	}
	for _, v := range t.Veths {
		add(v.Host)
	}
	for _, tp := range t.Taps {
		add(tp.Host)
	}
	for _, r := range t.Routes {
		add(r.Host)
	}
	for _, x := range t.VXLANs {
		add(x.Ends[0].Host)
		add(x.Ends[1].Host)
	}
	if seen[""] && hs[0] != "" {
		hs = append([]string{""}, slicesDelete(hs, "")...)
	}
	return hs
}

func slicesDelete(ss []string, s string) []string {
	var out []string
	for _, x := range ss {
		if x != s {
			out = append(out, x)
		}
	}
	return out
}

// OnHost is the part of t on host h, with h's VXLAN ends as links.
func (t *Topology) OnHost(h string) *Topology {
	return &Topology{
		Name:       t.Name,
		Namespaces: keep(t.Namespaces, func(n Namespace) bool { return n.Host == h }),
		Bridges:    keep(t.Bridges, func(b Bridge) bool { return b.Host == h }),
		Veths:      keep(t.Veths, func(v Veth) bool { return v.Host == h }),
		Taps:       keep(t.Taps, func(tp Tap) bool { return tp.Host == h }),
		Routes:     keep(t.Routes, func(r Route) bool { return r.Host == h }),
		VXLANs:     keep(t.VXLANs, func(x VXLAN) bool { return x.Ends[0].Host == h || x.Ends[1].Host == h }),
	}
}

// keep is the elements of xs for which ok holds, nil if none.
func keep[T any](xs []T, ok func(T) bool) []T {
	var out []T
	for _, x := range xs {
		if ok(x) {
			out = append(out, x)
		}
	}
	return out
}

// hostLabel names a host in messages.
func hostLabel(h string) string {
	if h == "" {
		return "local"
	}
	return h
}

// SchemaError is a problem in a network file, placed at its line.
type SchemaError struct {
	File   string
	Line   int
	Column int
	Field  string // dotted path, e.g. veths[1].a.namespace
	Msg    string
}

func (e *SchemaError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s: %s", e.File, e.Line, e.Column, e.Field, e.Msg)
}

// nsLabel names a namespace in messages.
func nsLabel(ns string) string {
	if ns == "" {
		return "host"
	}
	return ns
}

// FormatRate prints bits per second the way tc does (100mbit).
func FormatRate(bps uint64) string {
	switch {
	case bps >= 1e9 && bps%1e9 == 0:
		return fmt.Sprintf("%dgbit", bps/1e9)
	case bps >= 1e6 && bps%1e6 == 0:
		return fmt.Sprintf("%dmbit", bps/1e6)
	case bps >= 1e3 && bps%1e3 == 0:
		return fmt.Sprintf("%dkbit", bps/1e3)
	}
	return fmt.Sprintf("%dbit", bps)
}
