package server

// X11 forwarding, server side (RFC 4254 6.3.1, sshd's X11Forwarding with
// X11UseLocalhost yes): an x11-req makes the session a display of its
// own, localhost:N with N from X11DisplayOffset up, listening on TCP
// port 6000+N of the loopback addresses; the client's (fake) cookie is
// given to the user's xauth before the command starts, and each
// connection to the display becomes an "x11" channel to the client,
// which checks the cookie and swaps in the real one.

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/crypto/ssh"
)

// Defaults of the X11 settings, as sshd's.
const (
	DefaultX11DisplayOffset = 10
	DefaultXAuthLocation    = "/usr/bin/xauth"
	// x11MaxDisplays bounds the search for a free display, as sshd's
	// MAX_DISPLAYS.
	x11MaxDisplays = 1000
)

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

// x11Display is one session's forwarded display.
type x11Display struct {
	num     int
	screen  uint32
	proto   string
	cookie  string
	lns     []net.Listener
	display string // DISPLAY for the session: localhost:N.S
}

// authDisplay is the name xauth knows the display by: unix:N.S, since
// X clients reach localhost displays as the local family.
func (d *x11Display) authDisplay() string {
	return fmt.Sprintf("unix:%d.%d", d.num, d.screen)
}

func (d *x11Display) Close() error {
	for _, ln := range d.lns {
		ln.Close()
	}
	return nil
}

// xauthValid is sshd's xauth_valid_string: what may go on xauth's input.
func xauthValid(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune(".:/-_", c)) {
			return false
		}
	}
	return true
}

// x11Req handles x11-req: refused unless the server and the key allow it,
// xauth exists and the session has no display yet.
func (s *session) x11Req(payload []byte) bool {
	var m x11ReqMsg
	if err := ssh.Unmarshal(payload, &m); err != nil {
		return false
	}
	cfg := s.c.srv.cfg
	log := s.c.Log
	switch {
	case !xauthValid(m.Proto) || !xauthValid(m.Cookie):
		log.Warn("x11 forwarding refused: invalid X11 forwarding data")
		return false
	case s.c.Perms.NoX11Forwarding:
		log.Warn("x11 forwarding refused: X11 forwarding disabled by key options")
		return false
	case !cfg.X11Forwarding:
		log.Info("x11 forwarding refused: X11 forwarding disabled in server configuration")
		return false
	case s.x11 != nil:
		log.Warn("x11 forwarding refused: already active")
		return false
	}
	if _, err := os.Stat(cfg.XAuthLocation); err != nil {
		log.Warn("x11 forwarding refused: no xauth program", "err", err)
		return false
	}
	d, err := listenX11(cfg.X11DisplayOffset)
	if err != nil {
		log.Warn("x11 forwarding refused", "err", err)
		return false
	}
	d.screen, d.proto, d.cookie = m.Screen, m.Proto, m.Cookie
	d.display = fmt.Sprintf("localhost:%d.%d", d.num, d.screen)
	s.x11 = d
	log.Info("x11 forwarding", "display", d.display, "single", m.SingleConnection)
	for _, ln := range d.lns {
		s.c.wg.Go(func() {
			s.c.serveForward(ln, func(conn net.Conn) (string, []byte) {
				if m.SingleConnection {
					d.Close()
				}
				h, p := splitAddr(conn.RemoteAddr())
				port, _ := strconv.Atoi(p)
				return "x11", ssh.Marshal(&x11ChannelMsg{OrigAddr: h, OrigPort: uint32(port)})
			})
		})
	}
	return true
}

// listenX11 finds the first display from offset whose port is free on
// every loopback address (IPv6 only where the kernel has it), as sshd's
// x11_create_display_inet does.
func listenX11(offset int) (*x11Display, error) {
	for n := offset; n < offset+x11MaxDisplays; n++ {
		port := strconv.Itoa(6000 + n)
		ln4, err := net.Listen("tcp4", "127.0.0.1:"+port)
		if err != nil {
			if errors.Is(err, syscall.EADDRINUSE) {
				continue
			}
			return nil, fmt.Errorf("listen for X11 display %d: %w", n, err)
		}
		d := &x11Display{num: n, lns: []net.Listener{ln4}}
		ln6, err := net.Listen("tcp6", "[::1]:"+port)
		switch {
		case err == nil:
			d.lns = append(d.lns, ln6)
		case errors.Is(err, syscall.EADDRINUSE):
			ln4.Close()
			continue
		}
		return d, nil
	}
	return nil, errors.New("failed to allocate internet-domain X11 display socket")
}

// runXAuth gives the session's cookie to the user's xauth (remove, then
// add, on its standard input), run as the user with the session's
// environment, as sshd does before the user's command.
func (s *session) runXAuth(env []string) error {
	d := s.x11
	u := s.c.User
	cmd := exec.Command(s.c.srv.cfg.XAuthLocation, "-q", "-")
	cmd.Env = env
	cmd.Dir = u.Home
	if st, err := os.Stat(u.Home); err != nil || !st.IsDir() {
		cmd.Dir = "/"
	}
	if os.Getuid() == 0 && u.UID != 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: u.UID, Gid: u.GID, Groups: u.Groups}}
	}
	cmd.Stdin = strings.NewReader(fmt.Sprintf("remove %s\nadd %s %s %s\n",
		d.authDisplay(), d.authDisplay(), d.proto, d.cookie))
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("xauth add %s: %w: %s", d.authDisplay(), err, strings.TrimSpace(string(out)))
	}
	return nil
}
