package forward

// Remote forwards: the server listens (tcpip-forward, RFC 4254 7.1;
// streamlocal-forward@openssh.com, OpenSSH PROTOCOL 2.4) and opens a
// forwarded-tcpip or forwarded-streamlocal@openssh.com channel for each
// connection, which we join to a local connection, or serve as SOCKS for
// the -R [bind:]port form.

import (
	"context"
	"errors"
	"net"
	"strconv"

	"golang.org/x/crypto/ssh"

	"github.com/jumpgate/jumpgate/internal/sshconf"
	"github.com/jumpgate/jumpgate/internal/sshwire"
)

type tcpipForwardMsg struct {
	Addr string
	Port uint32
}

type tcpipForwardReply struct{ Port uint32 }

type streamlocalForwardMsg struct{ Path string }

type forwardedTCPIPMsg struct {
	Addr     string
	Port     uint32
	OrigAddr string
	OrigPort uint32
}

type forwardedStreamlocalMsg struct {
	Path     string
	Reserved string
}

// remote is a forward the server listens for.
type remote struct {
	fw   sshconf.Forward
	host string // the bind address as sent
	port int    // as allocated
}

// ErrRefused is a remote forward the server declined.
var ErrRefused = errors.New("remote port forwarding failed")

// remoteBindHost is OpenSSH's channel_rfwd_bind_host: no bind address is
// "localhost", "" and "*" are every address (the server's GatewayPorts
// decides).
func remoteBindHost(fw sshconf.Forward) string {
	switch {
	case !fw.HasListenHost:
		return "localhost"
	case fw.ListenHost == "*":
		return ""
	}
	return fw.ListenHost
}

func (f *Forwarder) startRemote(ctx context.Context, fw sshconf.Forward) (net.Addr, error) {
	f.handleOnce.Do(func() {
		for _, typ := range []string{"forwarded-tcpip", "forwarded-streamlocal@openssh.com"} {
			if chans := f.c.HandleChannelOpen(typ); chans != nil {
				go f.acceptChannels(chans) // ends when the connection does
			}
		}
	})
	r := &remote{fw: fw}
	var (
		ok    bool
		reply []byte
		err   error
		addr  net.Addr
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if fw.ListenPath != "" {
			ok, _, err = f.c.SendRequest(context.Background(), "streamlocal-forward@openssh.com", true, ssh.Marshal(&streamlocalForwardMsg{fw.ListenPath}))
			addr = &net.UnixAddr{Name: fw.ListenPath, Net: "unix"}
			return
		}
		r.host, r.port = remoteBindHost(fw), fw.ListenPort
		ok, reply, err = f.c.SendRequest(context.Background(), "tcpip-forward", true, ssh.Marshal(&tcpipForwardMsg{r.host, uint32(r.port)}))
		if ok && r.port == 0 {
			var m tcpipForwardReply
			if ssh.Unmarshal(reply, &m) != nil || m.Port == 0 {
				ok = false
				return
			}
			r.port = int(m.Port)
		}
		addr = remoteAddr{r.host, r.port}
	}()
	select {
	case <-done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrRefused
	}
	f.mu.Lock()
	f.remotes = append(f.remotes, r)
	f.mu.Unlock()
	if fw.ListenPath == "" && fw.ListenPort == 0 {
		to := hostPort(fw.ConnectHost, fw.ConnectPort)
		switch {
		case fw.ConnectPath != "":
			to = fw.ConnectPath
		case fw.Kind == sshconf.RemoteDynamic:
			to = "socks:0"
		}
		f.o.Log.Infof("Allocated port %d for remote forward to %s", r.port, to)
	}
	return addr, nil
}

// remoteAddr is an address as the server was asked to bind it, which
// may be a name ("localhost").
type remoteAddr struct {
	host string
	port int
}

func (a remoteAddr) Network() string { return "tcp" }
func (a remoteAddr) String() string  { return net.JoinHostPort(a.host, strconv.Itoa(a.port)) }

// acceptChannels serves the channels the server opens for remote
// forwards, finding each one's forward by the address it came in on.
func (f *Forwarder) acceptChannels(chans <-chan sshwire.NewChannel) {
	for nc := range chans {
		r, from, ok := f.lookupRemote(nc)
		if !ok {
			nc.Reject(sshwire.Prohibited, "unknown forward")
			continue
		}
		if !f.spawn(func() { f.serveRemote(nc, r, from) }) {
			nc.Reject(sshwire.Prohibited, "forwarding stopped")
		}
	}
}

func (f *Forwarder) lookupRemote(nc sshwire.NewChannel) (*remote, net.Addr, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if nc.ChannelType() == "forwarded-streamlocal@openssh.com" {
		var m forwardedStreamlocalMsg
		if ssh.Unmarshal(nc.ExtraData(), &m) != nil {
			return nil, nil, false
		}
		for _, r := range f.remotes {
			if r.fw.ListenPath == m.Path {
				return r, &net.UnixAddr{Name: m.Path, Net: "unix"}, true
			}
		}
		return nil, nil, false
	}
	var m forwardedTCPIPMsg
	if ssh.Unmarshal(nc.ExtraData(), &m) != nil {
		return nil, nil, false
	}
	from := remoteAddr{m.OrigAddr, int(m.OrigPort)}
	var byPort *remote
	for _, r := range f.remotes {
		if r.fw.ListenPath != "" || r.port != int(m.Port) {
			continue
		}
		if r.host == m.Addr {
			return r, from, true
		}
		byPort = r
	}
	return byPort, from, byPort != nil
}

// serveRemote connects a forwarded channel to its local target, or
// serves SOCKS on it.
func (f *Forwarder) serveRemote(nc sshwire.NewChannel, r *remote, from net.Addr) {
	fw := r.fw
	if fw.Kind == sshconf.RemoteDynamic {
		ch, reqs, err := nc.Accept()
		if err != nil {
			return
		}
		go sshwire.DiscardRequests(reqs)
		if !f.track(ch) {
			return
		}
		defer f.untrack(ch)
		f.serveSOCKS(ch, f.dialLocal)
		return
	}
	network, addr := "tcp", hostPort(fw.ConnectHost, fw.ConnectPort)
	if fw.ConnectPath != "" {
		network, addr = "unix", fw.ConnectPath
	}
	c, err := f.o.Dial(f.ctx, network, addr)
	if err != nil {
		f.o.Log.Errorf("connect_to %s: unknown host or connection refused (%s)", addr, sysErrText(err))
		nc.Reject(sshwire.ConnectionFailed, sysErrText(err))
		return
	}
	ch, reqs, err := nc.Accept()
	if err != nil {
		c.Close()
		return
	}
	go sshwire.DiscardRequests(reqs)
	if !f.track(c) {
		ch.Close()
		return
	}
	defer f.untrack(c)
	join(asHalf(c), ch)
}

// errOpenDenied is a SOCKS target that PermitRemoteOpen refuses.
var errOpenDenied = errors.New("administratively prohibited")

// dialLocal is how the SOCKS form of remote forwards reaches targets:
// from this host.
func (f *Forwarder) dialLocal(host string, port int, _ net.Addr) (halfConn, error) {
	if !f.o.permitted(host, port) {
		f.o.Log.Infof("Received request to connect to host %s port %d, but the request was denied.", host, port)
		return nil, errOpenDenied
	}
	c, err := f.o.Dial(f.ctx, "tcp", hostPort(host, port))
	if err != nil {
		return nil, err
	}
	h := asHalf(c)
	if !f.track(h) {
		return nil, net.ErrClosed
	}
	return untrackOnClose{h, f}, nil
}

type untrackOnClose struct {
	halfConn
	f *Forwarder
}

func (u untrackOnClose) Close() error {
	u.f.untrack(u.halfConn)
	return u.halfConn.Close()
}
