package client

// HOST/DOMAIN targets (jumpgate ssh hyper2/vm1): the dialer's
// ResolveDomain hook, answered by libvirt on the hypervisor through a
// short-lived address cache.

import (
	"context"
	"net/netip"

	"github.com/jumpgate/jumpgate/internal/libvirt"
	"github.com/jumpgate/jumpgate/internal/sshconf"
	"github.com/jumpgate/jumpgate/internal/sshwire"
)

// resolveDomain is [dial.DomainResolver] for jumpgate ssh and the commands
// that dial as it does.
func (r *Client) resolveDomain(ctx context.Context, hyper *sshconf.Host, domain string, connect func(context.Context) (sshwire.Conn, error)) (netip.Addr, error) {
	home, _, _ := LocalUser(r.e.Getenv)
	res := &libvirt.Resolver{Cache: &libvirt.Cache{Dir: libvirt.CacheDir(r.e.Getenv, home)}}
	// The cache key names the hypervisor as it is reached, so that two
	// hosts called hyper2 in different configs do not share entries.
	key := hyper.Get("user") + "@" + hyper.Hostname() + ":" + hyper.Get("port") + " via " + hyper.Get("proxyjump")
	return res.Resolve(ctx, hyper.Original(), key, domain, func(ctx context.Context) (libvirt.Runner, error) {
		c, err := connect(ctx)
		if err != nil {
			return nil, err
		}
		return libvirt.SSHRunner(c), nil
	})
}
