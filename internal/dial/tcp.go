package dial

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jumpgate/jumpgate/internal/sshconf"
	"github.com/jumpgate/jumpgate/internal/vlog"
)

// ConnectError is a TCP connection that could not be made, worded as
// ssh(1) words it: "connect to host H port P: Connection refused".
type ConnectError struct {
	Host string
	Port int
	Err  error
}

func (e *ConnectError) Error() string {
	return fmt.Sprintf("connect to host %s port %d: %s", e.Host, e.Port, strerror(e.Err))
}
func (e *ConnectError) Unwrap() error { return e.Err }

// ResolveError is a host name that did not resolve.
type ResolveError struct {
	Host string
	Err  error
}

func (e *ResolveError) Error() string {
	msg := "Temporary failure in name resolution"
	var de *net.DNSError
	if errors.As(e.Err, &de) && de.IsNotFound {
		msg = "Name or service not known"
	}
	return fmt.Sprintf("Could not resolve hostname %s: %s", e.Host, msg)
}
func (e *ResolveError) Unwrap() error { return e.Err }

// strerror gives the C library's wording for a connect error.
func strerror(err error) string {
	var errno syscall.Errno
	switch {
	case errors.As(err, &errno):
		s := errno.Error()
		return strings.ToUpper(s[:1]) + s[1:]
	case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded):
		return "Connection timed out"
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "Connection timed out"
	}
	return err.Error()
}

// dialTCP connects as ssh_connect_direct does: every address of the host
// in turn, ConnectionAttempts times, a second apart.
func dialTCP(ctx context.Context, h *sshconf.Host, host string, port int, log *vlog.Logger) (net.Conn, error) {
	network := "tcp"
	switch h.Get("addressfamily") {
	case "inet":
		network = "tcp4"
	case "inet6":
		network = "tcp6"
	}
	ips, err := lookup(ctx, network, host)
	if err != nil {
		return nil, &ResolveError{Host: host, Err: err}
	}
	d := net.Dialer{Timeout: connectTimeout(h)}
	if h.Get("tcpkeepalive") == "no" {
		d.KeepAlive = -1
	}
	if ba := h.Get("bindaddress"); ba != "" {
		ip := net.ParseIP(ba)
		if ip == nil {
			return nil, fmt.Errorf("BindAddress %q is not an address", ba)
		}
		d.LocalAddr = &net.TCPAddr{IP: ip}
	}
	if iface := h.Get("bindinterface"); iface != "" {
		d.Control = bindToDevice(iface)
	}
	attempts, _ := strconv.Atoi(h.Get("connectionattempts"))
	if attempts < 1 {
		attempts = 1
	}
	var last error
	for a := 0; a < attempts; a++ {
		if a > 0 {
			log.Debugf("Trying again...")
			select {
			case <-time.After(time.Second):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		for _, ip := range ips {
			log.Debugf("Connecting to %s [%s] port %d.", host, ip, port)
			c, err := d.DialContext(ctx, network, net.JoinHostPort(ip.String(), strconv.Itoa(port)))
			if err == nil {
				log.Debugf("Connection established.")
				if tc, ok := c.(*net.TCPConn); ok {
					tc.SetNoDelay(true)
					limitUnsent(tc)
				}
				return c, nil
			}
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			last = &ConnectError{Host: host, Port: port, Err: err}
			log.Debugf("connect to address %s port %d: %s", ip, port, strerror(err))
		}
	}
	return nil, last
}

func lookup(ctx context.Context, network, host string) ([]net.IP, error) {
	if ip := net.ParseIP(strings.Trim(host, "[]")); ip != nil {
		return []net.IP{ip}, nil
	}
	nw := "ip"
	switch network {
	case "tcp4":
		nw = "ip4"
	case "tcp6":
		nw = "ip6"
	}
	ips, err := net.DefaultResolver.LookupIP(ctx, nw, host)
	if err != nil {
		return nil, err
	}
	if len(ips) == 0 {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	return ips, nil
}
