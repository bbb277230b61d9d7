package topo

// Local discovery through netlink:
//
//	namespaces (/run/netns + /proc/*/ns/net, deduplicated by inode)
//	  → per namespace, in parallel: links, addresses, neighbours, FDB, and
//	    for each veth whose peer is elsewhere the peer's MAC (RTM_GETLINK
//	    with IFLA_TARGET_NETNSID), so that Finish can match the pair
//	  → tap holders from /proc/*/fd → /dev/net/tun and their fdinfo "iff:"
//	  → Finish (bridges, stations, peers, order)

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/jumpgate/jumpgate/internal/nsexec"
)

// nsRef is a namespace found on the host and how to open it.
type nsRef struct {
	inode uint64
	name  string // under /run/netns
	path  string // a path that opens it
	pids  []int
	root  bool
	// self marks the process's own namespace, opened through a locked
	// thread rather than a path: /proc/self/ns/net is the main thread's,
	// and the main thread may be inside another namespace for a moment
	// (netlink sockets are made that way), so reading it races.
	self bool
}

// open opens the namespace and checks it is the one found: a path under
// /proc/PID can come to name another namespace (a thread switching, a
// process ending and its PID reused).
func (r *nsRef) open() (netns.NsHandle, error) {
	var fd netns.NsHandle
	var err error
	if r.self {
		fd, err = nsexec.Self()
	} else {
		fd, err = netns.GetFromPath(r.path)
	}
	if err != nil {
		return netns.None(), err
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(fd), &st); err != nil {
		fd.Close()
		return netns.None(), err
	}
	if st.Ino != r.inode {
		fd.Close()
		return netns.None(), fmt.Errorf("%s now opens namespace inode %d, not %d: it changed while being read", r.path, st.Ino, r.inode)
	}
	return fd, nil
}

// selfInode is the inode of the process's own network namespace, read
// through a locked thread (see nsRef.self).
func selfInode() (uint64, error) {
	fd, err := nsexec.Self()
	if err != nil {
		return 0, err
	}
	defer fd.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(fd), &st); err != nil {
		return 0, err
	}
	return st.Ino, nil
}

// maxPIDs is how many of a namespace's processes the model lists.
const maxPIDs = 4

// findNamespaces lists the host's network namespaces: named ones first,
// then those only processes hold, deduplicated by inode.
func findNamespaces(netnsDir, procDir string) ([]*nsRef, error) {
	byInode := map[uint64]*nsRef{}
	var order []*nsRef
	add := func(ino uint64, r *nsRef) *nsRef {
		if have, ok := byInode[ino]; ok {
			return have
		}
		byInode[ino] = r
		order = append(order, r)
		return r
	}
	// The host's namespace is PID 1's; inside a container (or when PID 1
	// belongs to another user namespace) it is our own.
	rootPath := filepath.Join(procDir, "1/ns/net")
	root := &nsRef{path: rootPath, root: true}
	if s, err := os.Readlink(rootPath); err == nil {
		ino, ok := parseNSLink(s)
		if !ok {
			return nil, fmt.Errorf("find network namespaces: %s links to %q", rootPath, s)
		}
		root.inode = ino
	} else {
		ino, err := selfInode()
		if err != nil {
			return nil, fmt.Errorf("find network namespaces: %w", err)
		}
		root.inode, root.path, root.self = ino, "our own namespace", true
	}
	add(root.inode, root)
	ents, err := os.ReadDir(netnsDir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("find network namespaces: %w", err)
	}
	for _, e := range ents {
		p := filepath.Join(netnsDir, e.Name())
		fi, err := os.Stat(p)
		if err != nil {
			continue
		}
		var sfs unix.Statfs_t
		if unix.Statfs(p, &sfs) != nil || sfs.Type != unix.NSFS_MAGIC {
			continue // not mounted: a leftover of a failed `ip netns add`
		}
		ino := fi.Sys().(*syscall.Stat_t).Ino
		r := add(ino, &nsRef{inode: ino, name: e.Name(), path: p})
		if r.name == "" || e.Name() < r.name && !r.root {
			r.name = e.Name()
		}
	}
	procs, err := os.ReadDir(procDir)
	if err != nil {
		return nil, fmt.Errorf("find network namespaces: %w", err)
	}
	pids := make([]int, 0, len(procs))
	for _, e := range procs {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			pids = append(pids, pid)
		}
	}
	slices.Sort(pids)
	me := os.Getpid()
	for _, pid := range pids {
		p := filepath.Join(procDir, strconv.Itoa(pid), "ns/net")
		var ino uint64
		self := pid == me && procDir == "/proc"
		if self {
			// Our own main thread may be inside another namespace for a
			// moment; our namespace is the one an unlocked thread is in.
			var err error
			if ino, err = selfInode(); err != nil {
				continue
			}
		} else {
			s, err := os.Readlink(p)
			if err != nil {
				continue // gone, or a kernel thread
			}
			var ok bool
			if ino, ok = parseNSLink(s); !ok {
				continue
			}
		}
		r := add(ino, &nsRef{inode: ino, path: p, self: self})
		if len(r.pids) < maxPIDs {
			r.pids = append(r.pids, pid)
		}
	}
	return order, nil
}

// parseNSLink parses a /proc/PID/ns/net link, "net:[4026531840]".
func parseNSLink(s string) (uint64, bool) {
	s, ok := strings.CutPrefix(s, "net:[")
	if !ok {
		return 0, false
	}
	s, ok = strings.CutSuffix(s, "]")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil
}

// Discover reads the local host's topology through netlink.
func Discover(ctx context.Context, opts Options) (*Topology, error) {
	if opts.NetnsDir == "" {
		opts.NetnsDir = "/run/netns"
	}
	if opts.ProcDir == "" {
		opts.ProcDir = "/proc"
	}
	if opts.Hostname == "" {
		opts.Hostname, _ = os.Hostname()
	}
	if opts.Parallel <= 0 {
		opts.Parallel = 4 * runtime.GOMAXPROCS(0)
	}
	refs, err := findNamespaces(opts.NetnsDir, opts.ProcDir)
	if err != nil {
		return nil, err
	}
	if opts.Filter != nil {
		refs = slices.DeleteFunc(refs, func(r *nsRef) bool { return !r.root && !opts.Filter(r.name) })
	}
	t := &Topology{Host: opts.Hostname, Source: "netlink", Namespaces: make([]Namespace, len(refs))}
	if b, err := os.ReadFile(filepath.Join(opts.ProcDir, "sys/kernel/random/boot_id")); err == nil {
		t.Kernel = strings.TrimSpace(string(b))
	}
	errs := make([]error, len(refs))
	sem := make(chan struct{}, opts.Parallel)
	var wg sync.WaitGroup
	for i, r := range refs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			ns, err := readNamespace(r)
			t.Namespaces[i], errs[i] = ns, err
		}()
	}
	wg.Wait()
	var keep []Namespace
	for i, ns := range t.Namespaces {
		if errs[i] != nil {
			t.Warnings = append(t.Warnings, errs[i].Error())
			continue
		}
		keep = append(keep, ns)
	}
	t.Namespaces = keep
	if err := attachTapHolders(t, opts.ProcDir); err != nil {
		t.Warnings = append(t.Warnings, err.Error())
	}
	if opts.Run != nil {
		discoverExtras(ctx, t, opts.Run)
	}
	t.Finish()
	return t, ctx.Err()
}

// nsID is the model's ID for a namespace.
func (r *nsRef) nsID() string {
	switch {
	case r.root:
		return ""
	case r.name != "":
		return r.name
	case len(r.pids) > 0:
		return "pid:" + strconv.Itoa(r.pids[0])
	}
	return "inode:" + strconv.FormatUint(r.inode, 10)
}

// readNamespace reads one namespace's links, addresses, neighbours and FDB.
func readNamespace(r *nsRef) (Namespace, error) {
	ns := Namespace{ID: r.nsID(), Name: r.name, Root: r.root, Inode: r.inode, PIDs: r.pids}
	fd, err := r.open()
	if err != nil {
		return ns, fmt.Errorf("open namespace %s: %w", r.describe(), err)
	}
	defer fd.Close()
	sock, err := nl.GetNetlinkSocketAt(fd, netns.None(), unix.NETLINK_ROUTE)
	if err != nil {
		return ns, fmt.Errorf("netlink socket in namespace %s: %w", r.describe(), err)
	}
	h, err := netlink.NewHandleAt(fd, unix.NETLINK_ROUTE)
	if err != nil {
		sock.Close()
		return ns, fmt.Errorf("netlink handle in namespace %s: %w", r.describe(), err)
	}
	defer h.Close()
	defer sock.Close()

	links, err := h.LinkList()
	if err != nil {
		return ns, fmt.Errorf("list links in namespace %s: %w", r.describe(), err)
	}
	names := map[int]string{}
	for _, l := range links {
		names[l.Attrs().Index] = l.Attrs().Name
	}
	addrs, err := h.AddrList(nil, netlink.FAMILY_ALL)
	if err != nil {
		return ns, fmt.Errorf("list addresses in namespace %s: %w", r.describe(), err)
	}
	byLink := map[int][]Address{}
	for _, a := range addrs {
		fam := "inet"
		if a.IP.To4() == nil {
			fam = "inet6"
		}
		byLink[a.LinkIndex] = append(byLink[a.LinkIndex], Address{CIDR: a.IPNet.String(), Family: fam, Scope: scopeName(a.Scope)})
	}
	for _, l := range links {
		ml := modelLink(l, names)
		ml.Addresses = byLink[ml.Index]
		if ml.Peer != nil && ml.Peer.nsid >= 0 {
			ml.Peer.mac = peerMAC(sock, ml.Peer.Index, ml.Peer.nsid)
		}
		ns.Links = append(ns.Links, ml)
	}
	for _, fam := range []int{unix.AF_INET, unix.AF_INET6} {
		neighs, err := h.NeighList(0, fam)
		if err != nil {
			return ns, fmt.Errorf("list neighbours in namespace %s: %w", r.describe(), err)
		}
		for _, n := range neighs {
			if n.IP == nil || n.State&(netlink.NUD_NOARP) != 0 && n.HardwareAddr == nil {
				continue
			}
			ns.Neighbours = append(ns.Neighbours, Neighbour{IP: n.IP.String(), MAC: macString(n.HardwareAddr), Dev: names[n.LinkIndex], State: nudName(n.State)})
		}
	}
	fdb, err := h.NeighList(0, unix.AF_BRIDGE)
	if err != nil {
		return ns, fmt.Errorf("list bridge fdb in namespace %s: %w", r.describe(), err)
	}
	remotes := map[string][]string{}
	for _, n := range fdb {
		if n.MasterIndex == 0 && n.Flags&netlink.NTF_MASTER == 0 {
			if n.IP != nil && !n.IP.IsUnspecified() {
				remotes[names[n.LinkIndex]] = append(remotes[names[n.LinkIndex]], n.IP.String())
			}
			continue // the device's own filter, not a bridge's table
		}
		master := names[n.MasterIndex]
		if master == "" {
			continue
		}
		ns.FDB = append(ns.FDB, FDBEntry{
			MAC:       macString(n.HardwareAddr),
			Port:      names[n.LinkIndex],
			Bridge:    master,
			VLAN:      n.Vlan,
			Local:     n.State&netlink.NUD_PERMANENT != 0,
			Permanent: n.State&(netlink.NUD_PERMANENT|netlink.NUD_NOARP) != 0,
		})
	}
	ns.addVXLANRemotes(remotes)
	return ns, nil
}

func (r *nsRef) describe() string {
	if id := r.nsID(); id != "" {
		return id
	}
	return "root"
}

// modelLink converts a netlink link.
func modelLink(l netlink.Link, names map[int]string) Link {
	a := l.Attrs()
	ml := Link{
		Index:   a.Index,
		Name:    a.Name,
		Kind:    l.Type(),
		MAC:     macString(a.HardwareAddr),
		MTU:     a.MTU,
		State:   operState(a.OperState),
		AdminUp: a.Flags&net.FlagUp != 0,
		Master:  names[a.MasterIndex],
	}
	switch {
	case a.Flags&net.FlagLoopback != 0:
		ml.Kind, ml.MAC = KindLoopback, ""
	case ml.Kind == "device":
		ml.Kind = KindPhysical
	}
	switch v := l.(type) {
	case *netlink.Veth:
		if a.ParentIndex > 0 {
			ml.Peer = &PeerRef{Index: a.ParentIndex, nsid: -1}
			if a.NetNsID >= 0 {
				ml.Peer.nsid = a.NetNsID
			}
		}
	case *netlink.Bridge:
		if v.VlanFiltering != nil {
			ml.vlanFiltering = *v.VlanFiltering
		}
	case *netlink.Vxlan:
		ml.VXLAN = &VXLAN{VNI: v.VxlanId, Port: v.Port}
		if v.SrcAddr != nil && !v.SrcAddr.IsUnspecified() {
			ml.VXLAN.Local = v.SrcAddr.String()
		}
		if v.Group != nil && !v.Group.IsUnspecified() && !v.Group.IsMulticast() {
			ml.VXLAN.Remotes = []string{v.Group.String()}
		}
	case *netlink.Tuntap:
		mode := KindTun
		if v.Mode == netlink.TUNTAP_MODE_TAP {
			mode = KindTap
		}
		ml.Kind = mode
		ml.Tap = &Tap{Mode: mode, MultiQueue: v.Flags&netlink.TUNTAP_MULTI_QUEUE != 0, Persistent: !v.NonPersist}
		if v.Owner != ^uint32(0) {
			o := int(v.Owner)
			ml.Tap.Owner = &o
		}
		if v.Group != ^uint32(0) {
			g := int(v.Group)
			ml.Tap.Group = &g
		}
	}
	return ml
}

// peerMAC asks the namespace sock lives in for the MAC of link index in
// the namespace its netnsid nsid stands for (RTM_GETLINK with
// IFLA_TARGET_NETNSID, Linux 4.20+). It returns "" when it cannot.
func peerMAC(sock *nl.NetlinkSocket, index, nsid int) string {
	req := nl.NewNetlinkRequest(unix.RTM_GETLINK, 0)
	msg := nl.NewIfInfomsg(unix.AF_UNSPEC)
	msg.Index = int32(index)
	req.AddData(msg)
	req.AddData(nl.NewRtAttr(unix.IFLA_TARGET_NETNSID, nl.Uint32Attr(uint32(nsid))))
	req.Sockets = map[int]*nl.SocketHandle{unix.NETLINK_ROUTE: {Socket: sock}}
	msgs, err := req.Execute(unix.NETLINK_ROUTE, unix.RTM_NEWLINK)
	if err != nil || len(msgs) == 0 {
		return ""
	}
	l, err := netlink.LinkDeserialize(nil, msgs[0])
	if err != nil {
		return ""
	}
	return macString(l.Attrs().HardwareAddr)
}

func macString(m net.HardwareAddr) string {
	if len(m) == 0 {
		return ""
	}
	return strings.ToLower(m.String())
}

func operState(s netlink.LinkOperState) string {
	switch s {
	case netlink.OperUp:
		return "up"
	case netlink.OperDown:
		return "down"
	case netlink.OperLowerLayerDown:
		return "lowerlayerdown"
	case netlink.OperDormant:
		return "dormant"
	case netlink.OperNotPresent:
		return "notpresent"
	case netlink.OperTesting:
		return "testing"
	}
	return "unknown"
}

func scopeName(s int) string {
	switch netlink.Scope(s) {
	case netlink.SCOPE_UNIVERSE:
		return "global"
	case netlink.SCOPE_LINK:
		return "link"
	case netlink.SCOPE_HOST:
		return "host"
	case netlink.SCOPE_SITE:
		return "site"
	}
	return strconv.Itoa(s)
}

func nudName(s int) string {
	switch {
	case s&netlink.NUD_PERMANENT != 0:
		return "permanent"
	case s&netlink.NUD_NOARP != 0:
		return "noarp"
	case s&netlink.NUD_REACHABLE != 0:
		return "reachable"
	case s&netlink.NUD_STALE != 0:
		return "stale"
	case s&netlink.NUD_DELAY != 0:
		return "delay"
	case s&netlink.NUD_PROBE != 0:
		return "probe"
	case s&netlink.NUD_FAILED != 0:
		return "failed"
	case s&netlink.NUD_INCOMPLETE != 0:
		return "incomplete"
	}
	return "none"
}
