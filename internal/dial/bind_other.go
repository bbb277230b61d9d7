//go:build !linux

package dial

import (
	"errors"
	"syscall"
)

// bindToDevice is BindInterface, which needs Linux's SO_BINDTODEVICE.
func bindToDevice(iface string) func(network, address string, c syscall.RawConn) error {
	return func(string, string, syscall.RawConn) error {
		return errors.New("BindInterface " + iface + " is supported on Linux only")
	}
}
