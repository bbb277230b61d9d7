package forward

// A small SOCKS server for dynamic forwards: SOCKS4 (RFC-less, the NEC
// protocol), SOCKS4a (a host name instead of an address) and SOCKS5 (RFC
// 1928, CONNECT with no authentication). Names are not resolved here: they
// travel in the direct-tcpip request and the far side resolves them.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"time"
)

// socksTimeout bounds the handshake, so that an idle client cannot hold a
// connection open forever without asking for anything.
const socksTimeout = 30 * time.Second

// Request is a parsed SOCKS CONNECT request.
type socksRequest struct {
	Version byte   // 4 or 5
	Host    string // an IP address or, for 4a and 5, a name
	Port    int
}

var errSOCKS = errors.New("bad socks request")

// readSOCKS reads one SOCKS request from rw, answering SOCKS5's method
// negotiation on the way. It reads exactly the request's bytes, so that
// data a client sends straight after it is forwarded, and answers
// requests it cannot serve (another command, an address type it does not
// know) with a failure reply before returning an error.
func readSOCKS(rw io.ReadWriter) (*socksRequest, error) {
	var b [1]byte
	if _, err := io.ReadFull(rw, b[:]); err != nil {
		return nil, err
	}
	switch b[0] {
	case 4:
		return readSOCKS4(rw)
	case 5:
		return readSOCKS5(rw)
	}
	return nil, fmt.Errorf("%w: version %d", errSOCKS, b[0])
}

func readSOCKS4(rw io.ReadWriter) (*socksRequest, error) {
	var h [7]byte // command, port, address
	if _, err := io.ReadFull(rw, h[:]); err != nil {
		return nil, err
	}
	if _, err := readCString(rw, 256); err != nil { // user ID, ignored
		return nil, err
	}
	q := &socksRequest{Version: 4, Port: int(binary.BigEndian.Uint16(h[1:3]))}
	ip := netip.AddrFrom4([4]byte(h[3:7]))
	if h[3] == 0 && h[4] == 0 && h[5] == 0 && h[6] != 0 { // SOCKS4a
		name, err := readCString(rw, 255)
		if err != nil {
			return nil, err
		}
		q.Host = name
	} else {
		q.Host = ip.String()
	}
	if h[0] != 1 {
		q.reply(rw, false)
		return nil, fmt.Errorf("%w: socks4 command %d", errSOCKS, h[0])
	}
	if q.Host == "" {
		q.reply(rw, false)
		return nil, fmt.Errorf("%w: empty host", errSOCKS)
	}
	return q, nil
}

// readCString reads a NUL-terminated string of at most max bytes.
func readCString(r io.Reader, max int) (string, error) {
	var buf []byte
	var b [1]byte
	for {
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return "", err
		}
		if b[0] == 0 {
			return string(buf), nil
		}
		if len(buf) >= max {
			return "", fmt.Errorf("%w: string too long", errSOCKS)
		}
		buf = append(buf, b[0])
	}
}

func readSOCKS5(rw io.ReadWriter) (*socksRequest, error) {
	var n [1]byte
	if _, err := io.ReadFull(rw, n[:]); err != nil {
		return nil, err
	}
	methods := make([]byte, n[0])
	if _, err := io.ReadFull(rw, methods); err != nil {
		return nil, err
	}
	noAuth := false
	for _, m := range methods {
		noAuth = noAuth || m == 0
	}
	if !noAuth {
		rw.Write([]byte{5, 0xff})
		return nil, fmt.Errorf("%w: no acceptable authentication method", errSOCKS)
	}
	if _, err := rw.Write([]byte{5, 0}); err != nil {
		return nil, err
	}
	var h [4]byte // version, command, reserved, address type
	if _, err := io.ReadFull(rw, h[:]); err != nil {
		return nil, err
	}
	q := &socksRequest{Version: 5}
	if h[0] != 5 {
		return nil, fmt.Errorf("%w: version %d in request", errSOCKS, h[0])
	}
	switch h[3] {
	case 1:
		var a [4]byte
		if _, err := io.ReadFull(rw, a[:]); err != nil {
			return nil, err
		}
		q.Host = netip.AddrFrom4(a).String()
	case 4:
		var a [16]byte
		if _, err := io.ReadFull(rw, a[:]); err != nil {
			return nil, err
		}
		q.Host = netip.AddrFrom16(a).String()
	case 3:
		var l [1]byte
		if _, err := io.ReadFull(rw, l[:]); err != nil {
			return nil, err
		}
		name := make([]byte, l[0])
		if _, err := io.ReadFull(rw, name); err != nil {
			return nil, err
		}
		q.Host = string(name)
	default:
		q.replyCode(rw, 8) // address type not supported
		return nil, fmt.Errorf("%w: address type %d", errSOCKS, h[3])
	}
	var p [2]byte
	if _, err := io.ReadFull(rw, p[:]); err != nil {
		return nil, err
	}
	q.Port = int(binary.BigEndian.Uint16(p[:]))
	if h[1] != 1 {
		q.replyCode(rw, 7) // command not supported
		return nil, fmt.Errorf("%w: socks5 command %d", errSOCKS, h[1])
	}
	if q.Host == "" {
		q.replyCode(rw, 1)
		return nil, fmt.Errorf("%w: empty host", errSOCKS)
	}
	return q, nil
}

// reply tells the client whether the connection is made.
func (q *socksRequest) reply(w io.Writer, ok bool) error {
	if q.Version == 4 {
		code := byte(0x5b)
		if ok {
			code = 0x5a
		}
		_, err := w.Write([]byte{0, code, 0, 0, 0, 0, 0, 0})
		return err
	}
	code := byte(5) // connection refused
	if ok {
		code = 0
	}
	return q.replyCode(w, code)
}

func (q *socksRequest) replyCode(w io.Writer, code byte) error {
	_, err := w.Write([]byte{5, code, 0, 1, 0, 0, 0, 0, 0, 0})
	return err
}

func (q *socksRequest) target() string { return net.JoinHostPort(q.Host, strconv.Itoa(q.Port)) }

type deadliner interface{ SetDeadline(time.Time) error }

// serveSOCKS reads a request from c, connects with dial and joins the
// two; a bad request closes c and nothing else.
func (f *Forwarder) serveSOCKS(c halfConn, dial func(host string, port int, from net.Addr) (halfConn, error)) {
	var from net.Addr
	if nc, ok := c.(interface{ RemoteAddr() net.Addr }); ok {
		from = nc.RemoteAddr()
	}
	d, hasDeadline := c.(deadliner)
	if hasDeadline {
		d.SetDeadline(time.Now().Add(socksTimeout))
	}
	q, err := readSOCKS(c)
	if err != nil {
		f.o.Log.Debugf("dynamic forward: %v", err)
		c.Close()
		return
	}
	if hasDeadline {
		d.SetDeadline(time.Time{})
	}
	f.o.Log.Debugf("dynamic forward: socks%d connect to %s", q.Version, q.target())
	t, err := dial(q.Host, q.Port, from)
	if err != nil {
		f.o.Log.Errorf("channel %d: open failed: %s", f.channelID(), openFailure(err))
		q.reply(c, false)
		c.Close()
		return
	}
	if err := q.reply(c, true); err != nil {
		t.Close()
		c.Close()
		return
	}
	join(c, t)
}
