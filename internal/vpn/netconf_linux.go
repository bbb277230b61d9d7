package vpn

// Setup: open the device, then MTU, addresses, bridge, ports, link up,
// routes and NAT in that order; each step that changes something pushes
// its undo, and Close (or a failed step) runs them newest first.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/jumpgate/jumpgate/internal/ipnet"
)

// Endpoint is a configured local end of a tunnel.
type Endpoint struct {
	Device
	cfg  Config
	undo []func() error
	// What would outlive this process if it were killed: the device goes
	// with its descriptor, a bridge made for it and ports added do not.
	madeBridge string
	addedPorts []string
}

// Leftovers are what [Endpoint.Close] would undo that does not go away by
// itself when the process dies (kill -9): the bridge Setup created ("" if
// none) and the ports it added to a bridge. [RemoveLeftovers] undoes them.
func (e *Endpoint) Leftovers() (bridge string, ports []string) {
	return e.madeBridge, e.addedPorts
}

// RemoveLeftovers takes ports out of bridge and, if removeBridge, removes
// the bridge, for the watcher of a process that was killed before its
// [Endpoint.Close]. What is already gone is no error.
func RemoveLeftovers(bridge string, removeBridge bool, ports []string) error {
	var errs []error
	for _, name := range ports {
		if l, err := netlink.LinkByName(name); err == nil && l.Attrs().MasterIndex != 0 {
			if br, err := netlink.LinkByIndex(l.Attrs().MasterIndex); err == nil && br.Attrs().Name == bridge {
				errs = append(errs, netlink.LinkSetNoMaster(l))
			}
		}
	}
	if removeBridge {
		if l, err := netlink.LinkByName(bridge); err == nil && l.Type() == "bridge" {
			if err := netlink.LinkDel(l); err != nil {
				errs = append(errs, fmt.Errorf("remove bridge %s: %w", bridge, err))
			}
		}
	}
	return errors.Join(errs...)
}

// Config returns the configuration the endpoint was made with.
func (e *Endpoint) Config() Config { return e.cfg }

// Setup creates and configures the local end described by cfg. On error
// nothing it made is left behind.
func Setup(ctx context.Context, cfg Config) (*Endpoint, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Name == "" {
		cfg.Name = map[Mode]string{L3: "jgtun%d", L2: "jgtap%d"}[cfg.Mode]
	}
	dev, err := Open(cfg.Mode, cfg.Name, cfg.Offload)
	if err != nil {
		return nil, err
	}
	e := &Endpoint{Device: dev, cfg: cfg}
	if err := e.configure(ctx); err != nil {
		return nil, errors.Join(err, e.Close())
	}
	return e, nil
}

// Close removes what Setup made, newest first, and closes the device
// (which takes its addresses and routes with it).
func (e *Endpoint) Close() error {
	var errs []error
	for i := len(e.undo) - 1; i >= 0; i-- {
		errs = append(errs, e.undo[i]())
	}
	e.undo = nil
	if e.Device != nil {
		errs = append(errs, e.Device.Close())
	}
	return errors.Join(errs...)
}

func (e *Endpoint) configure(ctx context.Context) error {
	cfg := &e.cfg
	link, err := netlink.LinkByName(e.Name())
	if err != nil {
		return fmt.Errorf("find %s: %w", e.Name(), err)
	}
	if err := netlink.LinkSetMTU(link, cfg.MTU); err != nil {
		return fmt.Errorf("set MTU %d on %s: %w", cfg.MTU, e.Name(), err)
	}
	if cfg.GSOMaxSize > 0 {
		// Not fatal: see Config.GSOMaxSize (older kernels refuse it).
		netlink.LinkSetGSOMaxSize(link, cfg.GSOMaxSize)
	}
	addrLink := link
	if cfg.Mode == L2 && cfg.Bridge != "" {
		br, err := e.bridge()
		if err != nil {
			return err
		}
		if err := netlink.LinkSetMaster(link, br); err != nil {
			return fmt.Errorf("add %s to bridge %s: %w", e.Name(), cfg.Bridge, err)
		}
		for _, p := range cfg.Ports {
			if err := e.addPort(p, br); err != nil {
				return err
			}
		}
		addrLink = br
	}
	for _, p := range cfg.Addrs {
		a := &netlink.Addr{IPNet: ipnet.FromPrefix(p)}
		if p.Addr().Is6() {
			// Given, not made up: no second of duplicate detection
			// before the tunnel carries IPv6.
			a.Flags = unix.IFA_F_NODAD
		}
		if err := netlink.AddrAdd(addrLink, a); err != nil {
			return fmt.Errorf("add address %s to %s: %w", p, addrLink.Attrs().Name, err)
		}
		if addrLink != link {
			name := addrLink.Attrs().Name
			e.undo = append(e.undo, func() error {
				if l, err := netlink.LinkByName(name); err == nil {
					netlink.AddrDel(l, a)
				}
				return nil
			})
		}
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return fmt.Errorf("set %s up: %w", e.Name(), err)
	}
	for _, r := range cfg.Routes {
		rt := &netlink.Route{LinkIndex: link.Attrs().Index, Dst: ipnet.FromPrefix(r.Masked())}
		if err := netlink.RouteAdd(rt); err != nil {
			return fmt.Errorf("add route %s via %s: %w", r, e.Name(), err)
		}
	}
	if cfg.NAT {
		if err := e.nat(ctx); err != nil {
			return err
		}
	}
	return nil
}

// bridge finds or makes the bridge of an L2 tunnel.
func (e *Endpoint) bridge() (netlink.Link, error) {
	name := e.cfg.Bridge
	br, err := netlink.LinkByName(name)
	if err == nil {
		if br.Type() != "bridge" {
			return nil, fmt.Errorf("%s is a %s, not a bridge", name, br.Type())
		}
		return br, nil
	}
	var nf netlink.LinkNotFoundError
	if !errors.As(err, &nf) {
		return nil, fmt.Errorf("find bridge %s: %w", name, err)
	}
	if !e.cfg.CreateBridge {
		return nil, fmt.Errorf("bridge %s does not exist", name)
	}
	nb := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: name, MTU: e.cfg.MTU}}
	if err := netlink.LinkAdd(nb); err != nil {
		return nil, fmt.Errorf("create bridge %s: %w", name, err)
	}
	e.madeBridge = name
	e.undo = append(e.undo, func() error {
		if l, err := netlink.LinkByName(name); err == nil {
			if err := netlink.LinkDel(l); err != nil {
				return fmt.Errorf("remove bridge %s: %w", name, err)
			}
		}
		return nil
	})
	if br, err = netlink.LinkByName(name); err != nil {
		return nil, fmt.Errorf("find bridge %s: %w", name, err)
	}
	if err := netlink.LinkSetUp(br); err != nil {
		return nil, fmt.Errorf("set bridge %s up: %w", name, err)
	}
	return br, nil
}

func (e *Endpoint) addPort(name string, br netlink.Link) error {
	l, err := netlink.LinkByName(name)
	if err != nil {
		return fmt.Errorf("find port %s: %w", name, err)
	}
	if l.Attrs().MasterIndex == br.Attrs().Index {
		return nil
	}
	if l.Attrs().MasterIndex != 0 {
		return fmt.Errorf("port %s already belongs to another bridge", name)
	}
	if err := netlink.LinkSetMaster(l, br); err != nil {
		return fmt.Errorf("add %s to bridge %s: %w", name, br.Attrs().Name, err)
	}
	e.addedPorts = append(e.addedPorts, name)
	e.undo = append(e.undo, func() error {
		if l, err := netlink.LinkByName(name); err == nil {
			netlink.LinkSetNoMaster(l)
		}
		return nil
	})
	if err := netlink.LinkSetUp(l); err != nil {
		return fmt.Errorf("set port %s up: %w", name, err)
	}
	return nil
}

// nat turns forwarding on (restoring it on exit) and loads the NAT table.
func (e *Endpoint) nat(ctx context.Context) error {
	const fwd = "/proc/sys/net/ipv4/ip_forward"
	old, err := os.ReadFile(fwd)
	if err != nil {
		return fmt.Errorf("read %s: %w", fwd, err)
	}
	if strings.TrimSpace(string(old)) != "1" {
		if err := os.WriteFile(fwd, []byte("1\n"), 0o644); err != nil {
			return fmt.Errorf("enable IPv4 forwarding: %w", err)
		}
		e.undo = append(e.undo, func() error { return os.WriteFile(fwd, old, 0o644) })
	}
	if err := nft(ctx, NATRuleset(e.Name())); err != nil {
		return fmt.Errorf("load NAT rules: %w", err)
	}
	table := natTable(e.Name())
	e.undo = append(e.undo, func() error {
		if err := nft(context.Background(), "delete table ip "+table+"\n"); err != nil {
			return fmt.Errorf("remove NAT rules: %w", err)
		}
		return nil
	})
	return nil
}

func nft(ctx context.Context, script string) error {
	cmd := exec.CommandContext(ctx, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(script)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("nft: %w: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

// LinkMTU is the MTU of the interface that holds addr, 0 if none does.
func LinkMTU(addr netip.Addr) int {
	addrs, err := netlink.AddrList(nil, netlink.FAMILY_ALL)
	if err != nil {
		return 0
	}
	for _, a := range addrs {
		if ip, ok := netip.AddrFromSlice(a.IP); ok && ip.Unmap() == addr.Unmap() {
			if l, err := netlink.LinkByIndex(a.LinkIndex); err == nil {
				return l.Attrs().MTU
			}
		}
	}
	return 0
}

// UsedPrefixes lists the local addresses' networks and the routes of every
// table, so [PickPair] can avoid them.
func UsedPrefixes() ([]netip.Prefix, error) {
	var out []netip.Prefix
	addrs, err := netlink.AddrList(nil, netlink.FAMILY_V4)
	if err != nil {
		return nil, fmt.Errorf("list addresses: %w", err)
	}
	for _, a := range addrs {
		if p, ok := netipPrefix(a.IPNet); ok {
			out = append(out, p.Masked())
		}
	}
	routes, err := netlink.RouteList(nil, netlink.FAMILY_V4)
	if err != nil {
		return nil, fmt.Errorf("list routes: %w", err)
	}
	for _, r := range routes {
		if p, ok := netipPrefix(r.Dst); ok && p.Bits() > 0 {
			out = append(out, p.Masked())
		}
	}
	return out, nil
}

func netipPrefix(n *net.IPNet) (netip.Prefix, bool) {
	if n == nil {
		return netip.Prefix{}, false
	}
	ip, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	bits, _ := n.Mask.Size()
	return netip.PrefixFrom(ip.Unmap(), bits), true
}
