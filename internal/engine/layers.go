// Package engine is jumpgate's own SSH protocol (RFC 4251-4254 and their
// successors, OpenSSH's PROTOCOL files), client and server, behind the
// sshwire seam: the transport (version exchange, binary packets, key
// exchange, ciphers, MACs, compression, rekeying) in transport*.go, kex*.go,
// cipher*.go; user authentication in auth*.go; the connection protocol
// (channels, windows, requests) in conn*.go and channel*.go.
package engine

import (
	"net"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/jumpgate/jumpgate/internal/sshwire"
)

// packetConn is the transport as the layers above it see it: whole,
// decrypted, decompressed message payloads, the message number first.
// The transport answers SSH_MSG_IGNORE, DEBUG and UNIMPLEMENTED and runs
// key re-exchanges itself; readPacket returns every other message.
type packetConn interface {
	// readPacket returns the next message's payload; the slice is the
	// caller's until the next call.
	readPacket() ([]byte, error)
	// writePacket sends one message; p may be reused once it returns.
	writePacket(p []byte) error
	// writeData sends a channel data message, or returns errKexPending
	// while a key exchange is under way instead of waiting it out;
	// waitKexDone waits until none is.
	writeData(p []byte) error
	waitKexDone() error
	// sessionID is the exchange hash of the first key exchange.
	sessionID() []byte
	// authenticated tells the transport that user authentication
	// succeeded, which starts delayed compression (zlib@openssh.com).
	authenticated()
	// algorithms are what the last key exchange chose.
	algorithms() sshwire.Algorithms
	// serverSigAlgs is the peer's server-sig-algs extension (RFC 8308),
	// nil if it sent none; only a client sees one.
	serverSigAlgs() []string
	// hostProof is the server's host key and its signature of the
	// session identifier from the first key exchange (a client's);
	// hostBound reports the server's publickey-hostbound@openssh.com
	// extension (OpenSSH PROTOCOL 3.3).
	hostProof() (hostKey, signature []byte)
	hostBound() bool
	// maxPayload is the largest message that still crosses the relay
	// under the transport as one message (sshio.RelayMessage: a hop
	// through a jump host's master); 0 when nothing relays it.
	maxPayload() int
	// minRTT is the smallest round trip of the path below, as TCP measured
	// it; 0 if unknown (sshio.MinRTT).
	minRTT() time.Duration
	// cork holds back partial segments on the socket below until the
	// returned function is called (sshio.Cork).
	cork() func()
	// versions are the identification strings without CR LF.
	clientVersion() []byte
	serverVersion() []byte
	close() error
}

// transportConfig is what a transport handshake needs.
type transportConfig struct {
	isServer bool
	// version is our identification string ("SSH-2.0-jumpgate_…").
	version string
	// algorithms restrict and order the offer; empty lists are the
	// defaults (OpenSSH 9.2's order, mlkem768x25519-sha256 first).
	algorithms sshwire.AlgorithmList
	// compression offers zlib@openssh.com (and zlib) before none.
	compression bool
	// client: hostKeyCallback checks the server's host key; dialAddr is
	// the address for it.
	hostKeyCallback func(hostname string, remote net.Addr, key ssh.PublicKey) error
	dialAddr        string
	// server: the host keys.
	hostKeys []ssh.Signer
	// rekeyBytes and rekeyInterval start a key re-exchange after that many
	// bytes either way or that long (RekeyLimit); zero is OpenSSH's
	// default: by cipher volume, never by time.
	rekeyBytes    uint64
	rekeyInterval time.Duration
	// debugf is the protocol trace (sshwire.ClientConfig.Debugf); nil
	// discards it.
	debugf func(level int, format string, args ...any)
}

// The transport's handshake, in transport.go, has this signature:
//
//	func handshake(nc net.Conn, cfg *transportConfig) (packetConn, error)
