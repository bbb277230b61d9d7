package mux

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jumpgate/jumpgate/internal/forward"
	"github.com/jumpgate/jumpgate/internal/sshconf"
	"github.com/jumpgate/jumpgate/internal/sshwire"
	"github.com/jumpgate/jumpgate/internal/vlog"
)

// Config is what a master needs: the shared connection and its policies.
type Config struct {
	// Client is the authenticated connection the master shares.
	Client sshwire.Conn
	// Host names the destination in prompts and in [Info].
	Host string
	// Log receives the master's debug messages; nil discards them.
	Log *vlog.Logger
	// IdleTimeout ends Serve once the master has been idle this long
	// (ControlPersist time): no client connected, no session, stdio
	// forward or forwarded connection open, as channel_still_open counts
	// in OpenSSH; 0 never.
	IdleTimeout time.Duration
	// Ask confirms a client's request (ControlMaster ask, autoask); nil
	// allows everything.
	Ask func(prompt string) bool
	// Creator is the pid of the process that started the master (its
	// first client), whose requests Ask is not consulted about; 0 none.
	Creator int
	// Private makes the master its creator's alone: it stops listening
	// once a control connection of Creator ends (jumpgate's default
	// multiplexing after a login that prompted, which must prompt again
	// next time as it would without a master).
	Private bool
	// SendEnv filters the environment a client passes (SendEnv
	// patterns of the master, as OpenSSH's env_permitted); nil passes
	// nothing.
	SendEnv func(name string) bool
	// Agent sets up agent forwarding on a session whose client asked for
	// it; nil ignores the request.
	Agent func(*sshwire.Session) error
	// Forward shapes forwards clients ask for.
	Forward forward.Options
	// KeepAlive, if set, runs while Serve does: the master's own
	// ServerAliveInterval. An error it returns (the server stopped
	// answering) ends the connection; its text, ssh(1)'s message, goes to
	// the clients that sent [ExtKeepAlive] before their sessions end.
	KeepAlive func(ctx context.Context) error
}

// Master shares one SSH connection with the clients of a control socket.
type Master struct {
	cfg   Config
	log   *vlog.Logger
	start time.Time

	ctx    context.Context
	cancel context.CancelFunc

	bytesIn, bytesOut atomic.Uint64
	fwdConns          atomic.Int64 // forwarded connections open

	mu        sync.Mutex
	ln        *Listener
	stopped   bool // no longer listening
	terminate bool
	active    int // sessions and stdio forwards open
	conns     map[*ctlConn]struct{}
	chans     map[*channel]struct{}
	fwds      []*fwdEntry // forwards that live with the master
	remote    *forward.Forwarder
	nextID    uint32
	wake      chan struct{}
	lost      error // why the connection ended, if we ended it
}

// NewMaster returns a master for cfg; [Master.Serve] runs it.
func NewMaster(cfg Config) *Master {
	ctx, cancel := context.WithCancel(context.Background())
	log := cfg.Log
	if log == nil {
		log = vlog.New(io.Discard, vlog.Quiet)
	}
	return &Master{cfg: cfg, log: log, start: time.Now(), ctx: ctx, cancel: cancel,
		conns: map[*ctlConn]struct{}{}, chans: map[*channel]struct{}{}, wake: make(chan struct{}, 1)}
}

// forwardOptions are the forwards' options, counting their connections
// for the idle timeout.
func (m *Master) forwardOptions() forward.Options {
	o := m.cfg.Forward
	o.Conns = func(delta int) {
		if m.fwdConns.Add(int64(delta)) == 0 || delta > 0 {
			m.poke()
		}
	}
	return o
}

func (m *Master) poke() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// ErrTerminated is returned by Serve after a client's MUX_C_TERMINATE
// (-O exit).
var ErrTerminated = errors.New("master terminated by request")

// ErrConnectionLost is returned by Serve when the shared connection ends.
var ErrConnectionLost = errors.New("shared connection lost")

// wireError is an error whose text goes to a control client as ssh(1)'s
// master words it, capital letter and all.
type wireError string

func (e wireError) Error() string { return string(e) }

const errInvalidForward = wireError("Invalid forwarding request")

// Serve accepts clients on ln until ctx ends, a client asks the master to
// exit (-O exit: everything ends now, [ErrTerminated]), the connection
// dies ([ErrConnectionLost]), or the master has stopped listening (-O
// stop, [Master.Stop]) or stayed idle for IdleTimeout and no session is
// left (nil). Everything it started is closed when it returns.
func (m *Master) Serve(ctx context.Context, ln *Listener) error {
	m.mu.Lock()
	m.ln = ln
	m.mu.Unlock()
	lost := make(chan struct{})
	go func() {
		m.cfg.Client.Wait()
		close(lost)
	}()
	go m.accept(ln)
	defer m.shutdown()
	if m.cfg.KeepAlive != nil {
		go func() {
			if err := m.cfg.KeepAlive(m.ctx); err != nil {
				// Noted before the close, so that every session the
				// close ends finds it (see tellLost).
				m.mu.Lock()
				m.lost = err
				m.mu.Unlock()
				m.cfg.Client.Close()
			}
		}()
	}

	var idle <-chan time.Time
	var idleTimer *time.Timer
	for {
		m.mu.Lock()
		terminate, stopped, active := m.terminate, m.stopped, m.active
		busy := active > 0 || len(m.conns) > 0 || m.fwdConns.Load() > 0
		m.mu.Unlock()
		switch {
		case terminate:
			return ErrTerminated
		case stopped && active == 0:
			m.log.Debugf("control master stopped with no sessions left")
			return nil
		}
		if idleTimer != nil {
			idleTimer.Stop()
			idle = nil
		}
		if !busy && m.cfg.IdleTimeout > 0 {
			idleTimer = time.NewTimer(m.cfg.IdleTimeout)
			idle = idleTimer.C
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-lost:
			if err := m.lostError(); err != nil {
				return fmt.Errorf("%w: %v", ErrConnectionLost, err)
			}
			return ErrConnectionLost
		case <-idle:
			m.log.Debugf("control master idle for %s; exiting", m.cfg.IdleTimeout)
			return nil
		case <-m.wake:
		}
	}
}

// Stop stops accepting clients and removes the socket; Serve returns once
// the running sessions have finished (-O stop).
func (m *Master) Stop() {
	m.mu.Lock()
	ln := m.ln
	m.stopped = true
	m.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
	m.poke()
}

func (m *Master) shutdown() {
	m.Stop()
	m.cancel()
	m.mu.Lock()
	conns := m.conns
	m.conns = map[*ctlConn]struct{}{}
	// A copy: finishing channels delete themselves from m.chans.
	chans := maps.Clone(m.chans)
	fwds := m.fwds
	m.fwds = nil
	remote := m.remote
	m.mu.Unlock()
	// Clients first: closing a session's channel makes the server end its
	// command and report how, and a master that is going away (-O exit)
	// relays no exit status after the fact, as ssh(1)'s does not.
	for c := range conns {
		c.tellLost()
		c.fc.Close()
	}
	for c := range chans {
		c.close()
	}
	for _, f := range fwds {
		f.close()
	}
	if remote != nil {
		remote.Close()
	}
}

func (m *Master) accept(ln *Listener) {
	for {
		uc, err := ln.AcceptUnix()
		if err != nil {
			return
		}
		go m.serveConn(uc)
	}
}

// helloTimeout bounds how long a new client may take to say hello or to
// pass its descriptors, so a silent one cannot pin a goroutine forever.
const helloTimeout = 30 * time.Second

func (m *Master) serveConn(uc *net.UnixConn) {
	uid, pid, err := peerUID(uc)
	if err != nil || (uid != 0 && uid != os.Geteuid()) {
		if err != nil {
			m.log.Debugf("control client: cannot check peer credentials: %v", err)
		} else {
			m.log.Infof("control client uid %d (pid %d) refused: the master belongs to uid %d", uid, pid, os.Geteuid())
		}
		uc.Close()
		return
	}
	c := &ctlConn{m: m, fc: newFDConn(uc), pid: pid, closed: make(chan struct{})}
	m.mu.Lock()
	if m.ctx.Err() != nil {
		m.mu.Unlock()
		uc.Close()
		return
	}
	m.conns[c] = struct{}{}
	m.mu.Unlock()
	m.poke()
	defer c.finish()
	hello := &Hello{Version: Version, Extensions: []Extension{{Name: ExtClientForwards}, {Name: ExtSessionEvents}, {Name: ExtKeepAlive}}}
	if err := c.fc.writePacket(hello); err != nil {
		return
	}
	uc.SetReadDeadline(time.Now().Add(helloTimeout))
	body, err := ReadPacket(c.fc)
	if err != nil {
		return
	}
	msg, err := Decode(body)
	h, ok := msg.(*Hello)
	if err != nil || !ok {
		m.log.Debugf("control client pid %d: expected hello: %v", pid, err)
		return
	}
	if h.Version != Version {
		m.log.Debugf("control client pid %d: unsupported multiplexing protocol version %d (expected %d)", pid, h.Version, Version)
		return
	}
	uc.SetReadDeadline(time.Time{})
	for _, e := range h.Extensions {
		switch e.Name {
		case ExtClientForwards:
			c.mu.Lock()
			c.owned = true
			c.mu.Unlock()
		case ExtSessionEvents:
			c.events = true
		case ExtKeepAlive:
			c.keepalive = true
		}
	}
	for {
		body, err := ReadPacket(c.fc)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				m.log.Debugf("control client pid %d: %v", pid, err)
			}
			return
		}
		msg, err := Decode(body)
		if err != nil {
			var ut *unknownTypeError
			if errors.As(err, &ut) {
				c.fc.writePacket(&Refusal{ID: ut.id, Reason: "unsupported request"})
				continue
			}
			m.log.Debugf("control client pid %d: %v", pid, err)
			return
		}
		if !c.dispatch(msg) {
			return
		}
	}
}

// ctlConn is one client of the control socket.
type ctlConn struct {
	m   *Master
	fc  *fdConn
	pid int
	// events, keepalive: it sent ExtSessionEvents, ExtKeepAlive (set
	// before any request).
	events, keepalive bool
	probes            atomic.Int32  // MsgKeepAlive requests awaiting the server
	closed            chan struct{} // closed by finish

	mu      sync.Mutex
	ch      *channel    // the session or stdio forward, at most one
	hadChan bool        // it opened one: its forwards die with it
	owned   bool        // it said so in its hello: its forwards die with it
	fwds    []*fwdEntry // forwards it asked for
}

// dispatch handles one request; false ends the connection.
func (c *ctlConn) dispatch(msg Message) bool {
	m := c.m
	switch q := msg.(type) {
	case *Hello:
		m.log.Debugf("control client pid %d: HELLO received twice", c.pid)
		return false
	case *Request:
		switch q.Kind {
		case MsgAliveCheck:
			return c.reply(&Alive{ID: q.ID, PID: uint32(os.Getpid())})
		case MsgTerminate:
			if !c.ask("Terminate shared connection to %s? ", m.cfg.Host) {
				return c.reply(&Refusal{Denied: true, ID: q.ID, Reason: "Permission denied"})
			}
			c.reply(&Request{Kind: MsgOK, ID: q.ID})
			m.mu.Lock()
			m.terminate = true
			m.mu.Unlock()
			m.poke()
			return true
		case MsgStopListening:
			if !c.ask("Disable further multiplexing on shared connection to %s? ", m.cfg.Host) {
				return c.reply(&Refusal{Denied: true, ID: q.ID, Reason: "Permission denied"})
			}
			m.log.Debugf("control client pid %d: stop listening", c.pid)
			m.Stop()
			return c.reply(&Request{Kind: MsgOK, ID: q.ID})
		case MsgInfo:
			b, _ := json.Marshal(m.Info())
			return c.reply(&InfoReply{ID: q.ID, JSON: string(b)})
		case MsgKeepAlive:
			c.probe(q.ID)
			return true
		case MsgProxy:
			return c.reply(&Refusal{ID: q.ID, Reason: "proxy mode (-O proxy) is not supported by this jumpgate master"})
		}
		return c.reply(&Refusal{ID: q.ID, Reason: "unsupported request"})
	case *NewSession:
		fds, err := c.recv(3)
		if err != nil {
			c.reply(&Refusal{ID: q.ID, Reason: "did not receive file descriptors"})
			return false
		}
		return c.startChannel(q.ID, fds, func(ch *channel) error { return ch.session(q) })
	case *StdioForward:
		fds, err := c.recv(2)
		if err != nil {
			c.reply(&Refusal{ID: q.ID, Reason: "did not receive file descriptors"})
			return false
		}
		if m.cfg.Ask != nil && c.pid != m.cfg.Creator {
			what := net.JoinHostPort(q.Host, strconv.Itoa(int(q.Port)))
			if q.Port == PortStreamLocal {
				what = q.Host
			}
			if !c.ask("Allow forward to %s? ", what) {
				closeAll(fds)
				return c.reply(&Refusal{Denied: true, ID: q.ID, Reason: "Permission denied"})
			}
		}
		return c.startChannel(q.ID, fds, func(ch *channel) error { return ch.stdio(q) })
	case *Forward:
		if q.Close {
			return c.reply(c.closeForward(q))
		}
		return c.reply(c.openForward(q))
	}
	return c.reply(&Refusal{ID: peekID(Encode(msg)), Reason: "unsupported request"})
}

func (c *ctlConn) recv(n int) ([]int, error) {
	c.fc.uc.SetReadDeadline(time.Now().Add(helloTimeout))
	defer c.fc.uc.SetReadDeadline(time.Time{})
	return c.fc.recvFDs(n)
}

func (c *ctlConn) reply(msg Message) bool {
	return c.fc.writePacket(msg) == nil
}

// ask confirms a request of this client (ControlMaster ask, autoask).
// The process that started the master is never asked: in ssh(1) its
// session is the master's own.
func (c *ctlConn) ask(format string, args ...any) bool {
	m := c.m
	if m.cfg.Ask == nil || (m.cfg.Creator > 0 && c.pid == m.cfg.Creator) {
		return true
	}
	return m.cfg.Ask(fmt.Sprintf(format, args...))
}

// finish runs when the client goes: its session ends, and the forwards
// it asked for end too if it had a session or said in its hello that they
// are its own (they were its command line's, even with -N); forwards asked
// for otherwise (-O forward) stay with the master.
func (c *ctlConn) finish() {
	close(c.closed)
	c.fc.Close()
	m := c.m
	if m.cfg.Private && c.pid == m.cfg.Creator {
		defer m.Stop()
	}
	c.mu.Lock()
	ch, had, fwds := c.ch, c.hadChan || c.owned, c.fwds
	c.fwds = nil
	c.mu.Unlock()
	if ch != nil {
		ch.close()
	}
	m.mu.Lock()
	delete(m.conns, c)
	if !had && m.ctx.Err() == nil {
		m.fwds = append(m.fwds, fwds...)
		fwds = nil
	}
	m.mu.Unlock()
	for _, f := range fwds {
		f.close()
	}
	m.poke()
}

// startChannel runs a session or stdio forward for the client.
func (c *ctlConn) startChannel(id uint32, fds []int, run func(*channel) error) bool {
	m := c.m
	c.mu.Lock()
	if c.ch != nil {
		c.mu.Unlock()
		closeAll(fds)
		return c.reply(&Refusal{ID: id, Reason: "Multiple sessions not supported"})
	}
	m.mu.Lock()
	if m.ctx.Err() != nil {
		m.mu.Unlock()
		c.mu.Unlock()
		closeAll(fds)
		return c.reply(&Refusal{ID: id, Reason: "master is shutting down"})
	}
	m.nextID++
	ch := &channel{m: m, c: c, id: m.nextID, req: id, started: time.Now(), done: make(chan struct{})}
	m.chans[ch] = struct{}{}
	m.active++
	m.mu.Unlock()
	c.ch, c.hadChan = ch, true
	c.mu.Unlock()
	ch.files = openFiles(fds)
	go func() {
		err := run(ch)
		if err != nil {
			m.log.Debugf("control client pid %d: %v", c.pid, err)
		}
		ch.close()
		c.tellLost()
		c.fc.Close() // the client's cue that it is over
		m.mu.Lock()
		delete(m.chans, ch)
		m.active--
		m.mu.Unlock()
		m.poke()
	}()
	return true
}

// WindowChanged re-reads the terminal size of every session with a pty
// and tells the server of changes. OpenSSH's clients signal SIGWINCH to
// the master's pid; the process running the master calls this then.
func (m *Master) WindowChanged() {
	m.mu.Lock()
	chans := make([]*channel, 0, len(m.chans))
	for ch := range m.chans {
		chans = append(chans, ch)
	}
	m.mu.Unlock()
	for _, ch := range chans {
		ch.windowChanged()
	}
}

// Info is a master's state for `jumpgate ctl`.
type Info struct {
	Host      string        `json:"host"`
	PID       int           `json:"pid"`
	Started   time.Time     `json:"started"`
	Listening bool          `json:"listening"`
	Clients   int           `json:"clients"`
	Channels  []ChannelInfo `json:"channels"`
	Forwards  []string      `json:"forwards"`
	BytesIn   uint64        `json:"bytes_in"`
	BytesOut  uint64        `json:"bytes_out"`
}

// ChannelInfo is one session or stdio forward of a master.
type ChannelInfo struct {
	ID        uint32    `json:"id"`
	Kind      string    `json:"kind"` // "session" or "stdio"
	What      string    `json:"what"`
	ClientPID int       `json:"client_pid"`
	Started   time.Time `json:"started"`
	BytesIn   uint64    `json:"bytes_in"`  // from the remote side
	BytesOut  uint64    `json:"bytes_out"` // to the remote side
}

// Info reports the master's clients, channels, forwards and traffic.
func (m *Master) Info() Info {
	m.mu.Lock()
	defer m.mu.Unlock()
	in := Info{Host: m.cfg.Host, PID: os.Getpid(), Started: m.start, Listening: !m.stopped,
		Clients: len(m.conns), BytesIn: m.bytesIn.Load(), BytesOut: m.bytesOut.Load(), Channels: []ChannelInfo{}, Forwards: []string{}}
	for ch := range m.chans {
		in.Channels = append(in.Channels, ChannelInfo{ID: ch.id, Kind: ch.kind, What: ch.what, ClientPID: ch.c.pid,
			Started: ch.started, BytesIn: ch.in.Load(), BytesOut: ch.out.Load()})
	}
	for c := range m.conns {
		c.mu.Lock()
		for _, f := range c.fwds {
			in.Forwards = append(in.Forwards, f.desc+" (client pid "+strconv.Itoa(c.pid)+")")
		}
		c.mu.Unlock()
	}
	for _, f := range m.fwds {
		in.Forwards = append(in.Forwards, f.desc)
	}
	return in
}

// fwdEntry is one forward asked for through the control socket.
type fwdEntry struct {
	key  Forward // as asked (ID cleared)
	desc string
	f    *forward.Forwarder // local and dynamic forwards: their own
	// rf is the master's shared forwarder of remote forwards, which
	// cancels fw on the server when the entry closes.
	rf   *forward.Forwarder
	fw   sshconf.Forward
	mctx context.Context // the master's: once it ends, so does the connection
	port uint32          // allocated remote port
}

// cancelTimeout bounds the server's answer to cancelling a remote forward.
const cancelTimeout = 5 * time.Second

func (f *fwdEntry) close() error {
	if f.f != nil {
		return f.f.Close()
	}
	if f.rf != nil && f.mctx.Err() == nil {
		ctx, cancel := context.WithTimeout(f.mctx, cancelTimeout)
		defer cancel()
		return f.rf.CancelRemote(ctx, f.fw)
	}
	return nil
}

func fwdKey(q *Forward) Forward {
	k := *q
	k.ID = 0
	return k
}

// toSSHConf turns a mux forward into what package forward starts.
func toSSHConf(q *Forward) (sshconf.Forward, error) {
	var fw sshconf.Forward
	switch q.Kind {
	case FwdLocal:
		fw.Kind = sshconf.Local
	case FwdRemote:
		fw.Kind = sshconf.Remote
	case FwdDynamic:
		fw.Kind = sshconf.Dynamic
	default:
		return fw, errInvalidForward
	}
	if q.ListenPort == PortStreamLocal {
		if q.Kind == FwdDynamic {
			return fw, errInvalidForward
		}
		fw.ListenPath = q.ListenHost
	} else {
		if q.ListenPort > 65535 {
			return fw, errInvalidForward
		}
		fw.ListenPort = int(q.ListenPort)
		if q.ListenHost != "" {
			fw.HasListenHost = true
			fw.ListenHost = q.ListenHost
			if q.ListenHost == "*" {
				fw.ListenHost = ""
			}
		}
	}
	if q.Kind == FwdDynamic {
		return fw, nil
	}
	if q.Kind == FwdRemote && q.ConnectHost == "" && q.ConnectPort == 0 {
		// -R [bind:]port: SOCKS, connecting from the client's side.
		fw.Kind = sshconf.RemoteDynamic
		return fw, nil
	}
	if q.ConnectPort == PortStreamLocal {
		fw.ConnectPath = q.ConnectHost
	} else {
		if q.ConnectPort > 65535 || (q.Kind == FwdLocal && q.ConnectPort == 0) || q.ConnectHost == "" {
			return fw, errInvalidForward
		}
		fw.ConnectHost, fw.ConnectPort = q.ConnectHost, int(q.ConnectPort)
	}
	return fw, nil
}

func describeFwd(q *Forward) string {
	side := func(h string, p uint32) string {
		if p == PortStreamLocal {
			return h
		}
		if h == "" {
			h = "LOCALHOST"
		}
		return h + ":" + strconv.Itoa(int(p))
	}
	switch q.Kind {
	case FwdLocal:
		return "local forward " + side(q.ListenHost, q.ListenPort) + " -> " + side(q.ConnectHost, q.ConnectPort)
	case FwdDynamic:
		return "dynamic forward " + side(q.ListenHost, q.ListenPort) + " -> *"
	default:
		return "remote forward " + side(q.ListenHost, q.ListenPort) + " -> " + side(q.ConnectHost, q.ConnectPort)
	}
}

func (c *ctlConn) findForward(k Forward) (*fwdEntry, bool) {
	c.mu.Lock()
	for _, f := range c.fwds {
		if f.key == k {
			c.mu.Unlock()
			return f, true
		}
	}
	c.mu.Unlock()
	m := c.m
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, f := range m.fwds {
		if f.key == k {
			return f, false
		}
	}
	return nil, false
}

func (c *ctlConn) openForward(q *Forward) Message {
	m := c.m
	fw, err := toSSHConf(q)
	if err != nil {
		return &Refusal{ID: q.ID, Reason: err.Error()}
	}
	desc := describeFwd(q)
	k := fwdKey(q)
	if f, _ := c.findForward(k); f != nil {
		if q.Kind == FwdRemote && q.ListenPort == 0 {
			return &RemotePort{ID: q.ID, Port: f.port}
		}
		return &Request{Kind: MsgOK, ID: q.ID}
	}
	if !c.ask("Open %s on %s?", desc, m.cfg.Host) {
		return &Refusal{Denied: true, ID: q.ID, Reason: "Permission denied"}
	}
	e := &fwdEntry{key: k, desc: desc, fw: fw, mctx: m.ctx}
	var addr net.Addr
	if q.Kind == FwdRemote {
		// One forwarder takes every forwarded channel of the connection,
		// so remote forwards share it; each is cancelled on its own.
		m.mu.Lock()
		if m.remote == nil {
			m.remote = forward.New(m.cfg.Client, m.forwardOptions())
		}
		e.rf = m.remote
		m.mu.Unlock()
		addr, err = e.rf.Start(m.ctx, fw)
	} else {
		e.f = forward.New(m.cfg.Client, m.forwardOptions())
		addr, err = e.f.Start(m.ctx, fw)
		if err != nil {
			e.f.Close()
		}
	}
	if err != nil {
		m.log.Debugf("requested %s failed: %v", desc, err)
		return &Refusal{ID: q.ID, Reason: forwardFailure(q, err)}
	}
	m.log.Debugf("control client pid %d: %s", c.pid, desc)
	c.mu.Lock()
	c.fwds = append(c.fwds, e)
	c.mu.Unlock()
	if q.Kind == FwdRemote && q.ListenPort == 0 {
		if addr != nil {
			_, p, _ := net.SplitHostPort(addr.String())
			n, _ := strconv.Atoi(p)
			e.port = uint32(n)
		}
		return &RemotePort{ID: q.ID, Port: e.port}
	}
	return &Request{Kind: MsgOK, ID: q.ID}
}

// forwardFailure words a failed forward for MUX_S_FAILURE: a remote one
// as OpenSSH's master does ("remote port forwarding failed for listen
// port N"), a local one with the reason, which OpenSSH's master keeps to
// itself ("Port forwarding failed").
func forwardFailure(q *Forward, err error) string {
	if q.Kind == FwdRemote && errors.Is(err, forward.ErrRefused) {
		if q.ListenPort == PortStreamLocal {
			return "remote port forwarding failed for listen path " + q.ListenHost
		}
		return "remote port forwarding failed for listen port " + strconv.Itoa(int(q.ListenPort))
	}
	return "Port forwarding failed: " + err.Error()
}

func (c *ctlConn) closeForward(q *Forward) Message {
	m := c.m
	k := fwdKey(q)
	k.Close = false
	f, own := c.findForward(k)
	if f == nil {
		return &Refusal{ID: q.ID, Reason: "port not forwarded"}
	}
	if err := f.close(); err != nil {
		m.log.Debugf("cancel %s: %v", f.desc, err)
	}
	if own {
		c.mu.Lock()
		c.fwds = remove(c.fwds, f)
		c.mu.Unlock()
	} else {
		m.mu.Lock()
		m.fwds = remove(m.fwds, f)
		m.mu.Unlock()
	}
	return &Request{Kind: MsgOK, ID: q.ID}
}

func remove(list []*fwdEntry, f *fwdEntry) []*fwdEntry {
	out := list[:0]
	for _, x := range list {
		if x != f {
			out = append(out, x)
		}
	}
	return out
}
