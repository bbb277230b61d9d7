package dial

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/jumpgate/jumpgate/internal/sshconf"
	"github.com/jumpgate/jumpgate/internal/sshwire"
)

// DomainResolver finds the address of a libvirt domain on the hypervisor
// hyper, for HOST/DOMAIN targets. connect dials the hypervisor; a
// resolver that answers from a cache need not call it.
type DomainResolver func(ctx context.Context, hyper *sshconf.Host, domain string, connect func(context.Context) (sshwire.Conn, error)) (netip.Addr, error)

// SplitDomain splits a HOST/DOMAIN target (hyper2/vm1) into the
// hypervisor and the libvirt domain; ok is false for any other name.
func SplitDomain(name string) (host, domain string, ok bool) {
	host, domain, ok = strings.Cut(name, "/")
	if !ok || host == "" || domain == "" || strings.Contains(domain, "/") {
		return "", "", false
	}
	return host, domain, true
}

// dialDomain connects to the libvirt domain of a HOST/DOMAIN target: the
// hypervisor is a jump host reached as h itself would be (through h's
// ProxyJump, if any), libvirt there names the domain's address, and h's
// port on that address is dialled through the hypervisor.
func (d *Dialer) dialDomain(ctx context.Context, h *sshconf.Host, hyper, domain string, depth int) (*Conn, error) {
	start := time.Now()
	port, _ := strconv.Atoi(h.Get("port"))
	if port == 0 {
		port = 22
	}
	extra := h.Get("proxyjump")
	if strings.EqualFold(extra, "none") {
		extra = ""
	}
	hh, err := d.Resolve(Hop{Host: hyper}, extra)
	if err != nil {
		return nil, &HopError{Hop: hyper, Err: err}
	}
	var via *Conn
	connect := func(ctx context.Context) (sshwire.Conn, error) {
		if via == nil {
			c, err := d.dial(ctx, hh, depth+1)
			if err != nil {
				return nil, err
			}
			via = c
		}
		return via.Conn, nil
	}
	fail := func(err error) (*Conn, error) {
		if via != nil {
			via.Close()
		}
		var he *HopError
		if errors.As(err, &he) {
			return nil, err
		}
		return nil, &HopError{Hop: hyper, Err: err}
	}
	ip, err := d.ResolveDomain(ctx, hh, domain, connect)
	if err != nil {
		return fail(err)
	}
	addr := net.JoinHostPort(ip.String(), strconv.Itoa(port))
	var conn net.Conn
	if via == nil && d.ViaMaster != nil {
		// The address came from the cache: the hypervisor's master, if
		// there is one, can carry the connection.
		if conn, err = d.ViaMaster(ctx, hh, addr); err != nil {
			return fail(err)
		}
	}
	if conn == nil {
		if _, err := connect(ctx); err != nil {
			return fail(err)
		}
		if conn, err = dialVia(ctx, via.Conn, addr); err != nil {
			return fail(errors.New("cannot reach domain " + domain + " at " + addr + " from there: " + err.Error()))
		}
	}
	d.Log.Debugf("Connecting to %s [%s] port %d through hypervisor %s.", h.Original(), ip, port, hyper)
	c, err := d.handshake(ctx, h, conn, addr)
	if err != nil {
		conn.Close()
		if via != nil {
			via.Close()
		}
		return nil, err
	}
	c.Via = via
	c.Dialed = time.Since(start)
	return c, nil
}
