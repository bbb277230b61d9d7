//go:build !linux

package topo

import (
	"context"
	"errors"
	"time"
)

// Discover needs netlink: on other systems, use remote discovery.
func Discover(ctx context.Context, opts Options) (*Topology, error) {
	return nil, errors.ErrUnsupported
}

// Watch needs netlink; elsewhere it never signals and closes with ctx.
func Watch(ctx context.Context, opts Options, rescan time.Duration) <-chan struct{} {
	ch := make(chan struct{})
	go func() { <-ctx.Done(); close(ch) }()
	return ch
}

// ReadCounters needs netlink.
func ReadCounters(ctx context.Context, opts Options) (*Counters, error) {
	return nil, errors.ErrUnsupported
}
