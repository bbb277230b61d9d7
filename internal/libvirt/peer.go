package libvirt

// The compressed console (Compress "zstd"): a copy of jumpgate on the
// hypervisor connects to the display and compresses what it sends with
// zstd, one flushed block per message; the local end does the same for
// the viewer's side. Each connection the viewer opens (Spice opens one
// per channel) gets an exec channel running the far peer:
//
//	viewer ⇄ local socket ⇄ zstream ⇄ exec channel ⇄ zstream ⇄ peer ⇄ display

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"

	"github.com/jumpgate/jumpgate/internal/rawio"
	"github.com/jumpgate/jumpgate/internal/remotebin"
	"github.com/jumpgate/jumpgate/internal/shquote"
	"github.com/jumpgate/jumpgate/internal/sshwire"
	"github.com/jumpgate/jumpgate/internal/vlog"
	"github.com/jumpgate/jumpgate/internal/zstream"
)

// PeerFlag is the hidden flag of `jumpgate console` that runs the far peer
// on the display address that follows it.
const PeerFlag = "--serve-peer"

// peerAddr names a display as the far peer dials it: unix:PATH or
// tcp:HOST:PORT.
func peerAddr(d Display) string {
	if d.Network == "unix" {
		return "unix:" + d.Address
	}
	return "tcp:" + d.Address
}

// ServePeer is the far peer: it connects to the display at addr
// (unix:PATH or tcp:HOST:PORT) and carries it over in and out,
// compressed both ways, until either side ends.
func ServePeer(ctx context.Context, addr string, in io.Reader, out io.Writer) error {
	network, a, ok := strings.Cut(addr, ":")
	if !ok || network != "unix" && network != "tcp" {
		return fmt.Errorf("console peer: address %q: want unix:PATH or tcp:HOST:PORT", addr)
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, network, a)
	if err != nil {
		return fmt.Errorf("console peer: %w", err)
	}
	return splice(rawio.NewConn(c), in, out)
}

// splice carries c compressed over (in, out) until either direction ends,
// then closes c.
func splice(c net.Conn, in io.Reader, out io.Writer) error {
	defer c.Close()
	errs := make(chan error, 2)
	go func() {
		_, err := zstream.Compress(out, c)
		if cw, ok := out.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		} else if wc, ok := out.(io.Closer); ok {
			wc.Close()
		}
		errs <- err
	}()
	go func() {
		_, err := zstream.Decompress(c, in)
		if uc, ok := c.(interface{ CloseWrite() error }); ok {
			uc.CloseWrite()
		}
		errs <- err
	}()
	err := <-errs
	c.Close() // the other direction ends too
	if err2 := <-errs; err == nil {
		err = err2
	}
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

// serveCompressed accepts the viewer's connections on ln and carries each
// to the display through a far peer, until ln is closed.
func serveCompressed(ctx context.Context, c sshwire.Conn, ln net.Listener, helper string, d Display, log *vlog.Logger, errw io.Writer) {
	cmd := "exec " + shquote.Quote(helper) + " console " + PeerFlag + " " + shquote.Quote(peerAddr(d))
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		vc, err := ln.Accept()
		if err != nil {
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := peerConn(ctx, c, vc, cmd, errw); err != nil && ctx.Err() == nil {
				log.Debugf("console: compressed connection: %v", err)
			}
		}()
	}
}

func peerConn(ctx context.Context, c sshwire.Conn, vc net.Conn, cmd string, errw io.Writer) error {
	defer vc.Close()
	s, err := sshwire.NewSession(ctx, c)
	if err != nil {
		return fmt.Errorf("open session: %w", err)
	}
	defer s.Close()
	stop := context.AfterFunc(ctx, func() { s.Close() })
	defer stop()
	in, err := s.StdinPipe()
	if err != nil {
		return err
	}
	out, err := s.StdoutPipe()
	if err != nil {
		return err
	}
	s.Stderr = errw
	if err := s.Start(cmd); err != nil {
		return fmt.Errorf("start console peer: %w", err)
	}
	err = splice(rawio.NewConn(vc), out, in)
	s.Close()
	return err
}

// installPeer puts this jumpgate on the hypervisor for the peer.
func installPeer(ctx context.Context, c sshwire.Conn, binary string, announce io.Writer) (string, error) {
	if binary == "" {
		exe, err := os.Executable()
		if err != nil {
			return "", err
		}
		binary = exe
	}
	return remotebin.Install(ctx, c, binary, announce)
}
