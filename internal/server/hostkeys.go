package server

// Host key rotation from the server's side (OpenSSH PROTOCOL 2.5): after
// login the server lists all its host keys (hostkeys-00@openssh.com), and
// proves it holds those a client asks about (hostkeys-prove-00), so that
// a client with UpdateHostKeys learns keys added to the server and
// forgets those removed.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/jumpgate/jumpgate/internal/sshwire"
)

const (
	reqHostKeys      = "hostkeys-00@openssh.com"
	reqHostKeysProve = "hostkeys-prove-00@openssh.com"
)

// plainHostKeys are the host keys a client may record: certificates are
// not listed, as sshd does not.
func (c *Conn) plainHostKeys() []ssh.Signer {
	var out []ssh.Signer
	for _, k := range c.srv.cfg.HostKeys {
		if _, cert := k.PublicKey().(*ssh.Certificate); !cert {
			out = append(out, k)
		}
	}
	return out
}

// notifyHostKeys sends hostkeys-00@openssh.com, which wants no reply.
func (c *Conn) notifyHostKeys(ctx context.Context) {
	var payload []byte
	for _, k := range c.plainHostKeys() {
		payload = appendSSHString(payload, k.PublicKey().Marshal())
	}
	if len(payload) == 0 {
		return
	}
	if _, _, err := c.SendRequest(ctx, reqHostKeys, false, payload); err != nil {
		c.Log.Debug("hostkeys-00 not sent", "err", err)
	}
}

// proveHostKeys answers hostkeys-prove-00@openssh.com: for each key asked
// about, in order, a signature over the request's name, the session
// identifier and the key. A key we do not hold fails the request.
func (c *Conn) proveHostKeys(r *sshwire.Request) {
	blobs, ok := splitSSHStrings(r.Payload)
	if !ok {
		r.Reply(false, nil)
		return
	}
	keys := c.plainHostKeys()
	kexAlg := c.Algorithms().HostKey
	var out []byte
	for _, blob := range blobs {
		var signer ssh.Signer
		for _, k := range keys {
			if bytes.Equal(k.PublicKey().Marshal(), blob) {
				signer = k
				break
			}
		}
		if signer == nil {
			c.Log.Warn("hostkeys-prove for a key we do not hold")
			r.Reply(false, nil)
			return
		}
		data := appendSSHString(nil, []byte(reqHostKeysProve))
		data = appendSSHString(data, c.SessionID())
		data = appendSSHString(data, blob)
		sig, err := signProof(signer, kexAlg, data)
		if err != nil {
			c.Log.Warn("hostkeys-prove: signing failed", "err", err)
			r.Reply(false, nil)
			return
		}
		out = appendSSHString(out, ssh.Marshal(sig))
	}
	r.Reply(true, out)
}

// signProof signs with an RSA key as the key exchange did when it used
// RSA with SHA-2, else with SHA-512: clients set aside SHA-1 proofs.
func signProof(s ssh.Signer, kexAlg string, data []byte) (*ssh.Signature, error) {
	if s.PublicKey().Type() != ssh.KeyAlgoRSA {
		return s.Sign(rand.Reader, data)
	}
	as, ok := s.(ssh.AlgorithmSigner)
	if !ok {
		return s.Sign(rand.Reader, data)
	}
	alg := ssh.KeyAlgoRSASHA512
	if strings.HasPrefix(kexAlg, "rsa-sha2-") {
		alg = kexAlg
	}
	return as.SignWithAlgorithm(rand.Reader, data, alg)
}

func appendSSHString(b, s []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// splitSSHStrings reads a message made only of SSH strings.
func splitSSHStrings(b []byte) ([][]byte, bool) {
	var out [][]byte
	for len(b) > 0 {
		s, rest, ok := cutSSHString(b)
		if !ok {
			return nil, false
		}
		out, b = append(out, s), rest
	}
	return out, true
}

func cutSSHString(b []byte) (s, rest []byte, ok bool) {
	if len(b) < 4 {
		return nil, nil, false
	}
	n := binary.BigEndian.Uint32(b)
	if uint64(n) > uint64(len(b)-4) {
		return nil, nil, false
	}
	return b[4 : 4+n], b[4+n:], true
}
