//go:build !linux

package vpn

import (
	"context"
	"errors"
	"net/netip"
)

// Endpoint is a configured local end of a tunnel; Linux-only.
type Endpoint struct {
	Device
	cfg Config
}

// Leftovers is Linux-only: nothing is ever left.
func (e *Endpoint) Leftovers() (bridge string, ports []string) { return "", nil }

// RemoveLeftovers is Linux-only.
func RemoveLeftovers(bridge string, removeBridge bool, ports []string) error {
	return errors.ErrUnsupported
}

// Config returns the configuration the endpoint was made with.
func (e *Endpoint) Config() Config { return e.cfg }

// Setup is Linux-only.
func Setup(ctx context.Context, cfg Config) (*Endpoint, error) { return nil, errors.ErrUnsupported }

// Close is Linux-only.
func (e *Endpoint) Close() error { return errors.ErrUnsupported }

// LinkMTU is unknown (0) but on Linux.
func LinkMTU(addr netip.Addr) int { return 0 }

// UsedPrefixes is Linux-only.
func UsedPrefixes() ([]netip.Prefix, error) { return nil, errors.ErrUnsupported }
