//go:build !linux

package server

import (
	"errors"
	"os"
)

// applyModes is Linux-only for now: elsewhere the terminal keeps its
// defaults and the caller logs this error.
func applyModes(tty *os.File, modes []byte) error {
	if len(modes) == 0 {
		return nil
	}
	return errors.ErrUnsupported
}
