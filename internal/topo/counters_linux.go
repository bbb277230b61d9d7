package topo

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// ReadCounters reads the byte counters of every link of the namespaces
// [Discover] would see with opts, one link dump per namespace. Rates are
// best effort: a namespace that cannot be read (it vanished between
// finding and reading) is left out, and only if none can is it an error.
func ReadCounters(ctx context.Context, opts Options) (*Counters, error) {
	if opts.NetnsDir == "" {
		opts.NetnsDir = "/run/netns"
	}
	if opts.ProcDir == "" {
		opts.ProcDir = "/proc"
	}
	refs, err := findNamespaces(opts.NetnsDir, opts.ProcDir)
	if err != nil {
		return nil, err
	}
	if opts.Filter != nil {
		refs = slices.DeleteFunc(refs, func(r *nsRef) bool { return !r.root && !opts.Filter(r.name) })
	}
	c := &Counters{Links: map[string][2]uint64{}}
	var first error
	read := 0
	for _, r := range refs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := readCounters(r, c); err != nil {
			first = cmp.Or(first, err)
			continue
		}
		read++
	}
	if read == 0 && first != nil {
		return nil, first
	}
	c.Time = time.Now().UnixMilli()
	return c, nil
}

func readCounters(r *nsRef, c *Counters) error {
	fd, err := r.open()
	if err != nil {
		return err
	}
	defer fd.Close()
	h, err := netlink.NewHandleAt(fd, unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("netlink handle in namespace %s: %w", r.describe(), err)
	}
	defer h.Close()
	links, err := h.LinkList()
	if err != nil {
		return fmt.Errorf("list links in namespace %s: %w", r.describe(), err)
	}
	for _, l := range links {
		if s := l.Attrs().Statistics; s != nil {
			c.Links[r.nsID()+"/"+l.Attrs().Name] = [2]uint64{s.RxBytes, s.TxBytes}
		}
	}
	return nil
}
