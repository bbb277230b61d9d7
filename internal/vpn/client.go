package vpn

// The near side: probe the far host → choose addresses, MTU and transport
// → set up the local end → set up the far end (tun@openssh.com plus the
// keeper script, or the copied helper) → pump until either side ends →
// remove both ends.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/jumpgate/jumpgate/internal/remotebin"
	"github.com/jumpgate/jumpgate/internal/shquote"
	"github.com/jumpgate/jumpgate/internal/sshwire"
)

// Transport names, as shown and as --transport takes them.
const (
	TransportAuto   = "auto"
	TransportNative = "tun@openssh.com"
	TransportPeer   = "peer"
)

// Options describe a tunnel from the near side.
type Options struct {
	Mode Mode
	// Local and Remote are the addresses of the two ends, IPv4, IPv6 or
	// both (L3: both or neither; neither picks a /30 of [AutoRange]). For
	// L2, Local goes on the local bridge or tap.
	Local, Remote []netip.Prefix
	// Routes are reached through the tunnel from here; RemoteRoutes from
	// the far side.
	Routes, RemoteRoutes []netip.Prefix
	NAT                  bool
	RemoteBridge         string
	LocalBridge          string
	LocalPorts           []string
	// MTU 0 chooses one (see [Connect]).
	MTU int
	// Transport is TransportAuto, TransportNative or TransportPeer.
	Transport string
	// Helper is "never", "auto" or the path of jumpgate on the far host.
	Helper string
	// Binary is this program, copied to the far host for peer mode.
	Binary string
	// LocalMTU is the MTU of the link the SSH connection leaves by (0:
	// unknown).
	LocalMTU int
	// Announce receives the one-time helper copy notice.
	Announce io.Writer
}

// Tunnel is an established tunnel.
type Tunnel struct {
	Near      *Endpoint
	FarDevice string
	Transport string
	Local     []netip.Prefix // near end's addresses
	Remote    []netip.Prefix // far end's addresses
	MTU       int
	Counters  Counters

	opts   Options
	client sshwire.Conn
	r      PacketReader
	w      PacketWriter
	far    io.Closer        // the channel carrying packets
	keeper *sshwire.Session // native: the far configuration; peer: the helper
	// offload: the near device has TSO/GSO (see [Open]); in peer mode the
	// far one too, natively it is cut or sent whole (native_offload.go,
	// ethernet.go).
	offload bool
	// plainR and plainW are the native transport's reader and writer
	// without offloads, for a kernel that refuses them.
	plainR PacketReader
	plainW PacketWriter
}

// ErrNotRoot is returned when an end lacks the privileges to make devices.
var ErrNotRoot = errors.New("tunnels need root (CAP_NET_ADMIN) on both ends")

// Connect sets up both ends of a tunnel over c and returns once packets
// can flow. The MTU, unless given, is the smallest of the two hosts' links
// that carry the SSH connection (for L2, the far bridge's), so packets
// routed between the tunnel and those networks are never fragmented.
func Connect(ctx context.Context, c sshwire.Conn, o Options) (_ *Tunnel, err error) {
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("this host: %w", ErrNotRoot)
	}
	if o.Transport == "" {
		o.Transport = TransportAuto
	}
	if o.Helper == "" {
		o.Helper = "auto"
	}
	if o.Mode == L2 && o.RemoteBridge == "" {
		return nil, errors.New("layer 2 tunnel needs a remote bridge")
	}
	sha := ""
	if o.Transport != TransportNative && o.Helper == "auto" {
		if sha, err = remotebin.FileSHA256(o.Binary); err != nil {
			return nil, fmt.Errorf("hash jumpgate binary for peer mode: %w", err)
		}
	}
	fi, err := probe(ctx, c, o.RemoteBridge, sha)
	if err != nil {
		return nil, err
	}
	if fi.uid != 0 {
		return nil, fmt.Errorf("far host (uid %d): %w", fi.uid, ErrNotRoot)
	}
	if o.Mode == L2 && fi.bridgeMTU == 0 {
		return nil, fmt.Errorf("far host has no bridge %q", o.RemoteBridge)
	}
	t := &Tunnel{client: c, Local: o.Local, Remote: o.Remote, MTU: o.MTU, opts: o}
	if o.Mode == L3 && len(t.Local) == 0 {
		used, err := UsedPrefixes()
		if err != nil {
			return nil, err
		}
		near, far, err := PickPair(append(used, fi.used...))
		if err != nil {
			return nil, err
		}
		t.Local, t.Remote = []netip.Prefix{near}, []netip.Prefix{far}
	}
	if t.MTU == 0 {
		t.MTU = chooseMTU(o, fi)
	}
	defer func() {
		if err != nil {
			t.closeFar()
			t.Close()
		}
	}()
	if err := t.startFar(ctx, fi, sha, o.Transport); err != nil {
		return nil, err
	}
	near := Config{Mode: o.Mode, MTU: t.MTU, Addrs: t.Local, Routes: o.Routes, Offload: t.offload}
	if o.Mode == L2 {
		near.Bridge, near.CreateBridge, near.Ports = o.LocalBridge, true, o.LocalPorts
	}
	if t.Transport == TransportNative && t.offload && o.Mode == L3 {
		near.GSOMaxSize = NativeGSOMaxSize
	}
	t.Near, err = Setup(ctx, near)
	if errors.Is(err, ErrNoOffload) && t.Transport == TransportNative {
		// This kernel refuses offloads: plain packets, as ssh -w.
		t.offload, near.Offload, near.GSOMaxSize = false, false, 0
		t.r, t.w = t.plainR, t.plainW
		t.Near, err = Setup(ctx, near)
	}
	if err != nil {
		return nil, fmt.Errorf("this host: %w", err)
	}
	if t.Transport == TransportNative {
		if err := t.startKeeper(ctx, o); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// ErrFarBusy is returned by [Tunnel.Reattach] while the far host still
// holds the far end of the dropped connection (its server has not noticed
// yet that the connection is gone); try again later.
var ErrFarBusy = errors.New("far host still holds the previous connection's tunnel")

// Reattach sets up the far end again over a new connection c after the
// old one dropped, with the same transport, addresses and MTU; the near
// end stays as it is, so nothing on this host changes or is duplicated.
func (t *Tunnel) Reattach(ctx context.Context, c sshwire.Conn) (err error) {
	o := t.opts
	t.closeFar()
	t.client = c
	sha := ""
	if t.Transport == TransportPeer && o.Helper == "auto" {
		if sha, err = remotebin.FileSHA256(o.Binary); err != nil {
			return fmt.Errorf("hash jumpgate binary for peer mode: %w", err)
		}
	}
	fi, err := probe(ctx, c, o.RemoteBridge, sha)
	if err != nil {
		return err
	}
	if fi.uid != 0 {
		return fmt.Errorf("far host (uid %d): %w", fi.uid, ErrNotRoot)
	}
	if o.Mode == L3 {
		for _, r := range t.Remote {
			if slices.Contains(fi.addrs, r.Addr()) {
				return fmt.Errorf("%w (%s)", ErrFarBusy, r.Addr())
			}
		}
	}
	defer func() {
		if err != nil {
			t.closeFar()
		}
	}()
	if err := t.startFar(ctx, fi, sha, t.Transport); err != nil {
		return err
	}
	if t.Transport == TransportNative {
		return t.startKeeper(ctx, o)
	}
	return nil
}

// startFar opens the transport: tun@openssh.com where the server allows it
// (and, for layer 2, the connection keeps message boundaries), else the
// peer helper.
func (t *Tunnel) startFar(ctx context.Context, fi *farInfo, sha, transport string) error {
	o, c := t.opts, t.client
	t.Transport = ""
	if transport != TransportPeer {
		prefix := map[Mode]string{L3: "tun", L2: "tap"}[o.Mode]
		unit := fi.freeUnit(prefix)
		ch, reqs, err := c.OpenChannel(ctx, TunChannelType, TunOpen{Mode: uint32(o.Mode), Unit: uint32(unit)}.Marshal())
		if err == nil {
			go sshwire.DiscardRequests(reqs)
			t.FarDevice, t.far = prefix+strconv.Itoa(unit), ch
			// A new tunnel tries offloads; a reattached one keeps what
			// its device was made with.
			t.offload = t.Near == nil || t.Near.Config().Offload
			if o.Mode == L3 {
				t.startNativeL3(ch, fi)
			} else if err = t.startNativeL2(ch); err != nil {
				ch.Close()
				t.far = nil
			}
		}
		switch {
		case err == nil:
			t.Transport = TransportNative
			return nil
		case transport == TransportNative:
			return fmt.Errorf("open %s: %w", TunChannelType, err)
		}
	}
	return t.startPeer(ctx, o, fi, sha)
}

// startNativeL3 reads and writes IP packets behind their address family.
func (t *Tunnel) startNativeL3(ch sshwire.Channel, fi *farInfo) {
	c := t.client
	t.plainR = NewL3Reader(ch, t.MTU)
	t.plainW = NewPacedL3Writer(ch, func() error {
		_, _, err := c.SendRequest(context.Background(), "keepalive@openssh.com", true, nil)
		return err
	})
	t.r, t.w = t.plainR, t.plainW
	if t.offload {
		local := slices.Clone(fi.addrs)
		for _, r := range t.Remote {
			local = append(local, r.Addr())
		}
		t.w = NewNativeOffloadWriter(t.plainW, t.MTU, func(a netip.Addr) bool { return slices.Contains(local, a) })
		t.r = NewVnetReader(t.plainR, t.MTU)
	}
}

// startNativeL2 reads and writes one Ethernet frame per message.
func (t *Tunnel) startNativeL2(ch sshwire.Channel) error {
	m, err := asMessageChannel(ch)
	if err != nil {
		return err
	}
	t.plainR, t.plainW = NewL2Reader(m, t.MTU), NewL2Writer(m)
	t.r, t.w = t.plainR, t.plainW
	if t.offload {
		t.r = NewVnetReader(t.plainR, t.MTU+ethHeader+vlanTag)
		t.w = NewL2OffloadWriter(t.plainW, t.MTU)
	}
	return nil
}

func chooseMTU(o Options, fi *farInfo) int {
	mtu := 1500
	if o.Mode == L2 && fi.bridgeMTU > 0 {
		return fi.bridgeMTU
	}
	var known []int
	for _, m := range []int{o.LocalMTU, fi.mtu} {
		if m >= 576 {
			known = append(known, m)
		}
	}
	if len(known) > 0 {
		mtu = min(slices.Min(known), 65535)
	}
	return mtu
}

// startPeer puts the helper in place and starts it with the far config.
func (t *Tunnel) startPeer(ctx context.Context, o Options, fi *farInfo, sha string) error {
	path := o.Helper
	switch o.Helper {
	case "never":
		return fmt.Errorf("the far host does not allow tun@openssh.com and --remote-helper is never")
	case "auto":
		if fi.os != "Linux" || !slices.Contains(remotebin.UnameArch(runtime.GOARCH), fi.arch) {
			return fmt.Errorf("far host is %s/%s; this jumpgate is linux/%s and cannot run there as a helper (pass --remote-helper PATH)", fi.os, fi.arch, runtime.GOARCH)
		}
		path = fi.cache + "/" + sha
		if fi.helperSHA != sha {
			f, err := os.Open(o.Binary)
			if err != nil {
				return fmt.Errorf("open jumpgate binary: %w", err)
			}
			defer f.Close()
			st, _ := f.Stat()
			if o.Announce != nil {
				fmt.Fprintf(o.Announce, "jumpgate: copying jumpgate (%.1f MB) to the far host as %s for peer mode\n", float64(st.Size())/1e6, path)
			}
			if err := remotebin.Upload(ctx, t.client, fi.cache, sha, f); err != nil {
				return fmt.Errorf("copy helper to far host: %w", err)
			}
		}
	}
	args := []string{"vpn", "--serve-peer", "--mode", o.Mode.String(), "--mtu", strconv.Itoa(t.MTU), "--offload"}
	for _, a := range t.Remote {
		args = append(args, "--addr", a.String())
	}
	for _, r := range o.RemoteRoutes {
		args = append(args, "--route", r.String())
	}
	if o.NAT {
		args = append(args, "--nat")
	}
	if o.RemoteBridge != "" {
		args = append(args, "--bridge", o.RemoteBridge)
	}
	cmd := "exec " + shquote.Quote(path)
	for _, a := range args {
		cmd += " " + shquote.Quote(a)
	}
	s, err := sshwire.NewSession(ctx, t.client)
	if err != nil {
		return fmt.Errorf("start helper: %w", err)
	}
	t.keeper = s
	stdin, err := s.StdinPipe()
	if err != nil {
		return err
	}
	stdout, err := s.StdoutPipe()
	if err != nil {
		return err
	}
	errb := &limitWriter{n: 4096}
	s.Stderr = errb
	if err := s.Start(cmd); err != nil {
		return fmt.Errorf("start helper %s: %w", path, err)
	}
	br := bufio.NewReaderSize(stdout, 256<<10)
	h, err := readHello(br)
	if err != nil {
		if msg := strings.TrimSpace(errb.String()); msg != "" {
			err = fmt.Errorf("%w: %s", err, msg)
		}
		return fmt.Errorf("helper on far host: %w", err)
	}
	if t.Near != nil && t.Near.Config().Offload != h.Offload {
		// A reattach: the near device was opened for the first helper.
		return fmt.Errorf("helper on far host: offloads %v, the tunnel's device was made with %v", h.Offload, t.Near.Config().Offload)
	}
	t.Transport, t.FarDevice, t.offload = TransportPeer, h.Device, h.Offload
	t.far = s
	t.r, t.w = NewPeerReader(br, t.MTU, h.Offload), NewFrameWriter(stdin)
	return nil
}

// startKeeper configures the far device of a native tunnel.
func (t *Tunnel) startKeeper(ctx context.Context, o Options) error {
	nat, rules := "0", ""
	if o.NAT {
		nat, rules = "1", NATRuleset(t.FarDevice)
	}
	args := []string{t.FarDevice, strconv.Itoa(t.MTU), joinPrefixes(t.Remote, " "), nat, rules, o.RemoteBridge}
	for _, r := range o.RemoteRoutes {
		args = append(args, r.String())
	}
	s, err := sshwire.NewSession(ctx, t.client)
	if err != nil {
		return fmt.Errorf("configure far device: %w", err)
	}
	t.keeper = s
	if _, err := s.StdinPipe(); err != nil { // held open: EOF tells it to clean up
		return err
	}
	stdout, err := s.StdoutPipe()
	if err != nil {
		return err
	}
	errb := &limitWriter{n: 4096}
	s.Stderr = errb
	if err := s.Start(remotebin.Command(keeperScript, "jumpgate-vpn", args...)); err != nil {
		return fmt.Errorf("configure far device: %w", err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if strings.TrimSpace(line) != "ready" {
		s.Wait()
		msg := strings.TrimSpace(errb.String())
		if msg == "" && err != nil {
			msg = err.Error()
		}
		return fmt.Errorf("configure %s on far host: %s", t.FarDevice, msg)
	}
	return nil
}

// Run carries packets until ctx ends or the tunnel breaks, then removes
// both ends. It returns nil for a clean end.
func (t *Tunnel) Run(ctx context.Context) error {
	return errors.Join(t.Serve(ctx), t.Close())
}

// Serve carries packets until ctx ends or the far side or connection
// ends, then closes the far side (which removes the far end) but keeps the
// near end, for [Tunnel.Reattach] or [Tunnel.Close].
func (t *Tunnel) Serve(ctx context.Context) error {
	err := Pump(ctx, t.Near, t.r, t.w, t.far, &t.Counters)
	t.closeFar()
	return err
}

// closeFar closes the channels of the far side.
func (t *Tunnel) closeFar() {
	if t.far != nil {
		t.far.Close()
		t.far = nil
	}
	if t.keeper != nil {
		t.keeper.Close()
		t.keeper = nil
	}
}

// Close removes the near end (call it after [Tunnel.Serve]).
func (t *Tunnel) Close() error {
	t.closeFar()
	if t.Near == nil {
		return nil
	}
	err := t.Near.Close()
	t.Near = nil
	return err
}

// RemoteBridge is the far bridge the far tap joins (L2), or "".
func (t *Tunnel) RemoteBridge() string { return t.opts.RemoteBridge }

// Summary is the line shown once the tunnel is up.
func (t *Tunnel) Summary(farHost string) string {
	mode := t.Near.Config().Mode
	var b strings.Builder
	fmt.Fprintf(&b, "%s tunnel up: %s", mode, t.Near.Name())
	if a := t.Near.Config().Addrs; len(a) > 0 {
		fmt.Fprintf(&b, " %s", joinPrefixes(a, ","))
	}
	if br := t.Near.Config().Bridge; br != "" {
		fmt.Fprintf(&b, " (bridge %s)", br)
	}
	fmt.Fprintf(&b, " <-> %s %s", farHost, t.FarDevice)
	if len(t.Remote) > 0 && mode == L3 {
		fmt.Fprintf(&b, " %s", joinPrefixes(t.Remote, ","))
	}
	fmt.Fprintf(&b, ", transport %s", t.Transport)
	if t.offload {
		b.WriteString(" (tso)")
	}
	fmt.Fprintf(&b, ", mtu %d", t.MTU)
	return b.String()
}

// joinPrefixes writes ps separated by sep.
func joinPrefixes(ps []netip.Prefix, sep string) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, sep)
}

// limitWriter keeps the first n bytes written to it; x/crypto writes a
// session's stderr from its own goroutine, hence the lock.
type limitWriter struct {
	mu  sync.Mutex
	buf strings.Builder
	n   int
}

func (l *limitWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n > 0 {
		k := min(len(p), l.n)
		l.buf.Write(p[:k])
		l.n -= k
	}
	return len(p), nil
}

func (l *limitWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
