package netcfg

// The kernel side: named namespaces, netlink handles per namespace, and the
// few operations vishvananda/netlink lacks (bridge STP state, persistent
// taps with an owner, a netem probe).

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"unsafe"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/jumpgate/jumpgate/internal/nsexec"
)

// netnsDir is where named network namespaces live, as with `ip netns`.
const netnsDir = "/run/netns"

// kernel holds netlink handles into the namespaces one run touches.
type kernel struct {
	hostPath string // "" is the caller's namespace
	prefix   string
	handles  map[string]*netlink.Handle
	nsfds    map[string]netns.NsHandle
}

func newKernel(o Options) *kernel {
	return &kernel{hostPath: o.HostNetns, prefix: o.NetnsPrefix, handles: map[string]*netlink.Handle{}, nsfds: map[string]netns.NsHandle{}}
}

func (k *kernel) close() {
	for _, h := range k.handles {
		h.Close()
	}
	for _, fd := range k.nsfds {
		fd.Close()
	}
	k.handles = map[string]*netlink.Handle{}
	k.nsfds = map[string]netns.NsHandle{}
}

// realNS is the kernel name of a file's namespace.
func (k *kernel) realNS(ns string) string {
	if ns == "" {
		return ""
	}
	return k.prefix + ns
}

// nsPath is the path of a (file) namespace; "" for the caller's own.
func (k *kernel) nsPath(ns string) string {
	if ns == "" {
		return k.hostPath
	}
	return filepath.Join(netnsDir, k.realNS(ns))
}

func (k *kernel) nsExists(ns string) bool {
	p := k.nsPath(ns)
	if p == "" {
		return true
	}
	var st unix.Statfs_t
	if err := unix.Statfs(p, &st); err != nil {
		return false
	}
	return st.Type == unix.NSFS_MAGIC
}

// nsHandle opens a namespace; the caller's own is netns.None().
func (k *kernel) nsHandle(ns string) (netns.NsHandle, error) {
	if fd, ok := k.nsfds[ns]; ok {
		return fd, nil
	}
	p := k.nsPath(ns)
	if p == "" {
		return netns.None(), nil
	}
	fd, err := netns.GetFromPath(p)
	if err != nil {
		return netns.None(), fmt.Errorf("open namespace %s: %w", nsLabel(ns), err)
	}
	k.nsfds[ns] = fd
	return fd, nil
}

func (k *kernel) handle(ns string) (*netlink.Handle, error) {
	if h, ok := k.handles[ns]; ok {
		return h, nil
	}
	fd, err := k.nsHandle(ns)
	if err != nil {
		return nil, err
	}
	var h *netlink.Handle
	if fd.IsOpen() {
		h, err = netlink.NewHandleAt(fd)
	} else {
		h, err = netlink.NewHandle()
	}
	if err != nil {
		return nil, fmt.Errorf("netlink in namespace %s: %w", nsLabel(ns), err)
	}
	k.handles[ns] = h
	return h, nil
}

// forget drops cached handles of a namespace that went away.
func (k *kernel) forget(ns string) {
	if h, ok := k.handles[ns]; ok {
		h.Close()
		delete(k.handles, ns)
	}
	if fd, ok := k.nsfds[ns]; ok {
		fd.Close()
		delete(k.nsfds, ns)
	}
}

// inNS runs fn on a locked thread inside ns.
func (k *kernel) inNS(ns string, fn func() error) error {
	fd, err := k.nsHandle(ns)
	if err != nil {
		return err
	}
	if !fd.IsOpen() {
		return fn()
	}
	return nsexec.DoHandle(fd, fn)
}

// createNamespace makes /run/netns/NAME (as `ip netns add`) and brings lo up.
func (k *kernel) createNamespace(ns string) error {
	if err := os.MkdirAll(netnsDir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", netnsDir, err)
	}
	// A shared /run/netns lets the unmount on destroy reach copies of it
	// in other mount namespaces, as iproute2 arranges.
	err := unix.Mount("", netnsDir, "none", unix.MS_SHARED|unix.MS_REC, "")
	if errors.Is(err, unix.EINVAL) {
		if err := unix.Mount(netnsDir, netnsDir, "none", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("bind-mount %s: %w", netnsDir, err)
		}
		err = unix.Mount("", netnsDir, "none", unix.MS_SHARED|unix.MS_REC, "")
	}
	if err != nil {
		return fmt.Errorf("make %s shared: %w", netnsDir, err)
	}
	nh, err := nsexec.NewNamed(k.realNS(ns))
	if err != nil {
		return err
	}
	nh.Close()
	h, err := k.handle(ns)
	if err != nil {
		return err
	}
	lo, err := h.LinkByName("lo")
	if err == nil {
		err = h.LinkSetUp(lo)
	}
	if err != nil {
		return fmt.Errorf("bring up lo in %s: %w", k.realNS(ns), err)
	}
	return nil
}

// removeNamespace unmounts and removes /run/netns/NAME; links inside go
// with the namespace once nothing holds it.
func (k *kernel) removeNamespace(ns string) error {
	k.forget(ns)
	p := k.nsPath(ns)
	if err := unix.Unmount(p, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("unmount namespace %s: %w", k.realNS(ns), err)
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove namespace %s: %w", k.realNS(ns), err)
	}
	return nil
}

// IFLA_BR_STP_STATE is missing from vishvananda/netlink's bridge attributes.
const iflaBrSTPState = 5

func (k *kernel) routeSocket(ns string) (*nl.NetlinkSocket, error) {
	fd, err := k.nsHandle(ns)
	if err != nil {
		return nil, err
	}
	return nl.GetNetlinkSocketAt(fd, netns.None(), unix.NETLINK_ROUTE)
}

// bridgeSTP reads a bridge's STP state.
func (k *kernel) bridgeSTP(ns string, index int) (bool, error) {
	s, err := k.routeSocket(ns)
	if err != nil {
		return false, err
	}
	defer s.Close()
	req := nl.NewNetlinkRequest(unix.RTM_GETLINK, unix.NLM_F_ACK)
	req.Sockets = map[int]*nl.SocketHandle{unix.NETLINK_ROUTE: {Socket: s}}
	msg := nl.NewIfInfomsg(unix.AF_UNSPEC)
	msg.Index = int32(index)
	req.AddData(msg)
	msgs, err := req.Execute(unix.NETLINK_ROUTE, unix.RTM_NEWLINK)
	if err != nil {
		return false, err
	}
	for _, m := range msgs {
		if len(m) < unix.SizeofIfInfomsg {
			continue
		}
		attrs, err := nl.ParseRouteAttr(m[unix.SizeofIfInfomsg:])
		if err != nil {
			return false, err
		}
		for _, a := range attrs {
			if a.Attr.Type != unix.IFLA_LINKINFO {
				continue
			}
			infos, err := nl.ParseRouteAttr(a.Value)
			if err != nil {
				return false, err
			}
			for _, info := range infos {
				if info.Attr.Type != nl.IFLA_INFO_DATA {
					continue
				}
				data, err := nl.ParseRouteAttr(info.Value)
				if err != nil {
					return false, err
				}
				for _, d := range data {
					if d.Attr.Type == iflaBrSTPState && len(d.Value) >= 4 {
						return nl.NativeEndian().Uint32(d.Value) != 0, nil
					}
				}
			}
		}
	}
	return false, nil
}

// setBridgeSTP turns a bridge's kernel STP on or off.
func (k *kernel) setBridgeSTP(ns string, index int, on bool) error {
	v := uint32(0)
	if on {
		v = 1
	}
	return k.setBridgeU32(ns, index, iflaBrSTPState, v)
}

// iflaBrAgeingTime is IFLA_BR_AGEING_TIME, in 1/100 s.
const iflaBrAgeingTime = 4

// setBridgeAgeing sets a bridge's FDB ageing time (1/100 s). Only this
// attribute is sent: a LinkModify with all of the link's attributes is
// refused by the kernel (EINVAL).
func (k *kernel) setBridgeAgeing(ns string, index int, cs uint32) error {
	return k.setBridgeU32(ns, index, iflaBrAgeingTime, cs)
}

// setBridgeU32 sets one u32 bridge attribute (IFLA_BR_*) of a bridge.
func (k *kernel) setBridgeU32(ns string, index int, attr uint16, v uint32) error {
	s, err := k.routeSocket(ns)
	if err != nil {
		return err
	}
	defer s.Close()
	req := nl.NewNetlinkRequest(unix.RTM_NEWLINK, unix.NLM_F_ACK)
	req.Sockets = map[int]*nl.SocketHandle{unix.NETLINK_ROUTE: {Socket: s}}
	msg := nl.NewIfInfomsg(unix.AF_UNSPEC)
	msg.Index = int32(index)
	req.AddData(msg)
	info := nl.NewRtAttr(unix.IFLA_LINKINFO, nil)
	info.AddRtAttr(nl.IFLA_INFO_KIND, nl.NonZeroTerminated("bridge"))
	data := info.AddRtAttr(nl.IFLA_INFO_DATA, nil)
	data.AddRtAttr(int(attr), nl.Uint32Attr(v))
	req.AddData(info)
	_, err = req.Execute(unix.NETLINK_ROUTE, 0)
	return err
}

// ifreqFlags is struct ifreq with the flags member, as TUNSETIFF wants.
type ifreqFlags struct {
	name  [unix.IFNAMSIZ]byte
	flags uint16
	_     [22]byte
}

// createTap makes a persistent tap owned by uid (when given).
func (k *kernel) createTap(ns, name string, owner *uint32) error {
	return k.inNS(ns, func() error {
		fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("open /dev/net/tun: %w", err)
		}
		defer unix.Close(fd)
		var req ifreqFlags
		copy(req.name[:], name)
		req.flags = unix.IFF_TAP | unix.IFF_NO_PI | unix.IFF_TUN_EXCL
		if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.TUNSETIFF, uintptr(unsafe.Pointer(&req))); e != 0 {
			return fmt.Errorf("create tap %s: %w", name, e)
		}
		if owner != nil {
			if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.TUNSETOWNER, uintptr(*owner)); e != 0 {
				return fmt.Errorf("set owner of tap %s: %w", name, e)
			}
		}
		if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.TUNSETPERSIST, 1); e != 0 {
			return fmt.Errorf("make tap %s persistent: %w", name, e)
		}
		return nil
	})
}

// probeNetem reports whether the kernel can make a netem qdisc, trying it
// on a dummy link in a throw-away namespace so nothing visible changes.
func probeNetem() bool {
	ns, err := nsexec.New()
	if err != nil {
		return false
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return false
	}
	defer h.Close()
	la := netlink.NewLinkAttrs()
	la.Name = "probe0"
	if err := h.LinkAdd(&netlink.Veth{LinkAttrs: la, PeerName: "probe1"}); err != nil {
		return false
	}
	link, err := h.LinkByName("probe0")
	if err != nil {
		return false
	}
	q := netlink.NewNetem(netlink.QdiscAttrs{LinkIndex: link.Attrs().Index, Handle: netlink.MakeHandle(1, 0), Parent: netlink.HANDLE_ROOT},
		netlink.NetemQdiscAttrs{Latency: 1000})
	return h.QdiscAdd(q) == nil
}
