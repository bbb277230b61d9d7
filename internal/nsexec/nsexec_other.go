//go:build !linux

package nsexec

import (
	"errors"

	"github.com/vishvananda/netns"
)

// Do needs Linux's network namespaces.
func Do(path string, fn func() error) error { return errors.ErrUnsupported }

// DoHandle needs Linux's network namespaces.
func DoHandle(h netns.NsHandle, fn func() error) error { return errors.ErrUnsupported }

// New needs Linux's network namespaces.
func New() (netns.NsHandle, error) { return netns.None(), errors.ErrUnsupported }

// NewNamed needs Linux's network namespaces.
func NewNamed(name string) (netns.NsHandle, error) { return netns.None(), errors.ErrUnsupported }

// Self needs Linux's network namespaces.
func Self() (netns.NsHandle, error) { return netns.None(), errors.ErrUnsupported }
