package topo

import (
	"context"
	"slices"
	"time"

	"github.com/vishvananda/netlink"
)

// Watch signals on the returned channel whenever a link, address or
// neighbour changes in any namespace discovery sees (netlink
// subscriptions, one set per namespace), or a namespace comes or goes
// (checked every rescan). The channel closes when ctx ends.
func Watch(ctx context.Context, opts Options, rescan time.Duration) <-chan struct{} {
	if opts.NetnsDir == "" {
		opts.NetnsDir = "/run/netns"
	}
	if opts.ProcDir == "" {
		opts.ProcDir = "/proc"
	}
	out := make(chan struct{}, 1)
	signal := func() {
		select {
		case out <- struct{}{}:
		default:
		}
	}
	go func() {
		defer close(out)
		subs := map[uint64]chan struct{}{} // inode → done
		defer func() {
			for _, done := range subs {
				close(done)
			}
		}()
		t := time.NewTicker(rescan)
		defer t.Stop()
		for {
			refs, err := findNamespaces(opts.NetnsDir, opts.ProcDir)
			if err == nil {
				if opts.Filter != nil {
					refs = slices.DeleteFunc(refs, func(r *nsRef) bool { return !r.root && !opts.Filter(r.name) })
				}
				seen := map[uint64]bool{}
				changed := false
				for _, r := range refs {
					seen[r.inode] = true
					if _, ok := subs[r.inode]; ok {
						continue
					}
					done := make(chan struct{})
					if subscribe(r, done, signal) == nil {
						subs[r.inode] = done
						changed = true
					}
				}
				for ino, done := range subs {
					if !seen[ino] {
						close(done)
						delete(subs, ino)
						changed = true
					}
				}
				if changed {
					signal()
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return out
}

// subscribe watches one namespace until done closes.
func subscribe(r *nsRef, done chan struct{}, signal func()) error {
	ns, err := r.open()
	if err != nil {
		return err
	}
	defer ns.Close() // the subscription sockets keep the namespace
	links := make(chan netlink.LinkUpdate, 16)
	addrs := make(chan netlink.AddrUpdate, 16)
	neighs := make(chan netlink.NeighUpdate, 16)
	if err := netlink.LinkSubscribeAt(ns, links, done); err != nil {
		return err
	}
	if err := netlink.AddrSubscribeAt(ns, addrs, done); err != nil {
		return err
	}
	if err := netlink.NeighSubscribeAt(ns, neighs, done); err != nil {
		return err
	}
	go func() {
		for {
			select {
			case _, ok := <-links:
				if !ok {
					return
				}
			case _, ok := <-addrs:
				if !ok {
					return
				}
			case _, ok := <-neighs:
				if !ok {
					return
				}
			}
			signal()
		}
	}()
	return nil
}
