//go:build !linux

package lab

import "errors"

func ensureNetnsDir() error { return errors.ErrUnsupported }

func newNamedNetns(string) error { return errors.ErrUnsupported }

func removeNetns(string) error { return errors.ErrUnsupported }
