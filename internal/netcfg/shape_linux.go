package netcfg

// Shaping and routes: root qdiscs (tbf for rate, netem for delay and loss
// where the kernel has it), the userspace emulators that stand in for netem,
// and routes.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/jumpgate/jumpgate/internal/ipnet"
	"github.com/jumpgate/jumpgate/internal/procstat"
)

func rootQdisc(h *netlink.Handle, l netlink.Link) (netlink.Qdisc, error) {
	qs, err := h.QdiscList(l)
	if err != nil {
		return nil, err
	}
	for _, q := range qs {
		if q.Attrs().Parent == netlink.HANDLE_ROOT {
			return q, nil
		}
	}
	return nil, nil
}

// qdiscMatches reports whether the live root qdisc is the one wanted.
func qdiscMatches(q netlink.Qdisc, want qdiscSpec) bool {
	switch want.kind {
	case "tbf":
		t, ok := q.(*netlink.Tbf)
		return ok && t.Rate == want.rate/8
	case "netem":
		n, ok := q.(*netlink.Netem)
		return ok && n.Rate64 == want.rate/8 && n.Limit == uint32(want.netemLimit())
	}
	if q == nil {
		return true
	}
	k := q.Type()
	return k != "tbf" && k != "netem"
}

// netemLimit is the netem queue in frames: the file's, or 10000, ten times
// the kernel's default, which would cap a 100 ms path near 120 Mbit/s.
func (q qdiscSpec) netemLimit() int {
	if q.limit > 0 {
		return q.limit
	}
	return 10000
}

// makeQdisc builds the qdisc for a link index.
func makeQdisc(index int, q qdiscSpec) netlink.Qdisc {
	attrs := netlink.QdiscAttrs{LinkIndex: index, Handle: netlink.MakeHandle(1, 0), Parent: netlink.HANDLE_ROOT}
	bytesPerSec := q.rate / 8
	if q.kind == "netem" {
		return netlink.NewNetem(attrs, netlink.NetemQdiscAttrs{
			Latency: uint32(q.delay.Microseconds()), Loss: float32(q.loss), Rate64: bytesPerSec,
			Limit: uint32(q.netemLimit()),
		})
	}
	// A burst of 4 ms of traffic (at least 16 KiB) and a queue of 50 ms.
	burst := uint32(max(bytesPerSec/250, 16<<10))
	limit := uint32(min(bytesPerSec/20+uint64(burst), math.MaxUint32))
	return &netlink.Tbf{QdiscAttrs: attrs, Rate: bytesPerSec, Limit: limit, Buffer: netlink.Xmittime(bytesPerSec, burst)}
}

func (p *planner) planQdisc(s *linkSpec, l netlink.Link, get func() (*netlink.Handle, netlink.Link, error)) error {
	var cur netlink.Qdisc
	if l != nil {
		h, err := p.k.handle(s.ns)
		if err != nil {
			return err
		}
		if cur, err = rootQdisc(h, l); err != nil {
			return fmt.Errorf("list qdiscs of %s: %w", s.label(), err)
		}
	}
	if qdiscMatches(cur, s.qdisc) {
		return nil
	}
	del := func() error {
		h, l, err := get()
		if err != nil {
			return nil
		}
		q, err := rootQdisc(h, l)
		if err != nil || q == nil {
			return err
		}
		if k := q.Type(); k != "tbf" && k != "netem" {
			return nil
		}
		return h.QdiscDel(q)
	}
	if s.qdisc.kind == "" {
		p.add('-', fmt.Sprintf("shaping on %s (%s)", s.label(), cur.Type()), del, nil)
		return nil
	}
	p.add('+', fmt.Sprintf("%s on %s", s.qdisc, s.label()), func() error {
		h, l, err := get()
		if err != nil {
			return err
		}
		if err := h.QdiscReplace(makeQdisc(l.Attrs().Index, s.qdisc)); err != nil {
			return fmt.Errorf("shape %s with %s: %w", s.label(), s.qdisc.kind, err)
		}
		return nil
	}, del)
	return nil
}

// Ethtool commands and struct ethtool_value (linux/ethtool.h).
const (
	ethtoolSTXCSUM = 0x17
	ethtoolSSG     = 0x19
	ethtoolSTSO    = 0x1f
	ethtoolSGSO    = 0x24
	ethtoolSGRO    = 0x2c
)

type ethtoolValue struct{ cmd, data uint32 }

type ifreqData struct {
	name [unix.IFNAMSIZ]byte
	data uintptr
	_    [16]byte
}

// offloadsOff turns off transmit checksum, scatter-gather, TSO, GSO and
// GRO, so that frames reach the emulator's packet sockets whole.
func (k *kernel) offloadsOff(ns, name string) error {
	return k.inNS(ns, func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		for _, cmd := range []uint32{ethtoolSTSO, ethtoolSGSO, ethtoolSGRO, ethtoolSSG, ethtoolSTXCSUM} {
			v := ethtoolValue{cmd: cmd}
			var req ifreqData
			copy(req.name[:], name)
			req.data = uintptr(unsafe.Pointer(&v))
			_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SIOCETHTOOL, uintptr(unsafe.Pointer(&req)))
			if e != 0 && e != unix.EOPNOTSUPP {
				return fmt.Errorf("turn off offload %#x on %s/%s: %w", cmd, nsLabel(ns), name, e)
			}
		}
		return nil
	})
}

// emulatorAlive reports whether pid is a live emulator for id.
func emulatorAlive(pid int, id string) bool {
	if pid <= 0 {
		return false
	}
	if st, err := procstat.Read(pid); err != nil || st.State == 'Z' {
		return false
	}
	cmd, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	return strings.Contains(string(cmd), "\x00--id\x00"+id+"\x00")
}

func (p *planner) planEmulator(ctx context.Context, e emuSpec) {
	if es := p.st.emulator(e.id); es != nil && emulatorAlive(es.PID, e.id) {
		return
	}
	p.add('+', e.description, func() error {
		return p.startEmulator(ctx, e)
	}, func() error {
		return p.stopEmulator(e.id)
	})
}

func (p *planner) startEmulator(_ context.Context, e emuSpec) error {
	if len(p.o.Emulator) == 0 {
		return errors.New("start link emulator: no emulator command configured")
	}
	cfg := e.config(p.k)
	args := append(append([]string{}, p.o.Emulator[1:]...), cfg.Args()...)
	// The emulator outlives this apply: it must not die with our context.
	cmd := exec.Command(p.o.Emulator[0], args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := os.MkdirAll(p.o.stateDir(), 0o700); err != nil {
		return fmt.Errorf("create state dir: %w", err)
	}
	logPath := filepath.Join(p.o.stateDir(), p.o.owner(p.t)+"."+strings.NewReplacer("/", "_", ":", "_").Replace(e.a.name)+".log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("emulator log: %w", err)
	}
	defer logf.Close()
	cmd.Stderr = logf
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start link emulator: %w", err)
	}
	go func() { _ = cmd.Wait() }() // reap it if it ends while we run
	ready := make(chan error, 1)
	go func() {
		line, err := bufio.NewReader(out).ReadString('\n')
		if err == nil && strings.TrimSpace(line) != "ready" {
			err = fmt.Errorf("unexpected %q", line)
		}
		ready <- err
	}()
	select {
	case err = <-ready:
	case <-time.After(10 * time.Second):
		err = errors.New("not ready after 10s")
	}
	if err != nil {
		_ = cmd.Process.Kill()
		logged, _ := os.ReadFile(logPath)
		return fmt.Errorf("start link emulator for %s: %w: %s", e.id, err, strings.TrimSpace(string(logged)))
	}
	p.st.dropEmulator(e.id)
	p.st.Emulators = append(p.st.Emulators, emuState{ID: e.id, PID: cmd.Process.Pid, Args: append([]string{p.o.Emulator[0]}, args...)})
	return p.st.save(p.o)
}

// stopEmulator ends the emulator recorded for id, by its PID, after
// checking the PID still is that emulator.
func (p *planner) stopEmulator(id string) error {
	es := p.st.emulator(id)
	if es == nil {
		return nil
	}
	if emulatorAlive(es.PID, id) {
		_ = unix.Kill(es.PID, unix.SIGTERM)
		deadline := time.Now().Add(3 * time.Second)
		for emulatorAlive(es.PID, id) {
			if time.Now().After(deadline) {
				_ = unix.Kill(es.PID, unix.SIGKILL)
				deadline = time.Now().Add(time.Hour)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	p.st.dropEmulator(id)
	return p.st.save(p.o)
}

func (p *planner) planRoute(r Route) error {
	dst := ipnet.FromPrefix(r.To)
	want := &netlink.Route{Dst: dst}
	if r.Via.IsValid() {
		want.Gw = r.Via.AsSlice()
	}
	label := fmt.Sprintf("route %s", r.To)
	if r.Via.IsValid() {
		label += " via " + r.Via.String()
	}
	if r.Dev != "" {
		label += " dev " + r.Dev
	}
	label += " in " + nsLabel(r.Namespace)
	if p.k.nsExists(r.Namespace) {
		h, err := p.k.handle(r.Namespace)
		if err != nil {
			return err
		}
		family := netlink.FAMILY_V4
		if r.To.Addr().Is6() {
			family = netlink.FAMILY_V6
		}
		rs, err := h.RouteListFiltered(family, &netlink.Route{Dst: dst, Table: unix.RT_TABLE_MAIN}, netlink.RT_FILTER_DST|netlink.RT_FILTER_TABLE)
		if err != nil {
			return fmt.Errorf("list routes in %s: %w", nsLabel(r.Namespace), err)
		}
		for _, have := range rs {
			if !r.Via.IsValid() || have.Gw.Equal(want.Gw) {
				return nil
			}
		}
	}
	build := func() (*netlink.Handle, *netlink.Route, error) {
		h, err := p.k.handle(r.Namespace)
		if err != nil {
			return nil, nil, err
		}
		rt := *want
		if r.Dev != "" {
			l, err := h.LinkByName(r.Dev)
			if err != nil {
				return nil, nil, fmt.Errorf("look up %s: %w", r.Dev, err)
			}
			rt.LinkIndex = l.Attrs().Index
		}
		return h, &rt, nil
	}
	p.add('+', label, func() error {
		h, rt, err := build()
		if err != nil {
			return err
		}
		if err := h.RouteAdd(rt); err != nil {
			return fmt.Errorf("add %s: %w", label, err)
		}
		return nil
	}, func() error {
		h, rt, err := build()
		if err != nil {
			return nil
		}
		return h.RouteDel(rt)
	})
	return nil
}
