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
}

// Namespace is a named network namespace (/run/netns/NAME).
type Namespace struct {
	Name string
}

// Bridge is a Linux bridge.
type Bridge struct {
	Name      string
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
	Namespace string
	Bridge    string
	Owner     *uint32 // uid allowed to open it
	Addresses []netip.Prefix
}

// Route is a route in one namespace.
type Route struct {
	Namespace string
	To        netip.Prefix
	Via       netip.Addr // zero: on-link through Dev
	Dev       string
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
