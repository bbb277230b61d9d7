//go:build !linux

package netcfg

import (
	"context"
	"errors"
	"io"
)

// PlanApply needs Linux's netlink.
func PlanApply(ctx context.Context, t *Topology, o Options) (*Plan, error) {
	return nil, errors.ErrUnsupported
}

// Apply needs Linux's netlink.
func Apply(ctx context.Context, t *Topology, o Options, w io.Writer) (int, error) {
	return 0, errors.ErrUnsupported
}

// PlanDestroy needs Linux's netlink.
func PlanDestroy(ctx context.Context, t *Topology, o Options) (*Plan, error) {
	return nil, errors.ErrUnsupported
}

// Destroy needs Linux's netlink.
func Destroy(ctx context.Context, t *Topology, o Options, w io.Writer) (int, error) {
	return 0, errors.ErrUnsupported
}
