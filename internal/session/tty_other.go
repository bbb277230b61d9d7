//go:build !unix

package session

import (
	"errors"
	"os"
)

// winchSignals is empty where there is no SIGWINCH: window changes are
// not followed.
func winchSignals() []os.Signal { return nil }

func getWinsize(*os.File) (winsize, error) { return winsize{}, errors.ErrUnsupported }

func suspendSelf() error { return errors.ErrUnsupported }
