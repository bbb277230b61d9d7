package engine

import (
	"net"
	"slices"

	"github.com/jumpgate/jumpgate/internal/sshwire"
)

// What the tests of package engine_test (which may import internal/server)
// need of the transport's settings that the public configs do not carry.

// TransportOptions are transport settings for [ClientWith] and
// [ServerWith].
type TransportOptions struct {
	// RekeyBytes starts a key re-exchange after that many bytes either
	// way; 0 is the default.
	RekeyBytes uint64
}

// ClientWith is [Client] with o.
func ClientWith(nc net.Conn, addr string, cfg *sshwire.ClientConfig, o TransportOptions) (sshwire.Conn, error) {
	version := cfg.ClientVersion
	if version == "" {
		version = defaultVersion
	}
	pc, err := handshake(nc, &transportConfig{version: version, algorithms: cfg.Algorithms,
		hostKeyCallback: cfg.HostKeyCallback, dialAddr: addr, rekeyBytes: o.RekeyBytes})
	if err != nil {
		return nil, err
	}
	return newClientConn(pc, cfg, nc.LocalAddr(), nc.RemoteAddr())
}

// ServerWith is [Server] with o, as a server.Config's Handshake.
func ServerWith(o TransportOptions) sshwire.ServerHandshake {
	return func(nc net.Conn, cfg *sshwire.ServerConfig) (sshwire.ServerConn, error) {
		version := cfg.ServerVersion
		if version == "" {
			version = defaultVersion
		}
		pc, err := handshake(nc, &transportConfig{isServer: true, version: version, algorithms: cfg.Algorithms,
			hostKeys: cfg.HostKeys, compression: true, rekeyBytes: o.RekeyBytes})
		if err != nil {
			return nil, err
		}
		return newServerConn(pc, cfg, nc.LocalAddr(), nc.RemoteAddr())
	}
}

// KexCount is the number of key exchanges c's transport has completed,
// the first included.
func KexCount(c sshwire.Conn) int {
	t := c.(*conn).pc.(*transport)
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.kexCount
}

// InteropAlgorithms are the algorithms our engine completes that
// Debian's OpenSSH 9.2 has too: [SupportedAlgorithms] but the ML-KEM
// hybrid (OpenSSH 9.9), which only our own pair covers.
func InteropAlgorithms() sshwire.AlgorithmList {
	a := SupportedAlgorithms()
	a.KeyExchanges = slices.DeleteFunc(a.KeyExchanges, func(k string) bool { return k == "mlkem768x25519-sha256" })
	return a
}

// AEAD reports whether cipher brings its own integrity (no MAC).
func AEAD(cipher string) bool {
	ci, _ := lookupCipher(cipher)
	return ci.aead
}

// CertSuffix makes a host key algorithm's certificate form.
const CertSuffix = certSuffix
