package engine

import (
	"net"
	"time"

	"github.com/jumpgate/jumpgate/internal/sshwire"
)

// defaultVersion is our identification string.
const defaultVersion = "SSH-2.0-jumpgate"

// Client runs the client side of a handshake over nc, then
// authentication; addr is the address the host key callback sees.
func Client(nc net.Conn, addr string, cfg *sshwire.ClientConfig) (sshwire.Conn, error) {
	version := cfg.ClientVersion
	if version == "" {
		version = defaultVersion
	}
	pc, err := handshake(nc, &transportConfig{
		version:         version,
		algorithms:      cfg.Algorithms,
		hostKeyCallback: cfg.HostKeyCallback,
		dialAddr:        addr,
		rekeyBytes:      cfg.RekeyLimit,
		rekeyInterval:   cfg.RekeyInterval,
		debugf:          cfg.Debugf,
	})
	if err != nil {
		return nil, err
	}
	return newClientConn(pc, cfg, nc.LocalAddr(), nc.RemoteAddr())
}

// Server runs the server side of a handshake over nc, then
// authentication.
func Server(nc net.Conn, cfg *sshwire.ServerConfig) (sshwire.ServerConn, error) {
	version := cfg.ServerVersion
	if version == "" {
		version = defaultVersion
	}
	pc, err := handshake(nc, &transportConfig{
		isServer:   true,
		version:    version,
		algorithms: cfg.Algorithms,
		hostKeys:   cfg.HostKeys,
		// Offered as sshd's default: after authentication.
		compression: true,
	})
	if err != nil {
		return nil, err
	}
	return newServerConn(pc, cfg, nc.LocalAddr(), nc.RemoteAddr())
}

// Dial connects to addr, waiting at most timeout for the connection
// (0: no limit), and runs the client handshake.
func Dial(network, addr string, timeout time.Duration, cfg *sshwire.ClientConfig) (sshwire.Conn, error) {
	nc, err := net.DialTimeout(network, addr, timeout)
	if err != nil {
		return nil, err
	}
	c, err := Client(nc, addr, cfg)
	if err != nil {
		nc.Close()
		return nil, err
	}
	return c, nil
}
