package forward

// X11 forwarding, client side (RFC 4254 6.3; ssh(1)'s -X, -Y): the server
// is sent a fake cookie in x11-req, and each x11 channel it opens is
// joined to the local display once its connection setup carries that fake
// cookie, which is replaced by the real one on the way. With untrusted
// forwarding (-X) the real cookie is one xauth generates for the
// SECURITY extension's untrusted clients, and x11 channels opened after
// ForwardX11Timeout are refused, as OpenSSH does.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/jumpgate/jumpgate/internal/sshwire"
	"github.com/jumpgate/jumpgate/internal/vlog"
)

// X11Options say how to set up X11 forwarding.
type X11Options struct {
	// Display is the local $DISPLAY.
	Display string
	// XAuth is the xauth program (XAuthLocation).
	XAuth string
	// Trusted is -Y (ForwardX11Trusted): the user's own cookie is used.
	Trusted bool
	// Timeout is ForwardX11Timeout for untrusted forwarding; 0 is none.
	Timeout time.Duration
	Log     *vlog.Logger
}

// X11 is prepared X11 forwarding: the display and the two cookies.
type X11 struct {
	display  string
	proto    string
	real     []byte
	fake     []byte
	screen   int
	deadline time.Time // zero: x11 channels are always accepted
	cleanup  func()
}

type x11ReqMsg struct {
	SingleConnection bool
	Proto            string
	Cookie           string
	Screen           uint32
}

type x11ChannelMsg struct {
	OrigAddr string
	OrigPort uint32
}

const mitMagicCookie = "MIT-MAGIC-COOKIE-1"

// x11TimeoutSlack is how much longer than ForwardX11Timeout an untrusted
// cookie lives, so that the X server never accepts a connection ssh
// would refuse (ssh(1)'s X11_TIMEOUT_SLACK).
const x11TimeoutSlack = 60

// ErrX11Refused is the server's refusal of an x11-req.
var ErrX11Refused = errors.New("X11 forwarding request failed")

// ErrInvalidDisplay is returned by [PrepareX11] for a DISPLAY with
// characters ssh(1) refuses to pass to a shell command.
var ErrInvalidDisplay = errors.New("invalid DISPLAY")

// validDisplay is ssh(1)'s client_x11_display_valid: letters, digits and
// ":/.-_" only, since the display ends up on xauth's command line.
func validDisplay(d string) bool {
	if d == "" {
		return false
	}
	for _, c := range d {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune(":/.-_", c)) {
			return false
		}
	}
	return true
}

// PrepareX11 gets the real cookie with xauth (generating an untrusted one
// unless Trusted) and makes a fake one of the same length. Without xauth
// data a trusted setup uses a random cookie, as ssh(1) does; an untrusted
// setup whose cookie cannot be generated is an error.
func PrepareX11(ctx context.Context, o X11Options) (*X11, error) {
	if o.Display == "" {
		return nil, errors.New("X11 forwarding requested but DISPLAY not set")
	}
	if !validDisplay(o.Display) {
		return nil, fmt.Errorf("DISPLAY %q invalid; disabling X11 forwarding: %w", o.Display, ErrInvalidDisplay)
	}
	if o.XAuth == "" {
		o.XAuth = "/usr/bin/xauth"
	}
	x := &X11{display: o.Display, proto: mitMagicCookie, cleanup: func() {}}
	screen := 0
	if i := strings.LastIndexByte(o.Display, ':'); i >= 0 {
		if _, s, ok := strings.Cut(o.Display[i+1:], "."); ok {
			screen, _ = strconv.Atoi(s)
		}
	}
	x.screen = screen
	// xauth knows local displays as unix:N.
	xdisplay := o.Display
	if rest, ok := strings.CutPrefix(xdisplay, "localhost:"); ok {
		xdisplay = "unix:" + rest
	}
	run := func(args ...string) ([]byte, error) {
		o.Log.Debug2f("x11_get_proto: %s %s", o.XAuth, strings.Join(args, " "))
		cmd := exec.CommandContext(ctx, o.XAuth, args...)
		cmd.Stderr = nil
		return cmd.Output()
	}
	if _, err := os.Stat(o.XAuth); err != nil {
		o.Log.Debugf("No xauth program.")
		if !o.Trusted {
			return nil, fmt.Errorf("untrusted X11 forwarding setup failed: xauth key data not generated")
		}
	} else if !o.Trusted {
		dir, err := os.MkdirTemp("", "ssh-xauth-")
		if err != nil {
			return nil, fmt.Errorf("untrusted X11 forwarding setup failed: %w", err)
		}
		x.cleanup = func() { os.RemoveAll(dir) }
		file := filepath.Join(dir, "xauthfile")
		args := []string{"-f", file, "generate", xdisplay, mitMagicCookie, "untrusted"}
		if o.Timeout > 0 {
			// The cookie outlives the timeout a little, as in ssh(1).
			args = append(args, "timeout", strconv.Itoa(int(o.Timeout.Seconds())+x11TimeoutSlack))
			x.deadline = time.Now().Add(o.Timeout)
		}
		if _, err := run(args...); err == nil {
			out, _ := run("-f", file, "list", xdisplay)
			x.proto, x.real = parseXAuthList(out)
		}
		// The cookie is in our hands now; ssh(1) removes the file at once.
		x.cleanup()
		x.cleanup = func() {}
		if x.real == nil {
			return nil, errors.New("untrusted X11 forwarding setup failed: xauth key data not generated")
		}
	} else {
		out, _ := run("list", xdisplay)
		x.proto, x.real = parseXAuthList(out)
	}
	if x.real == nil {
		o.Log.Infof("Warning: No xauth data; using fake authentication data for X11 forwarding.")
		x.proto, x.real = mitMagicCookie, make([]byte, 16)
		rand.Read(x.real)
	}
	x.fake = make([]byte, len(x.real))
	rand.Read(x.fake)
	return x, nil
}

// parseXAuthList reads the first "display proto hexdata" line of xauth
// list; nil if there is none.
func parseXAuthList(out []byte) (string, []byte) {
	line, _, _ := bytes.Cut(out, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 3 {
		return "", nil
	}
	data, err := hex.DecodeString(f[2])
	if err != nil || len(data) == 0 {
		return "", nil
	}
	return f[1], data
}

// Close removes the untrusted cookie's file.
func (x *X11) Close() { x.cleanup() }

// Request asks the server to forward X11 for session s (x11-req).
func (x *X11) Request(s *sshwire.Session) error {
	ok, err := s.SendRequest("x11-req", true, ssh.Marshal(&x11ReqMsg{
		Proto: x.proto, Cookie: hex.EncodeToString(x.fake), Screen: uint32(x.screen)}))
	if err == nil && !ok {
		err = ErrX11Refused
	}
	return err
}

// ServeX11 accepts the x11 channels the server opens and joins each to
// the local display. Call it once per connection, before [X11.Request].
func (f *Forwarder) ServeX11(x *X11) {
	chans := f.c.HandleChannelOpen("x11")
	if chans == nil {
		return
	}
	go func() { // ends when the connection does
		for nc := range chans {
			if !x.deadline.IsZero() && time.Now().After(x.deadline) {
				f.o.Log.Infof("Rejected X11 connection after ForwardX11Timeout expired")
				nc.Reject(sshwire.Prohibited, "X11 connection rejected because of timeout")
				continue
			}
			if !f.spawn(func() { f.serveX11(nc, x) }) {
				nc.Reject(sshwire.Prohibited, "forwarding stopped")
			}
		}
	}()
}

func (f *Forwarder) serveX11(nc sshwire.NewChannel, x *X11) {
	var m x11ChannelMsg
	if err := ssh.Unmarshal(nc.ExtraData(), &m); err != nil {
		nc.Reject(sshwire.ConnectionFailed, "bad x11 channel open")
		return
	}
	f.o.Log.Debugf("client_request_x11: request from %s %d", m.OrigAddr, m.OrigPort)
	local, err := dialDisplay(f.ctx, x.display)
	if err != nil {
		f.o.Log.Errorf("X11 connection to %s failed: %v", x.display, err)
		nc.Reject(sshwire.ConnectionFailed, "cannot connect to the X server")
		return
	}
	ch, reqs, err := nc.Accept()
	if err != nil {
		local.Close()
		return
	}
	go sshwire.DiscardRequests(reqs)
	if !f.track(local) {
		ch.Close()
		return
	}
	defer f.untrack(local)
	setup, err := x.rewriteSetup(ch)
	if err != nil {
		// Whoever connected to the far display does not hold the cookie
		// we gave the server: the local X server never sees it.
		f.o.Log.Debugf("%v", err)
		f.o.Log.Infof("X11 connection rejected because of wrong authentication.")
		ch.Close()
		local.Close()
		return
	}
	if _, err := local.Write(setup); err != nil {
		ch.Close()
		local.Close()
		return
	}
	join(asHalf(local), ch)
}

// rewriteSetup reads an X11 connection setup from r (the X protocol's
// first request: byte order, version, auth protocol name and data, each
// padded to 4 bytes) and returns it with the fake cookie replaced by the
// real one. Anything else is refused, as ssh(1) does.
func (x *X11) rewriteSetup(r io.Reader) ([]byte, error) {
	var h [12]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, fmt.Errorf("X11 connection setup: %w", err)
	}
	var order binary.ByteOrder
	switch h[0] {
	case 'B':
		order = binary.BigEndian
	case 'l':
		order = binary.LittleEndian
	default:
		return nil, fmt.Errorf("X11 connection setup: bad byte order %#x", h[0])
	}
	nameLen, dataLen := int(order.Uint16(h[6:8])), int(order.Uint16(h[8:10]))
	pad := func(n int) int { return (n + 3) &^ 3 }
	body := make([]byte, pad(nameLen)+pad(dataLen))
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, fmt.Errorf("X11 connection setup: %w", err)
	}
	name, data := string(body[:nameLen]), body[pad(nameLen):pad(nameLen)+dataLen]
	if name != x.proto {
		return nil, msgError("X11 connection uses different authentication protocol.")
	}
	if !bytes.Equal(data, x.fake) {
		return nil, msgError("X11 auth data does not match fake data.")
	}
	copy(data, x.real) // same length, so the header stands
	return append(h[:], body...), nil
}

// dialDisplay connects to a local X display: ":N" and "unix:N" are the
// socket /tmp/.X11-unix/XN, "host:N" is TCP port 6000+N.
func dialDisplay(ctx context.Context, display string) (net.Conn, error) {
	i := strings.LastIndexByte(display, ':')
	if i < 0 {
		return nil, fmt.Errorf("bad DISPLAY %q", display)
	}
	host, num := display[:i], display[i+1:]
	num, _, _ = strings.Cut(num, ".")
	n, err := strconv.Atoi(num)
	if err != nil || n < 0 {
		return nil, fmt.Errorf("bad DISPLAY %q", display)
	}
	var d net.Dialer
	if host == "" || host == "unix" || strings.HasPrefix(display, "/") {
		path := "/tmp/.X11-unix/X" + strconv.Itoa(n)
		if strings.HasPrefix(display, "/") { // launchd-style path
			path = display[:i]
		}
		return d.DialContext(ctx, "unix", path)
	}
	return d.DialContext(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(6000+n)))
}

// msgError is an error whose text is ssh(1)'s own message, punctuation
// and all, so that what a user sees matches OpenSSH.
type msgError string

func (e msgError) Error() string { return string(e) }
