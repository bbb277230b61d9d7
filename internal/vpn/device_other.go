//go:build !linux

package vpn

import "errors"

// Open is Linux-only.
func Open(mode Mode, name string) (Device, error) {
	return nil, errors.ErrUnsupported
}
