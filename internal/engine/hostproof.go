package engine

import "github.com/jumpgate/jumpgate/internal/sshwire"

// What the first key exchange proved about the server, for an agent's
// destination constraints (OpenSSH PROTOCOL.agent) and for the
// publickey-hostbound-v00@openssh.com method (OpenSSH PROTOCOL 3.3).

func (t *transport) hostProof() (hostKey, signature []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.hostKey, t.hostSig
}

func (t *transport) hostBound() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.hostBnd
}

func proofOf(pc packetConn) sshwire.HostProof {
	k, sig := pc.hostProof()
	return sshwire.HostProof{HostKey: k, SessionID: pc.sessionID(), Signature: sig}
}

// HostProof is what the client's first key exchange proved; empty on a
// server's connection.
func (c *conn) HostProof() sshwire.HostProof {
	if c.server {
		return sshwire.HostProof{}
	}
	return proofOf(c.pc)
}
