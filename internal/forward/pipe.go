package forward

import (
	"errors"
	"io"
	"net"
	"sync"

	"github.com/jumpgate/jumpgate/internal/sshio"
	"github.com/jumpgate/jumpgate/internal/sshwire"
)

// halfConn is a connection whose write side can be closed alone: a TCP or
// Unix connection, or an SSH channel (which sends EOF).
type halfConn interface {
	io.ReadWriteCloser
	CloseWrite() error
}

// join copies a to b and b to a until both directions are done. When one
// side reaches EOF, the other side's write half is closed so the peer
// sees EOF too and may still answer; an error in either direction closes
// both connections. Both are closed when join returns.
func join(a, b halfConn) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		copyHalf(b, a)
	}()
	copyHalf(a, b)
	wg.Wait()
	a.Close()
	b.Close()
}

// copyHalf copies src to dst; on EOF it half-closes dst, on error it
// closes both so that the other direction ends too.
func copyHalf(dst, src halfConn) {
	var w io.Writer = dst
	if _, ok := dst.(sshwire.Channel); ok {
		w = sshio.ChannelWriter{W: dst}
	}
	_, err := sshio.Copy(w, src)
	if err != nil && !errors.Is(err, net.ErrClosed) {
		dst.Close()
		src.Close()
		return
	}
	if err != nil {
		dst.Close()
		return
	}
	if dst.CloseWrite() != nil {
		dst.Close()
		src.Close()
	}
}

// asHalf returns c as a halfConn; connections without CloseWrite close
// fully instead.
func asHalf(c net.Conn) halfConn {
	if h, ok := c.(halfConn); ok {
		return h
	}
	return fullCloser{c}
}

type fullCloser struct{ net.Conn }

func (c fullCloser) CloseWrite() error { return c.Close() }
