//go:build !linux

package vpn

import "errors"

// Open is Linux-only.
func Open(mode Mode, name string, offload bool) (Device, error) {
	return nil, errors.ErrUnsupported
}
