//go:build !linux

package session

import (
	"errors"
	"os"
)

// terminalModes is Linux-only for now; elsewhere no modes are sent, as
// ssh(1) does when it cannot read them.
func terminalModes(*os.File) ([]ttyMode, error) { return nil, errors.ErrUnsupported }
