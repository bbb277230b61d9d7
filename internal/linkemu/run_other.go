//go:build !linux

package linkemu

import (
	"context"
	"errors"
)

// Run needs Linux's AF_PACKET sockets.
func Run(ctx context.Context, c Config, ready func()) error { return errors.ErrUnsupported }
