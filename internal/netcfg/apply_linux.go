package netcfg

// Apply runs a plan's steps in order and, when one fails, undoes the steps
// it already ran in reverse; destroy removes what the file owns: links whose
// ifalias names the owner, emulators and namespaces its state file lists.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"

	"github.com/vishvananda/netlink"

	"github.com/jumpgate/jumpgate/internal/ipnet"
)

// Apply makes the kernel match t, printing each step to w as it runs.
// It returns how many steps ran; 0 means nothing needed changing (and w
// says "no changes").
func Apply(ctx context.Context, t *Topology, o Options, w io.Writer) (int, error) {
	k := newKernel(o)
	defer k.close()
	plan, err := planHosts(ctx, t, o, k, false)
	if err != nil {
		return 0, err
	}
	if err := plan.Write(w); err != nil {
		return 0, err
	}
	return run(ctx, plan, w)
}

// planHosts plans each host of t, this machine's part through netlink and
// the others' through [Options.Remote], as one plan: a failure on any
// host rolls back the steps on all of them.
func planHosts(ctx context.Context, t *Topology, o Options, k *kernel, destroy bool) (*Plan, error) {
	all := &Plan{}
	for _, h := range t.Hosts() {
		if h == "" {
			continue
		}
		r, err := newRemote(ctx, t, h, o)
		if err != nil {
			return nil, err
		}
		if destroy {
			r.planDestroy()
		} else if err := r.plan(); err != nil {
			return nil, fmt.Errorf("host %s: %w", h, err)
		}
		all.Steps = append(all.Steps, r.steps...)
	}
	hosts := t.Hosts()
	if len(hosts) > 0 && hosts[0] != "" {
		return all, nil
	}
	local := t.OnHost("")
	if len(local.VXLANs) > 0 {
		return nil, fmt.Errorf("vxlan %s: an end on this machine is not supported yet; name this machine with host: (it is reached over SSH like the others)", local.VXLANs[0].Name)
	}
	p, err := newPlanner(ctx, local, o, k)
	if err != nil {
		return nil, err
	}
	var lp *Plan
	if destroy {
		lp = p.planDestroy()
	} else if lp, err = p.plan(ctx); err != nil {
		return nil, err
	}
	// This machine first: a remote segment may ride a tunnel it sets up.
	all.Steps = append(lp.Steps, all.Steps...)
	all.Notes = lp.Notes
	return all, nil
}

// run executes steps, rolling back on the first failure.
func run(ctx context.Context, plan *Plan, w io.Writer) (int, error) {
	for i, s := range plan.Steps {
		err := ctx.Err()
		if err == nil {
			err = s.do()
		}
		if err == nil {
			continue
		}
		var rerrs []error
		for j := i; j >= 0; j-- { // the failed step may have half-happened
			u := plan.Steps[j]
			if u.undo == nil {
				continue
			}
			if uerr := u.undo(); uerr != nil && j < i {
				rerrs = append(rerrs, fmt.Errorf("undo %q: %w", u.Desc, uerr))
			} else if j < i {
				fmt.Fprintf(w, "rolled back: %s\n", u.Desc)
			}
		}
		err = fmt.Errorf("apply %q: %w (rolled back the %d steps before it)", s.Desc, err, i)
		if len(rerrs) > 0 {
			err = errors.Join(append([]error{err}, rerrs...)...)
		}
		return 0, err
	}
	return len(plan.Steps), nil
}

// PlanDestroy lists what [Destroy] would remove.
func PlanDestroy(ctx context.Context, t *Topology, o Options) (*Plan, error) {
	k := newKernel(o)
	defer k.close()
	return planHosts(ctx, t, o, k, true)
}

// Destroy removes what t owns, printing each step to w.
func Destroy(ctx context.Context, t *Topology, o Options, w io.Writer) (int, error) {
	k := newKernel(o)
	defer k.close()
	plan, err := planHosts(ctx, t, o, k, true)
	if err != nil {
		return 0, err
	}
	if err := plan.Write(w); err != nil {
		return 0, err
	}
	// Destroy goes on past failures, removing all it can.
	var errs []error
	for _, s := range plan.Steps {
		if err := s.do(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s.Desc, err))
		}
	}
	if len(errs) == 0 {
		logs, _ := filepath.Glob(filepath.Join(o.stateDir(), o.owner(t)+".*.log"))
		for _, l := range logs {
			_ = os.Remove(l)
		}
	}
	return len(plan.Steps), errors.Join(errs...)
}

func (p *planner) planDestroy() *Plan {
	for _, e := range p.st.Emulators {
		p.add('-', fmt.Sprintf("link emulator %s (pid %d)", e.ID, e.PID), func() error { return p.stopEmulator(e.ID) }, nil)
	}
	for _, r := range p.t.Routes {
		if r.Namespace != "" && p.st.ownsNamespace(r.Namespace) {
			continue // goes with its namespace
		}
		p.planRouteDel(r)
	}
	links, _, _ := expand(p.t, p.o.owner(p.t), false)
	seen := map[string]bool{}
	for i := len(links) - 1; i >= 0; i-- {
		s := links[i]
		key := s.ns + "/" + s.name
		if seen[key] {
			continue
		}
		seen[key] = true
		l, err := p.link(s.ns, s.name)
		if err != nil || l == nil || l.Attrs().Alias != p.alias {
			continue
		}
		if s.kind == kindPeer {
			// Deleting a veth end deletes its peer; the peer entry stays
			// for the case where the other end is already gone.
			p.add('-', fmt.Sprintf("link %s", s.label()), func() error { return p.deleteLink(s.ns, s.name) }, nil)
			continue
		}
		p.add('-', fmt.Sprintf("link %s", s.label()), func() error { return p.deleteLink(s.ns, s.name) }, nil)
	}
	for _, ns := range p.st.Namespaces {
		p.add('-', "namespace "+p.k.realNS(ns), func() error {
			if err := p.k.removeNamespace(ns); err != nil {
				return err
			}
			p.st.Namespaces = deleteString(p.st.Namespaces, ns)
			return p.st.save(p.o)
		}, nil)
	}
	return &Plan{Steps: p.steps}
}

func deleteString(ss []string, s string) []string {
	out := ss[:0]
	for _, x := range ss {
		if x != s {
			out = append(out, x)
		}
	}
	return out
}

func (p *planner) planRouteDel(r Route) {
	if !p.k.nsExists(r.Namespace) {
		return
	}
	h, err := p.k.handle(r.Namespace)
	if err != nil {
		return
	}
	dst := ipnet.FromPrefix(r.To)
	family := netlink.FAMILY_V4
	if r.To.Addr().Is6() {
		family = netlink.FAMILY_V6
	}
	rs, err := h.RouteListFiltered(family, &netlink.Route{Dst: dst}, netlink.RT_FILTER_DST)
	if err != nil {
		return
	}
	for _, have := range rs {
		if r.Via.IsValid() && !have.Gw.Equal(net.IP(r.Via.AsSlice())) {
			continue
		}
		rt := have
		p.add('-', fmt.Sprintf("route %s in %s", r.To, nsLabel(r.Namespace)), func() error { return h.RouteDel(&rt) }, nil)
		return
	}
}
