//go:build !linux

package bench

import (
	"errors"
	"os/exec"
)

// startInNetns needs Linux's network namespaces.
func startInNetns(string, *exec.Cmd) error { return errors.ErrUnsupported }
