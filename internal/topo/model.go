// Package topo discovers the network topology of a host — namespaces,
// links, bridges and their ports, veth peers, taps and the processes
// holding them, Open vSwitch and libvirt — and renders it as text, JSON,
// GraphViz DOT, SVG or a self-contained HTML page.
//
// The JSON form of [Topology] is versioned ([SchemaVersion]) and
// documented in docs/topo-schema.md; it only ever gains fields.
package topo

import (
	"slices"
	"strings"
)

// SchemaVersion is the version of the JSON schema of [Topology]. It
// changes only when a field changes meaning or goes away; new fields keep
// the version.
const SchemaVersion = 1

// Link kinds, as the kernel names them (rtnetlink IFLA_INFO_KIND), plus
// "physical" for a device without a kind and "loopback".
const (
	KindPhysical = "physical"
	KindLoopback = "loopback"
	KindBridge   = "bridge"
	KindVeth     = "veth"
	KindTap      = "tap"
	KindTun      = "tun"
	KindOVS      = "openvswitch"
)

// Topology is one host's network as seen at one moment.
type Topology struct {
	// Schema is [SchemaVersion].
	Schema int `json:"schema"`
	// Host is the host's name (its hostname, or the target given to
	// `jumpgate topo TARGET`).
	Host string `json:"host"`
	// Kernel identifies the running kernel (its boot_id), so that hosts
	// that are namespaces of one machine (a lab, containers) can have
	// their veth pairs joined; "" when unknown.
	Kernel string `json:"kernel,omitempty"`
	// Source says how it was discovered: "netlink" (local) or "ssh"
	// (iproute2 JSON over an SSH exec channel).
	Source string `json:"source"`
	// Namespaces lists every network namespace found, the host's own
	// (Root) first.
	Namespaces []Namespace `json:"namespaces"`
	// OVS holds Open vSwitch bridges when ovs-vsctl exists.
	OVS []OVSBridge `json:"ovs,omitempty"`
	// Libvirt holds libvirt domains and networks when virsh exists.
	Libvirt *Libvirt `json:"libvirt,omitempty"`
	// Warnings are what discovery could not see (a namespace that vanished,
	// a command that failed), so that a partial picture says so.
	Warnings []string `json:"warnings,omitempty"`
}

// Namespace is one network namespace.
type Namespace struct {
	// ID identifies the namespace within the topology and is what
	// [PeerRef.Namespace] refers to: "" for the root namespace, the name
	// for a named one (/run/netns, `ip netns list`), "pid:N" for one only a
	// process holds (N its lowest PID).
	ID string `json:"id"`
	// Name is the name under /run/netns, if any.
	Name string `json:"name,omitempty"`
	// Host is the host of a fleet the namespace belongs to, set where
	// several hosts' namespaces are drawn as one (the page groups by it);
	// "" for one host's topology.
	Host string `json:"host,omitempty"`
	// Root marks the host's own namespace (that of PID 1, or the one the
	// remote shell runs in).
	Root bool `json:"root,omitempty"`
	// Inode is the namespace's inode number (nsfs), 0 when unknown.
	Inode uint64 `json:"inode,omitempty"`
	// PIDs are processes running in the namespace (at most a few, lowest
	// first), empty for a named namespace nothing runs in.
	PIDs []int `json:"pids,omitempty"`
	// Links are the namespace's network devices, sorted by name.
	Links []Link `json:"links"`
	// Bridges are the Linux bridges among Links, with their ports.
	Bridges []Bridge `json:"bridges,omitempty"`
	// FDB is the bridges' forwarding database: which MAC was seen on
	// which port.
	FDB []FDBEntry `json:"fdb,omitempty"`
	// Neighbours is the ARP/NDP table.
	Neighbours []Neighbour `json:"neighbours,omitempty"`

	// nsids maps this namespace's netnsids to namespace IDs, where
	// discovery knows them (`ip netns list-id`).
	nsids map[int]string
}

// Link is one network device.
type Link struct {
	Index int    `json:"index"`
	Name  string `json:"name"`
	// Kind is one of the Kind constants or another kernel kind (vlan,
	// macvlan, bond, dummy, vxlan, wireguard, …).
	Kind string `json:"kind"`
	MAC  string `json:"mac,omitempty"`
	MTU  int    `json:"mtu,omitempty"`
	// State is the operational state in lower case: up, down,
	// lowerlayerdown, dormant, unknown.
	State string `json:"state"`
	// AdminUp is the IFF_UP flag.
	AdminUp bool `json:"admin_up"`
	// Master is the bridge (or bond, or OVS system device) this link is
	// enslaved to, by name in the same namespace.
	Master string `json:"master,omitempty"`
	// Peer is the other end of a veth pair.
	Peer *PeerRef `json:"peer,omitempty"`
	// Tap describes a tun/tap device and who holds it open.
	Tap       *Tap      `json:"tap,omitempty"`
	Addresses []Address `json:"addresses,omitempty"`
	// VXLAN holds a vxlan device's VNI and remotes.
	VXLAN *VXLAN `json:"vxlan,omitempty"`

	// Raw discovery data that Finish turns into Bridges.
	portState          string
	stp, vlanFiltering bool
	// bytes are the received and sent byte counters when discovery read
	// them (remotely, `ip -s`); they reach the live page as [Counters],
	// never the model's JSON.
	bytes *[2]uint64
}

// PeerRef points at a link, possibly in another namespace.
type PeerRef struct {
	// Namespace is the [Namespace.ID] of the peer's namespace; it equals
	// the link's own namespace for a pair inside one namespace.
	Namespace string `json:"namespace"`
	// Name is the peer's name, "" when its namespace was not visible.
	Name  string `json:"name,omitempty"`
	Index int    `json:"index"`

	// nsid is the kernel's IFLA_LINK_NETNSID as discovered, -1 for the
	// link's own namespace; mac is the peer's MAC when discovery could
	// read it. Finish resolves them into Namespace and Name.
	nsid int
	mac  string
}

// VXLAN is a vxlan device's segment and where it sends.
type VXLAN struct {
	VNI int `json:"vni"`
	// Local is the source address, "" when the kernel picks it.
	Local string `json:"local,omitempty"`
	// Remotes are the unicast peers: the device's remote and the
	// destinations of its own forwarding entries (`bridge fdb append
	// 00:00:00:00:00:00 dev vx0 dst R`), sorted.
	Remotes []string `json:"remotes,omitempty"`
	// Port is the UDP destination port.
	Port int `json:"port,omitempty"`
}

// Tap is a tun or tap device's settings and holders.
type Tap struct {
	// Mode is "tap" (layer 2) or "tun" (layer 3).
	Mode       string `json:"mode"`
	MultiQueue bool   `json:"multi_queue,omitempty"`
	// Persistent devices outlive the process that made them.
	Persistent bool `json:"persistent,omitempty"`
	Owner      *int `json:"owner,omitempty"`
	Group      *int `json:"group,omitempty"`
	// Holders are the processes with the device open (QEMU for a VM).
	Holders []Process `json:"holders,omitempty"`
}

// Process is a running process.
type Process struct {
	PID  int    `json:"pid"`
	Comm string `json:"comm"`
}

// Address is an IP address on a link.
type Address struct {
	// CIDR is the address with its prefix length, "198.18.6.1/24".
	CIDR string `json:"cidr"`
	// Family is "inet" or "inet6".
	Family string `json:"family"`
	// Scope is global, link, host or site.
	Scope string `json:"scope,omitempty"`
}

// Bridge is a Linux bridge and its ports.
type Bridge struct {
	Name          string `json:"name"`
	STP           bool   `json:"stp,omitempty"`
	VLANFiltering bool   `json:"vlan_filtering,omitempty"`
	// Ports are the links enslaved to the bridge, sorted by name.
	Ports []Port `json:"ports"`
}

// Port is a bridge port and the stations observed behind it.
type Port struct {
	Name string `json:"name"`
	// Kind is the port link's kind (veth, tap, physical, …).
	Kind string `json:"kind"`
	// State is the port's STP state when known: forwarding, blocking,
	// learning, listening, disabled.
	State string `json:"state,omitempty"`
	// Stations are the MAC addresses the bridge learned on this port
	// (FDB, neither local nor permanent), each with the IP addresses the
	// namespace's neighbour table maps to that MAC. This is what `jumpgate
	// fw plan` binds a guest port to.
	Stations []Station `json:"stations,omitempty"`
}

// Station is a MAC address seen behind a bridge port and its IPs.
type Station struct {
	MAC  string   `json:"mac"`
	IPs  []string `json:"ips,omitempty"`
	VLAN int      `json:"vlan,omitempty"`
}

// FDBEntry is one entry of a bridge's forwarding database.
type FDBEntry struct {
	MAC string `json:"mac"`
	// Port is the link the MAC was seen on (or belongs to, when Local).
	Port   string `json:"port"`
	Bridge string `json:"bridge,omitempty"`
	VLAN   int    `json:"vlan,omitempty"`
	// Local entries are the bridge's own addresses (its ports' MACs);
	// Permanent ones were added by hand or are local.
	Local     bool `json:"local,omitempty"`
	Permanent bool `json:"permanent,omitempty"`
}

// Neighbour is one entry of the ARP (IPv4) or NDP (IPv6) table.
type Neighbour struct {
	IP  string `json:"ip"`
	MAC string `json:"mac,omitempty"`
	Dev string `json:"dev"`
	// State is the NUD state in lower case: reachable, stale, permanent,
	// delay, probe, failed, incomplete, noarp.
	State string `json:"state,omitempty"`
}

// OVSBridge is an Open vSwitch bridge (`ovs-vsctl show`).
type OVSBridge struct {
	Name  string    `json:"name"`
	Ports []OVSPort `json:"ports"`
}

// OVSPort is a port of an Open vSwitch bridge.
type OVSPort struct {
	Name string `json:"name"`
	// Type is the interface type: "" (system), internal, patch, vxlan, …
	Type string `json:"type,omitempty"`
	// Tag is the access VLAN, 0 for none.
	Tag int `json:"tag,omitempty"`
	// PeerPort is the other end of a patch port.
	PeerPort string `json:"peer_port,omitempty"`
}

// Libvirt is what virsh reports.
type Libvirt struct {
	Domains  []Domain  `json:"domains,omitempty"`
	Networks []Network `json:"networks,omitempty"`
}

// Domain is a libvirt domain (a VM).
type Domain struct {
	Name string `json:"name"`
	// State is virsh's state: running, shut off, paused, …
	State      string            `json:"state,omitempty"`
	Interfaces []DomainInterface `json:"interfaces,omitempty"`
}

// DomainInterface is one NIC of a domain (`virsh domiflist`).
type DomainInterface struct {
	// Target is the host-side device (vnet0, a tap).
	Target string `json:"target,omitempty"`
	// Type is network, bridge, direct, user, …
	Type string `json:"type,omitempty"`
	// Source is the libvirt network or the bridge.
	Source string `json:"source,omitempty"`
	Model  string `json:"model,omitempty"`
	MAC    string `json:"mac,omitempty"`
}

// Network is a libvirt network (`virsh net-list` and `net-info`).
type Network struct {
	Name      string `json:"name"`
	Active    bool   `json:"active"`
	Autostart bool   `json:"autostart,omitempty"`
	Bridge    string `json:"bridge,omitempty"`
}

// Namespace returns the namespace with the given ID, or nil.
func (t *Topology) Namespace(id string) *Namespace {
	for i := range t.Namespaces {
		if t.Namespaces[i].ID == id {
			return &t.Namespaces[i]
		}
	}
	return nil
}

// Link returns the namespace's link named name, or nil.
func (n *Namespace) Link(name string) *Link {
	for i := range n.Links {
		if n.Links[i].Name == name {
			return &n.Links[i]
		}
	}
	return nil
}

// LinkByIndex returns the namespace's link with the given ifindex, or nil.
func (n *Namespace) LinkByIndex(index int) *Link {
	for i := range n.Links {
		if n.Links[i].Index == index {
			return &n.Links[i]
		}
	}
	return nil
}

// Bridge returns the namespace's bridge named name, or nil.
func (n *Namespace) Bridge(name string) *Bridge {
	for i := range n.Bridges {
		if n.Bridges[i].Name == name {
			return &n.Bridges[i]
		}
	}
	return nil
}

// Peer returns the namespace and link at the other end of l's veth pair,
// or nils when l has no peer or the peer was not seen.
func (t *Topology) Peer(l *Link) (*Namespace, *Link) {
	if l.Peer == nil {
		return nil, nil
	}
	ns := t.Namespace(l.Peer.Namespace)
	if ns == nil {
		return nil, nil
	}
	if l.Peer.Name != "" {
		if p := ns.Link(l.Peer.Name); p != nil {
			return ns, p
		}
	}
	return ns, ns.LinkByIndex(l.Peer.Index)
}

// Finish derives what the raw discovery leaves implicit, so every source
// produces the same model: bridges from links with their ports, stations
// per port from the FDB and neighbour table, veth peer names from indexes,
// and a stable order. Discoverers call it last.
func (t *Topology) Finish() {
	t.Schema = SchemaVersion
	slices.SortStableFunc(t.Namespaces, func(a, b Namespace) int {
		if a.Root != b.Root {
			if a.Root {
				return -1
			}
			return 1
		}
		return strings.Compare(a.ID, b.ID)
	})
	for i := range t.Namespaces {
		ns := &t.Namespaces[i]
		slices.SortFunc(ns.Links, func(a, b Link) int { return strings.Compare(a.Name, b.Name) })
		ns.deriveBridges()
	}
	t.resolvePeers()
}

// deriveBridges fills Bridges from Links and each port's stations from FDB and Neighbours.
func (n *Namespace) deriveBridges() {
	n.Bridges = nil
	for _, l := range n.Links {
		if l.Kind == KindBridge {
			n.Bridges = append(n.Bridges, Bridge{Name: l.Name, STP: l.stp, VLANFiltering: l.vlanFiltering, Ports: []Port{}})
		}
	}
	ipsByMAC := map[string][]string{}
	for _, nb := range n.Neighbours {
		if nb.MAC != "" && nb.State != "failed" && nb.State != "incomplete" {
			m := strings.ToLower(nb.MAC)
			if !slices.Contains(ipsByMAC[m], nb.IP) {
				ipsByMAC[m] = append(ipsByMAC[m], nb.IP)
			}
		}
	}
	for i := range n.Bridges {
		b := &n.Bridges[i]
		for _, l := range n.Links {
			if l.Master != b.Name {
				continue
			}
			p := Port{Name: l.Name, Kind: l.Kind, State: l.portState}
			for _, f := range n.FDB {
				if f.Port != l.Name || f.Local || f.Permanent || (f.Bridge != "" && f.Bridge != b.Name) {
					continue
				}
				mac := strings.ToLower(f.MAC)
				if slices.ContainsFunc(p.Stations, func(s Station) bool { return s.MAC == mac && s.VLAN == f.VLAN }) {
					continue
				}
				ips := slices.Clone(ipsByMAC[mac])
				slices.Sort(ips)
				p.Stations = append(p.Stations, Station{MAC: mac, IPs: ips, VLAN: f.VLAN})
			}
			slices.SortFunc(p.Stations, func(a, b Station) int { return strings.Compare(a.MAC, b.MAC) })
			b.Ports = append(b.Ports, p)
		}
	}
	slices.SortFunc(n.FDB, func(a, b FDBEntry) int {
		return strings.Compare(a.Bridge+"\x00"+a.Port+"\x00"+a.MAC, b.Bridge+"\x00"+b.Port+"\x00"+b.MAC)
	})
	slices.SortFunc(n.Neighbours, func(a, b Neighbour) int {
		return strings.Compare(a.Dev+"\x00"+a.IP, b.Dev+"\x00"+b.IP)
	})
}
