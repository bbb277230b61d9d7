//go:build !linux

package fw

import (
	"context"
	"errors"
)

// Apply needs Linux's nftables.
func Apply(context.Context, Target, *Ruleset) error { return errors.ErrUnsupported }

// Flush needs Linux's nftables.
func Flush(context.Context, Target) (bool, error) { return false, errors.ErrUnsupported }
