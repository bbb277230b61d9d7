package engine

// The layers above the transport, wired: authentication, then the
// connection protocol with its one reader.

import (
	"net"

	"github.com/jumpgate/jumpgate/internal/sshwire"
)

// newClientConn authenticates over an established transport and returns
// the connection; on failure pc is closed.
func newClientConn(pc packetConn, cfg *sshwire.ClientConfig, local, remote net.Addr) (sshwire.Conn, error) {
	if cfg.KexDone != nil {
		cfg.KexDone(proofOf(pc))
	}
	if err := clientAuth(pc, cfg); err != nil {
		pc.close()
		return nil, err
	}
	meta := &connMeta{pc: pc, user: cfg.User, local: addrOrNone(local), remote: addrOrNone(remote), windows: windowPool{limits: cfg.Windows}}
	return startConn(pc, meta, false), nil
}

// newServerConn runs the server side of authentication and returns the
// connection with the permissions that let the client in; on failure pc
// is closed.
func newServerConn(pc packetConn, cfg *sshwire.ServerConfig, local, remote net.Addr) (sshwire.ServerConn, error) {
	meta := &connMeta{pc: pc, local: addrOrNone(local), remote: addrOrNone(remote), windows: windowPool{limits: cfg.Windows}}
	perms, err := serverAuth(pc, cfg, meta)
	if err != nil {
		pc.close()
		return nil, err
	}
	c := startConn(pc, meta, true)
	c.perms = perms
	return c, nil
}
