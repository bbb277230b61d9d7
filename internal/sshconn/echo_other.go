//go:build !linux

package sshconn

import "errors"

// echoOff is Linux's; elsewhere the prompt falls back to x/term.
func echoOff(int) (func(), error) { return nil, errors.ErrUnsupported }
