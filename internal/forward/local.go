package forward

// Local and dynamic forwards: we listen (TCP or a Unix socket), and each
// accepted connection opens a direct-tcpip or direct-streamlocal@openssh.com
// channel (RFC 4254 7.2, OpenSSH PROTOCOL 2.4).

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/jumpgate/jumpgate/internal/rawio"
	"github.com/jumpgate/jumpgate/internal/sshconf"
	"github.com/jumpgate/jumpgate/internal/sshwire"
)

type directTCPIPMsg struct {
	Host     string
	Port     uint32
	OrigHost string
	OrigPort uint32
}

type directStreamlocalMsg struct {
	Path      string
	Reserved  string
	Reserved2 uint32
}

// localBindAddrs are the addresses a local forward listens on, as
// OpenSSH's channel_fwd_bind_addr decides for a client: no bind address
// means loopback unless GatewayPorts; "" and "*" mean every address;
// "localhost" means loopback.
func localBindAddrs(fw sshconf.Forward, gatewayPorts bool) []string {
	loopback := []string{"127.0.0.1", "::1"}
	switch {
	case !fw.HasListenHost && gatewayPorts:
		return []string{""}
	case !fw.HasListenHost:
		return loopback
	case fw.ListenHost == "" || fw.ListenHost == "*":
		return []string{""}
	case fw.ListenHost == "localhost":
		return loopback
	}
	return []string{fw.ListenHost}
}

func (f *Forwarder) startLocal(fw sshconf.Forward) (net.Addr, error) {
	var lns []net.Listener
	if fw.ListenPath != "" {
		ln, err := f.listenUnix(fw.ListenPath)
		if err != nil {
			return nil, err
		}
		lns = append(lns, ln)
	} else {
		// As ssh(1), the forward is up if any address could be bound;
		// the others are reported.
		var errs []error
		for _, a := range localBindAddrs(fw, f.o.GatewayPorts) {
			ln, err := net.Listen("tcp", hostPort(a, fw.ListenPort))
			if err != nil {
				if a == "::1" && errors.Is(err, syscall.EADDRNOTAVAIL) {
					continue // no IPv6 here
				}
				errs = append(errs, fmt.Errorf("bind [%s]:%d: %s", a, fw.ListenPort, sysErrText(err)))
				continue
			}
			lns = append(lns, ln)
		}
		if len(lns) == 0 {
			if len(errs) == 0 {
				return nil, fmt.Errorf("cannot listen to port: %d", fw.ListenPort)
			}
			return nil, errors.Join(errs...)
		}
		for _, err := range errs {
			f.o.Log.Errorf("%v", err)
		}
	}
	for _, ln := range lns {
		if !f.track(ln) {
			return nil, net.ErrClosed
		}
		f.spawn(func() { f.acceptLoop(ln, fw) })
	}
	return lns[0].Addr(), nil
}

// listenUnix listens on path with the permissions StreamLocalBindMask
// allows. The socket is made in a private directory beside path, given
// its mode and then linked into place, so that it is never reachable with
// looser permissions; an existing file is an error unless BindUnlink.
func (f *Forwarder) listenUnix(path string) (net.Listener, error) {
	if f.o.BindUnlink {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("unlink %s: %s", path, sysErrText(err))
		}
	}
	dir, err := os.MkdirTemp(filepath.Dir(path), ".jumpgate-bind-")
	if err != nil {
		return nil, fmt.Errorf("cannot bind to path %s: %s", path, sysErrText(err))
	}
	defer os.RemoveAll(dir)
	tmp := filepath.Join(dir, "s")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmp, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("cannot bind to path %s: %s", path, sysErrText(err))
	}
	ln.SetUnlinkOnClose(false)
	if err := os.Chmod(tmp, 0o777&^f.o.BindMask); err != nil {
		ln.Close()
		return nil, fmt.Errorf("cannot bind to path %s: %s", path, sysErrText(err))
	}
	if err := os.Link(tmp, path); err != nil {
		ln.Close()
		if errors.Is(err, os.ErrExist) {
			err = syscall.EADDRINUSE
		}
		return nil, fmt.Errorf("cannot bind to path %s: %s", path, sysErrText(err))
	}
	return &unixListener{UnixListener: ln, path: path}, nil
}

// unixListener removes its socket file when closed, as ssh(1) does.
type unixListener struct {
	*net.UnixListener
	path string
}

func (l *unixListener) Close() error {
	err := l.UnixListener.Close()
	os.Remove(l.path)
	return err
}

func (l *unixListener) Addr() net.Addr { return &net.UnixAddr{Name: l.path, Net: "unix"} }

func (f *Forwarder) acceptLoop(ln net.Listener, fw sshconf.Forward) {
	defer f.untrack(ln)
	for {
		c, err := ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return
		}
		c = rawio.NewConn(c) // see rawio: no scheduler bookkeeping per read
		if !f.track(c) {
			return
		}
		if !f.spawn(func() {
			defer f.untrack(c)
			if fw.Kind == sshconf.Dynamic {
				f.serveSOCKS(asHalf(c), f.dialRemote)
				return
			}
			f.forwardLocal(c, fw)
		}) {
			c.Close()
			return
		}
	}
}

// forwardLocal joins an accepted connection to a new channel to the
// forward's target.
func (f *Forwarder) forwardLocal(c net.Conn, fw sshconf.Forward) {
	var (
		ch  halfConn
		err error
	)
	if fw.ConnectPath != "" {
		ch, err = f.openStreamlocal(fw.ConnectPath)
	} else {
		ch, err = f.openDirect(fw.ConnectHost, fw.ConnectPort, c.RemoteAddr())
	}
	if err != nil {
		f.o.Log.Errorf("channel %d: open failed: %s", f.channelID(), openFailure(err))
		c.Close()
		return
	}
	join(asHalf(c), ch)
}

// dialRemote is how dynamic forwards reach their targets: a direct-tcpip
// channel whose host the server resolves.
func (f *Forwarder) dialRemote(host string, port int, from net.Addr) (halfConn, error) {
	return f.openDirect(host, port, from)
}

func (f *Forwarder) openDirect(host string, port int, from net.Addr) (halfConn, error) {
	m := directTCPIPMsg{Host: host, Port: uint32(port), OrigHost: "127.0.0.1"}
	if ta, ok := from.(*net.TCPAddr); ok {
		m.OrigHost, m.OrigPort = ta.IP.String(), uint32(ta.Port)
	}
	return f.open("direct-tcpip", ssh.Marshal(&m))
}

func (f *Forwarder) openStreamlocal(path string) (halfConn, error) {
	return f.open("direct-streamlocal@openssh.com", ssh.Marshal(&directStreamlocalMsg{Path: path}))
}

func (f *Forwarder) open(typ string, payload []byte) (halfConn, error) {
	ch, reqs, err := f.c.OpenChannel(context.Background(), typ, payload)
	if err != nil {
		return nil, err
	}
	go sshwire.DiscardRequests(reqs) // ends when the channel closes
	return ch, nil
}

// sysErrText words an error as strerror(3) does: "Address already in use".
func sysErrText(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		s := errno.Error()
		if s != "" && s[0] >= 'a' && s[0] <= 'z' {
			return string(s[0]-'a'+'A') + s[1:]
		}
		return s
	}
	return err.Error()
}
