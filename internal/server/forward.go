package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/jumpgate/jumpgate/internal/sshwire"
)

// Payloads of RFC 4254 section 7 and OpenSSH PROTOCOL section 2.4.
type (
	directTCPIPMsg struct {
		Host     string
		Port     uint32
		OrigAddr string
		OrigPort uint32
	}
	tcpipForwardMsg struct {
		Addr string
		Port uint32
	}
	tcpipForwardReply    struct{ Port uint32 }
	directStreamlocalMsg struct {
		Path      string
		Reserved0 string
		Reserved1 uint32
	}
	streamlocalForwardMsg   struct{ Path string }
	forwardedStreamlocalMsg struct {
		Path     string
		Reserved string
	}
)

const dialTimeout = 10 * time.Second

func (c *Conn) directTCPIP(ctx context.Context, nch sshwire.NewChannel) {
	var m directTCPIPMsg
	if err := ssh.Unmarshal(nch.ExtraData(), &m); err != nil {
		nch.Reject(sshwire.ConnectionFailed, "bad direct-tcpip request")
		return
	}
	target := net.JoinHostPort(m.Host, strconv.Itoa(int(m.Port)))
	log := c.Log.With("target", target)
	if !c.Perms.AllowsOpen(m.Host, int(m.Port)) {
		log.Warn("direct-tcpip refused by authorized_keys options")
		nch.Reject(sshwire.Prohibited, "administratively prohibited: open failed")
		return
	}
	d := net.Dialer{Timeout: dialTimeout}
	conn, err := d.DialContext(ctx, "tcp", target)
	if err != nil {
		log.Warn("direct-tcpip failed", "err", err)
		nch.Reject(sshwire.ConnectionFailed, "connect failed: "+err.Error())
		return
	}
	log.Info("direct-tcpip")
	c.accept(nch, conn)
}

// mayTouchUnixSockets: a root server serving another user would create or
// connect to sockets with root's rights on the user's behalf; refuse that
// rather than hand out root's access.
func (c *Conn) mayTouchUnixSockets() bool {
	return os.Getuid() != 0 || c.User.UID == 0
}

func (c *Conn) directStreamlocal(ctx context.Context, nch sshwire.NewChannel) {
	var m directStreamlocalMsg
	if err := ssh.Unmarshal(nch.ExtraData(), &m); err != nil {
		nch.Reject(sshwire.ConnectionFailed, "bad direct-streamlocal request")
		return
	}
	log := c.Log.With("target", m.Path)
	if c.Perms.NoPortForwarding || !c.mayTouchUnixSockets() {
		log.Warn("direct-streamlocal refused")
		nch.Reject(sshwire.Prohibited, "administratively prohibited: open failed")
		return
	}
	d := net.Dialer{Timeout: dialTimeout}
	conn, err := d.DialContext(ctx, "unix", m.Path)
	if err != nil {
		log.Warn("direct-streamlocal failed", "err", err)
		nch.Reject(sshwire.ConnectionFailed, "connect failed: "+err.Error())
		return
	}
	log.Info("direct-streamlocal")
	c.accept(nch, conn)
}

func (c *Conn) accept(nch sshwire.NewChannel, conn net.Conn) {
	ch, reqs, err := nch.Accept()
	if err != nil {
		conn.Close()
		return
	}
	go sshwire.DiscardRequests(reqs)
	pipe(ch, conn.(halfCloser)) // *net.TCPConn or *net.UnixConn
}

// halfCloser is a stream that can signal EOF while still reading.
type halfCloser interface {
	io.ReadWriteCloser
	CloseWrite() error
}

// pipe copies both ways, passing each EOF on as a half-close, and closes
// both ends when both directions are done.
func pipe(a, b halfCloser) {
	var wg sync.WaitGroup
	one := func(dst, src halfCloser) {
		defer wg.Done()
		io.Copy(dst, src)
		dst.CloseWrite()
	}
	wg.Add(2)
	go one(a, b)
	go one(b, a)
	wg.Wait()
	a.Close()
	b.Close()
}

func bindAddr(addr string) string {
	// GatewayPorts=no, sshd's default: remote forwards listen on loopback.
	switch addr {
	case "::1", "[::1]":
		return "::1"
	}
	return "127.0.0.1"
}

func (c *Conn) tcpipForward(ctx context.Context, r *sshwire.Request) {
	var m tcpipForwardMsg
	if err := ssh.Unmarshal(r.Payload, &m); err != nil || m.Port > 65535 {
		r.Reply(false, nil)
		return
	}
	log := c.Log.With("listen", net.JoinHostPort(m.Addr, strconv.Itoa(int(m.Port))))
	if !c.Perms.AllowsListen(m.Addr, int(m.Port)) {
		log.Warn("tcpip-forward refused by authorized_keys options")
		r.Reply(false, nil)
		return
	}
	if m.Port != 0 && m.Port < 1024 && c.User.UID != 0 {
		log.Warn("tcpip-forward refused: privileged port")
		r.Reply(false, nil)
		return
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", net.JoinHostPort(bindAddr(m.Addr), strconv.Itoa(int(m.Port))))
	if err != nil {
		log.Warn("tcpip-forward failed", "err", err)
		r.Reply(false, nil)
		return
	}
	port := uint32(ln.Addr().(*net.TCPAddr).Port)
	key := net.JoinHostPort(m.Addr, strconv.Itoa(int(port)))
	if !c.addForward(key, ln) {
		ln.Close()
		r.Reply(false, nil)
		return
	}
	var reply []byte
	if m.Port == 0 {
		reply = ssh.Marshal(tcpipForwardReply{port})
	}
	r.Reply(true, reply)
	log.Info("tcpip-forward", "port", port)
	c.wg.Go(func() {
		c.serveForward(ln, func(conn net.Conn) (string, []byte) {
			oa, _ := conn.RemoteAddr().(*net.TCPAddr)
			var op int
			var oh string
			if oa != nil {
				oh, op = oa.IP.String(), oa.Port
			}
			return "forwarded-tcpip", ssh.Marshal(directTCPIPMsg{Host: m.Addr, Port: port, OrigAddr: oh, OrigPort: uint32(op)})
		})
	})
}

func (c *Conn) cancelTCPIPForward(r *sshwire.Request) {
	var m tcpipForwardMsg
	if err := ssh.Unmarshal(r.Payload, &m); err != nil {
		r.Reply(false, nil)
		return
	}
	ok := c.removeForward(net.JoinHostPort(m.Addr, strconv.Itoa(int(m.Port))))
	c.Log.Info("cancel-tcpip-forward", "listen", net.JoinHostPort(m.Addr, strconv.Itoa(int(m.Port))), "found", ok)
	r.Reply(ok, nil)
}

func (c *Conn) streamlocalForward(ctx context.Context, r *sshwire.Request) {
	var m streamlocalForwardMsg
	if err := ssh.Unmarshal(r.Payload, &m); err != nil {
		r.Reply(false, nil)
		return
	}
	log := c.Log.With("listen", m.Path)
	if c.Perms.NoPortForwarding || !c.mayTouchUnixSockets() {
		log.Warn("streamlocal-forward refused")
		r.Reply(false, nil)
		return
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "unix", m.Path)
	if err != nil {
		log.Warn("streamlocal-forward failed", "err", err)
		r.Reply(false, nil)
		return
	}
	if !c.addForward("unix:"+m.Path, ln) {
		ln.Close()
		r.Reply(false, nil)
		return
	}
	r.Reply(true, nil)
	log.Info("streamlocal-forward")
	c.wg.Go(func() {
		c.serveForward(ln, func(net.Conn) (string, []byte) {
			return "forwarded-streamlocal@openssh.com", ssh.Marshal(forwardedStreamlocalMsg{Path: m.Path})
		})
	})
}

func (c *Conn) cancelStreamlocalForward(r *sshwire.Request) {
	var m streamlocalForwardMsg
	if err := ssh.Unmarshal(r.Payload, &m); err != nil {
		r.Reply(false, nil)
		return
	}
	ok := c.removeForward("unix:" + m.Path)
	c.Log.Info("cancel-streamlocal-forward", "listen", m.Path, "found", ok)
	r.Reply(ok, nil)
}

// serveForward accepts on ln until it is closed and opens a channel back
// to the client for each connection.
func (c *Conn) serveForward(ln net.Listener, open func(net.Conn) (string, []byte)) {
	for {
		conn, err := ln.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				c.Log.Warn("forward accept", "err", err)
			}
			return
		}
		c.wg.Go(func() {
			typ, payload := open(conn)
			if err := c.openPipe(typ, payload, conn); err != nil {
				c.Log.Warn("forward", "err", err)
			}
		})
	}
}

// openPipe opens a channel to the client and pipes conn through it.
func (c *Conn) openPipe(typ string, payload []byte, conn net.Conn) error {
	ch, reqs, err := c.OpenChannel(context.Background(), typ, payload)
	if err != nil {
		conn.Close()
		return fmt.Errorf("open %s channel: %w", typ, err)
	}
	go sshwire.DiscardRequests(reqs)
	pipe(ch, conn.(halfCloser))
	return nil
}
