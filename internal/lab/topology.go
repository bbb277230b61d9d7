package lab

// Building the canonical topology: one named network namespace per host,
// veth pairs created straight into the namespaces they join (so the root
// namespace never sees a lab link), bridges inside the hypervisors.

import (
	"fmt"
	"net"
	"path/filepath"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// netnsDir is where named network namespaces are bind-mounted, as by
// `ip netns add`, so that `ip netns exec` reaches lab hosts too.
const netnsDir = "/run/netns"

// hostSpec is one host of the canonical topology.
type hostSpec struct {
	name string
	// addr is where the host is reached from its neighbour towards the laptop.
	addr string
	// server is whether the host runs an SSH server.
	server bool
}

// topology lists the hosts, laptop first.
func topology() []hostSpec {
	return []hostSpec{
		{"laptop", "198.18.1.1", false},
		{"hyper1", "198.18.1.2", true},
		{"hyper2", "198.18.2.2", true},
		{"vm1", "198.18.6.11", true},
		{"vm2", "198.18.6.12", true},
		{"lan1", "198.18.3.11", true},
	}
}

// cable is a veth pair between two hosts; an end with a bridge is enslaved
// to it, an end with an address gets it.
type cable struct {
	a, aIf, aAddr, aBridge string
	b, bIf, bAddr, bBridge string
}

// bridgeSpec is a Linux bridge inside a host.
type bridgeSpec struct {
	host, name, addr string
}

func bridges() []bridgeSpec {
	return []bridgeSpec{
		{"hyper1", "wire", ""}, // layer 2 only: hyper1 has no address on it
		{"hyper2", "virbr6", "198.18.6.1/24"},
	}
}

func cables() []cable {
	return []cable{
		{a: "laptop", aIf: "eth0", aAddr: "198.18.1.1/24", b: "hyper1", bIf: "eth0", bAddr: "198.18.1.2/24"},
		{a: "hyper1", aIf: "eth1", aAddr: "198.18.2.1/24", b: "hyper2", bIf: "eth0", bAddr: "198.18.2.2/24"},
		{a: "hyper1", aIf: "vnet0", aBridge: "wire", b: "lan1", bIf: "eth0", bAddr: "198.18.3.11/24"},
		{a: "hyper2", aIf: "vnet0", aBridge: "virbr6", b: "vm1", bIf: "eth0", bAddr: "198.18.6.11/24"},
		{a: "hyper2", aIf: "vnet1", aBridge: "virbr6", b: "vm2", bIf: "eth0", bAddr: "198.18.6.12/24"},
	}
}

func netnsName(lab, host string) string { return lab + "-" + host }

// createNamespaces makes a named network namespace per host, recording
// each in the manifest as soon as it exists.
func (l *Lab) createNamespaces() error {
	if err := ensureNetnsDir(); err != nil {
		return err
	}
	for _, h := range topology() {
		name := netnsName(l.m.Name, h.name)
		if err := newNamedNetns(name); err != nil {
			return fmt.Errorf("create namespace %s: %w", name, err)
		}
		l.m.Hosts = append(l.m.Hosts, hostRecord{
			Name: h.name, Addr: h.addr, Netns: name, NetnsPath: filepath.Join(netnsDir, name),
		})
		if err := l.save(); err != nil {
			return err
		}
	}
	return nil
}

// handles opens a netlink handle in every host's namespace.
func (l *Lab) handles() (map[string]*netlink.Handle, map[string]netns.NsHandle, func(), error) {
	hs := map[string]*netlink.Handle{}
	nss := map[string]netns.NsHandle{}
	closeAll := func() {
		for _, h := range hs {
			h.Close()
		}
		for _, ns := range nss {
			ns.Close()
		}
	}
	for _, h := range l.m.Hosts {
		ns, err := netns.GetFromPath(h.NetnsPath)
		if err != nil {
			closeAll()
			return nil, nil, nil, fmt.Errorf("open namespace %s: %w", h.Netns, err)
		}
		nss[h.Name] = ns
		nh, err := netlink.NewHandleAt(ns)
		if err != nil {
			closeAll()
			return nil, nil, nil, fmt.Errorf("netlink in namespace %s: %w", h.Netns, err)
		}
		hs[h.Name] = nh
	}
	return hs, nss, closeAll, nil
}

// wire brings up lo everywhere, then the bridges and cables.
func (l *Lab) wire() error {
	hs, nss, closeAll, err := l.handles()
	if err != nil {
		return err
	}
	defer closeAll()
	for name, h := range hs {
		lo, err := h.LinkByName("lo")
		if err == nil {
			err = h.LinkSetUp(lo)
		}
		if err != nil {
			return fmt.Errorf("bring up lo in %s: %w", name, err)
		}
	}
	for _, b := range bridges() {
		h := hs[b.host]
		la := netlink.NewLinkAttrs()
		la.Name = b.name
		if err := h.LinkAdd(&netlink.Bridge{LinkAttrs: la}); err != nil {
			return fmt.Errorf("add bridge %s in %s: %w", b.name, b.host, err)
		}
		if err := setUp(h, b.name, b.addr, ""); err != nil {
			return fmt.Errorf("bridge %s in %s: %w", b.name, b.host, err)
		}
	}
	for _, c := range cables() {
		la := netlink.NewLinkAttrs()
		la.Name = c.aIf
		v := &netlink.Veth{LinkAttrs: la, PeerName: c.bIf, PeerNamespace: netlink.NsFd(int(nss[c.b]))}
		if err := hs[c.a].LinkAdd(v); err != nil {
			return fmt.Errorf("add veth %s/%s–%s/%s: %w", c.a, c.aIf, c.b, c.bIf, err)
		}
		if err := setUp(hs[c.a], c.aIf, c.aAddr, c.aBridge); err != nil {
			return fmt.Errorf("%s/%s: %w", c.a, c.aIf, err)
		}
		if err := setUp(hs[c.b], c.bIf, c.bAddr, c.bBridge); err != nil {
			return fmt.Errorf("%s/%s: %w", c.b, c.bIf, err)
		}
	}
	return nil
}

// setUp gives link an address or a master bridge and brings it up.
func setUp(h *netlink.Handle, name, cidr, master string) error {
	link, err := h.LinkByName(name)
	if err != nil {
		return err
	}
	if cidr != "" {
		ip, ipnet, err := net.ParseCIDR(cidr)
		if err != nil {
			return err
		}
		ipnet.IP = ip
		if err := h.AddrAdd(link, &netlink.Addr{IPNet: ipnet}); err != nil {
			return fmt.Errorf("add address %s: %w", cidr, err)
		}
	}
	if master != "" {
		br, err := h.LinkByName(master)
		if err != nil {
			return err
		}
		if err := h.LinkSetMaster(link, br); err != nil {
			return fmt.Errorf("attach to %s: %w", master, err)
		}
	}
	if err := h.LinkSetUp(link); err != nil {
		return fmt.Errorf("set up: %w", err)
	}
	return nil
}
