package engine

import (
	"crypto"
	"errors"
	"fmt"
	"slices"
	"time"
)

// runKex runs one key exchange, started by the peer's KEXINIT p (and by
// ours if we sent it first), on the reading goroutine: it negotiates,
// agrees on K, checks or makes the host key signature, sends NEWKEYS and
// switches the write side, then waits for the peer's NEWKEYS and switches
// the read side.
func (t *transport) runKex(p []byte) error {
	t.debugf(1, "SSH2_MSG_KEXINIT received")
	peer, err := parseKexInit(p)
	if err != nil {
		return err
	}
	t.kmu.Lock()
	if err := t.kx.dead; err != nil {
		t.kmu.Unlock()
		return err
	}
	started := t.kx.ours == nil
	ours := t.startKexLocked()
	t.kmu.Unlock()
	if started {
		t.debugf(1, "SSH2_MSG_KEXINIT sent")
	}
	ourMsg, err := parseKexInit(ours)
	if err != nil {
		return err
	}
	peerPayload := slices.Clone(p)
	cMsg, sMsg, cInit, sInit := ourMsg, peer, ours, peerPayload
	if !t.isClient {
		cMsg, sMsg, cInit, sInit = peer, ourMsg, peerPayload, ours
	}
	if t.cfg.debugf != nil {
		t.logKexInit("local "+side(t.isClient), ourMsg)
		t.logKexInit("peer "+side(!t.isClient), peer)
	}
	n, err := negotiate(cMsg, sMsg)
	if err != nil {
		return err
	}
	t.logChoice(n)
	t.mu.Lock()
	first := t.kexCount == 0
	if !first {
		n.strict = t.strict
	}
	t.mu.Unlock()
	strictFirst := first && n.strict
	if strictFirst && t.rd.beforeKexInit > 0 {
		return errors.New("ssh: strict key exchange: peer sent messages before its KEXINIT")
	}
	if peer.firstFollows && guessWrong(peer, n) {
		// The peer's guessed first packet is for another method: drop it.
		if _, err := t.readKexMsg(0, strictFirst); err != nil {
			return err
		}
	}
	algo, ok := lookupKex(n.kex)
	if !ok {
		return fmt.Errorf("ssh: unknown key exchange %q", n.kex)
	}
	x := &kexExchange{t: t, n: n, algo: algo, cInit: cInit, sInit: sInit, first: first, strict: strictFirst}
	var k, h []byte
	switch {
	case t.isClient && algo.gex:
		k, h, err = x.clientGex()
	case t.isClient:
		k, h, err = x.client()
	case algo.gex:
		k, h, err = x.serverGex()
	default:
		k, h, err = x.server()
	}
	if err != nil {
		return err
	}
	t.mu.Lock()
	if first {
		t.sessID = h
		t.strict = n.strict
	}
	sid := t.sessID
	t.mu.Unlock()
	keys, err := deriveKeys(algo.hash, n, k, h, sid)
	if err != nil {
		return err
	}
	wd, rdir := 0, 1
	if !t.isClient {
		wd, rdir = 1, 0
	}
	wc, err := newPacketCipher(n.cipher[wd], n.mac[wd], keys[wd].key, keys[wd].iv, keys[wd].macKey, true)
	if err != nil {
		return err
	}
	rc, err := newPacketCipher(n.cipher[rdir], n.mac[rdir], keys[rdir].key, keys[rdir].iv, keys[rdir].macKey, false)
	if err != nil {
		return err
	}
	t.mu.Lock()
	t.algs = *n
	t.kexCount++
	t.lastKex = time.Now()
	t.rekeyWant = t.rekeyLimit(n)
	t.mu.Unlock()
	if first && t.cfg.rekeyInterval > 0 {
		go t.rekeyByTime(t.cfg.rekeyInterval)
	}

	t.send(func() {
		t.wmu.Lock()
		defer t.wmu.Unlock()
		if t.writeLocked([]byte{msgNewKeys}) != nil {
			return
		}
		t.debugf(1, "SSH2_MSG_NEWKEYS sent")
		defer t.endKex()
		t.wr.cipher = wc
		if n.strict {
			t.wr.seq = 0
		}
		t.wr.bytes, t.wr.pkt = 0, 0
		t.wr.comp, t.wr.deflate = n.compression[wd], nil
		if t.compressNow(t.wr.comp) {
			t.wr.deflate = newDeflater()
		}
		if !t.isClient && first && n.peerExtInfo {
			t.writeLocked(t.extInfo())
		}
		t.flushLocked()
	})
	// The next exchange needs a KEXINIT of its own, sent after this one's
	// NEWKEYS.
	t.kmu.Lock()
	t.kx.ours = nil
	t.kmu.Unlock()
	t.debugf(1, "expecting SSH2_MSG_NEWKEYS")
	if _, err := t.readKexMsg(msgNewKeys, strictFirst); err != nil {
		return err
	}
	t.debugf(1, "SSH2_MSG_NEWKEYS received")
	t.rd.cipher = rc
	if n.strict {
		t.rd.seq = 0
	}
	t.rd.bytes, t.rd.pkt = 0, 0
	if t.rd.inflate != nil {
		t.rd.inflate.close()
		t.rd.inflate = nil
	}
	t.rd.comp = n.compression[rdir]
	if t.compressNow(t.rd.comp) {
		t.rd.inflate = newInflater()
	}
	return nil
}

// compressNow: zlib starts with the keys, zlib@openssh.com once the user
// is authenticated; either restarts its stream at every NEWKEYS, as
// OpenSSH does.
func (t *transport) compressNow(comp string) bool {
	return comp == "zlib" || comp == "zlib@openssh.com" && t.authed.Load()
}

func (t *transport) rekeyLimit(n *negotiated) uint64 {
	if t.cfg.rekeyBytes > 0 {
		return t.cfg.rekeyBytes
	}
	limit := uint64(rekeyBytesAES)
	for _, c := range n.cipher {
		if c == "chacha20-poly1305@openssh.com" {
			limit = rekeyBytesStream
		}
	}
	return limit
}

func (t *transport) extInfo() []byte {
	p := appendSSHUint32([]byte{msgExtInfo}, 1)
	p = appendSSHString(p, []byte("server-sig-algs"))
	return appendSSHNameList(p, serverSigAlgList())
}

// readKexMsg reads the next key exchange message, which must be want (any
// message when want is 0). IGNORE and DEBUG pass unless strict is set,
// when OpenSSH's strict key exchange makes anything unexpected fatal.
func (t *transport) readKexMsg(want byte, strict bool) ([]byte, error) {
	for {
		p, err := t.readRaw()
		if err != nil {
			return nil, err
		}
		switch {
		case want == 0 || p[0] == want:
			return p, nil
		case p[0] == msgDisconnect:
			return nil, parseDisconnect(p)
		case !strict && (p[0] == msgIgnore || p[0] == msgDebug || p[0] == msgUnimplemented):
			continue
		}
		if strict {
			return nil, fmt.Errorf("ssh: strict key exchange: unexpected message %d", p[0])
		}
		return nil, fmt.Errorf("ssh: unexpected message %d during key exchange (want %d)", p[0], want)
	}
}

// kexExchange is one key exchange method's run.
type kexExchange struct {
	t            *transport
	n            *negotiated
	algo         kexAlgo
	cInit, sInit []byte
	first        bool
	strict       bool
}

// write queues a key exchange message; a failure to send sticks on the
// write side and ends the exchange when the peer stops answering.
func (x *kexExchange) write(p []byte) error {
	x.t.send(func() { x.t.writeQueued(p) })
	return nil
}

// hashPrefix starts the exchange hash: V_C, V_S, I_C, I_S, K_S.
func (x *kexExchange) hashPrefix(hostKey []byte) []byte {
	b := appendSSHString(nil, x.t.versions[0])
	b = appendSSHString(b, x.t.versions[1])
	b = appendSSHString(b, x.cInit)
	b = appendSSHString(b, x.sInit)
	return appendSSHString(b, hostKey)
}

func digest(h crypto.Hash, b []byte) []byte {
	d := h.New()
	d.Write(b)
	return d.Sum(nil)
}

func appendPublic(b []byte, mpint bool, v []byte) []byte {
	if mpint {
		return appendSSHMpintBytes(b, v)
	}
	return appendSSHString(b, v)
}

func readPublic(r *pktReader, mpint bool) []byte {
	if mpint {
		v := r.mpint()
		if v == nil {
			return nil
		}
		return v.Bytes()
	}
	return r.string()
}

// client is the client side of a one-round-trip exchange.
func (x *kexExchange) client() (k, h []byte, err error) {
	a := x.algo.newAgreement()
	pub, err := a.clientPublic()
	if err != nil {
		return nil, nil, err
	}
	if err := x.write(appendPublic([]byte{msgKexECDHInit}, a.mpintPublic(), pub)); err != nil {
		return nil, nil, err
	}
	x.t.debugf(1, "expecting SSH2_MSG_KEX_ECDH_REPLY")
	p, err := x.t.readKexMsg(msgKexECDHReply, x.strict)
	if err != nil {
		return nil, nil, err
	}
	x.t.debugf(1, "SSH2_MSG_KEX_ECDH_REPLY received")
	r := pktReader{b: p[1:]}
	hostKey := r.string()
	serverPub := readPublic(&r, a.mpintPublic())
	sig := r.string()
	if !r.ok() || len(r.b) != 0 {
		return nil, nil, fmt.Errorf("ssh: malformed key exchange reply")
	}
	if k, err = a.clientShared(serverPub); err != nil {
		return nil, nil, err
	}
	b := x.hashPrefix(hostKey)
	b = appendPublic(b, a.mpintPublic(), pub)
	b = appendPublic(b, a.mpintPublic(), serverPub)
	b = append(b, k...)
	h = digest(x.algo.hash, b)
	return k, h, x.checkHostKey(hostKey, sig, h)
}

// checkHostKey verifies the server's signature over h and asks the
// callback about the key on the first exchange; later ones must present
// the same key.
func (x *kexExchange) checkHostKey(blob, sig, h []byte) error {
	key, err := verifyHostKey(x.n.hostKey, blob, sig, h)
	if err != nil {
		return err
	}
	t := x.t
	if !x.first {
		t.mu.Lock()
		same := slices.Equal(t.hostKey, blob)
		t.mu.Unlock()
		if !same {
			return errors.New("ssh: server's host key changed during re-exchange")
		}
		return nil
	}
	if t.cfg.hostKeyCallback == nil {
		return errors.New("ssh: no host key callback")
	}
	if err := t.cfg.hostKeyCallback(t.cfg.dialAddr, t.nc.RemoteAddr(), key); err != nil {
		return err
	}
	t.mu.Lock()
	t.hostKey = slices.Clone(blob)
	t.hostSig = slices.Clone(sig)
	t.mu.Unlock()
	return nil
}

// server is the server side of a one-round-trip exchange.
func (x *kexExchange) server() (k, h []byte, err error) {
	a := x.algo.newAgreement()
	p, err := x.t.readKexMsg(msgKexECDHInit, x.strict)
	if err != nil {
		return nil, nil, err
	}
	r := pktReader{b: p[1:]}
	clientPub := readPublic(&r, a.mpintPublic())
	if !r.ok() || len(r.b) != 0 {
		return nil, nil, fmt.Errorf("ssh: malformed key exchange init")
	}
	serverPub, k, err := a.serverShared(clientPub)
	if err != nil {
		return nil, nil, err
	}
	hostKey, err := x.hostKeyBlob()
	if err != nil {
		return nil, nil, err
	}
	b := x.hashPrefix(hostKey)
	b = appendPublic(b, a.mpintPublic(), clientPub)
	b = appendPublic(b, a.mpintPublic(), serverPub)
	b = append(b, k...)
	h = digest(x.algo.hash, b)
	_, sig, err := signHostKey(x.t.cfg.hostKeys, x.n.hostKey, h)
	if err != nil {
		return nil, nil, err
	}
	reply := appendSSHString([]byte{msgKexECDHReply}, hostKey)
	reply = appendPublic(reply, a.mpintPublic(), serverPub)
	reply = appendSSHString(reply, sig)
	return k, h, x.write(reply)
}

func (x *kexExchange) hostKeyBlob() ([]byte, error) {
	kt := hostKeyKeyType(x.n.hostKey)
	for _, k := range x.t.cfg.hostKeys {
		if k.PublicKey().Type() == kt {
			return k.PublicKey().Marshal(), nil
		}
	}
	return nil, fmt.Errorf("ssh: no host key for %s", x.n.hostKey)
}

// clientGex is diffie-hellman-group-exchange's client (RFC 4419 3).
func (x *kexExchange) clientGex() (k, h []byte, err error) {
	// The group's size follows what the keys protect, as OpenSSH's
	// dh_need: the cipher's security (3DES's 168-bit key gives 112), its
	// IV (its block size here) and the MAC's key.
	need := 0
	for d := range 2 {
		ci, _ := lookupCipher(x.n.cipher[d])
		mi, _ := lookupMAC(x.n.mac[d])
		sec := ci.keyLen
		if x.n.cipher[d] == "3des-cbc" {
			sec = 14
		}
		need = max(need, sec, ci.ivLen, mi.keyLen)
	}
	minBits, nBits, maxBits := uint32(gexMin), gexPreferred(need), uint32(gexMax)
	req := appendSSHUint32([]byte{msgKexGexReq}, minBits)
	req = appendSSHUint32(req, nBits)
	req = appendSSHUint32(req, maxBits)
	if err := x.write(req); err != nil {
		return nil, nil, err
	}
	x.t.debugf(1, "SSH2_MSG_KEX_DH_GEX_REQUEST(%d<%d<%d) sent", minBits, nBits, maxBits)
	x.t.debugf(1, "expecting SSH2_MSG_KEX_DH_GEX_GROUP")
	p, err := x.t.readKexMsg(msgKexGexGroup, x.strict)
	if err != nil {
		return nil, nil, err
	}
	x.t.debugf(1, "SSH2_MSG_KEX_DH_GEX_GROUP received")
	r := pktReader{b: p[1:]}
	prime, gen := r.mpint(), r.mpint()
	if !r.ok() || len(r.b) != 0 {
		return nil, nil, fmt.Errorf("ssh: malformed group exchange group")
	}
	bits := uint32(prime.BitLen())
	if bits < minBits || bits > maxBits || prime.Bit(0) == 0 {
		return nil, nil, fmt.Errorf("ssh: server's group of %d bits is outside [%d, %d]", bits, minBits, maxBits)
	}
	if gen.BitLen() < 2 || gen.Cmp(prime) >= 0 {
		return nil, nil, errBadPublic
	}
	a := &dhAgreement{grp: dhGroup{p: prime, g: gen}}
	e, err := a.clientPublic()
	if err != nil {
		return nil, nil, err
	}
	x.t.logBitsSet(e, int(bits))
	if err := x.write(appendSSHMpintBytes([]byte{msgKexGexInit}, e)); err != nil {
		return nil, nil, err
	}
	x.t.debugf(1, "SSH2_MSG_KEX_DH_GEX_INIT sent")
	x.t.debugf(1, "expecting SSH2_MSG_KEX_DH_GEX_REPLY")
	p, err = x.t.readKexMsg(msgKexGexReply, x.strict)
	if err != nil {
		return nil, nil, err
	}
	x.t.debugf(1, "SSH2_MSG_KEX_DH_GEX_REPLY received")
	r = pktReader{b: p[1:]}
	hostKey := r.string()
	f := r.mpint()
	sig := r.string()
	if !r.ok() || len(r.b) != 0 {
		return nil, nil, fmt.Errorf("ssh: malformed group exchange reply")
	}
	x.t.logBitsSet(f.Bytes(), int(bits))
	if k, err = a.clientShared(f.Bytes()); err != nil {
		return nil, nil, err
	}
	b := x.hashPrefix(hostKey)
	b = appendSSHUint32(b, minBits)
	b = appendSSHUint32(b, nBits)
	b = appendSSHUint32(b, maxBits)
	b = appendSSHMpint(b, prime)
	b = appendSSHMpint(b, gen)
	b = appendSSHMpintBytes(b, e)
	b = appendSSHMpint(b, f)
	b = append(b, k...)
	h = digest(x.algo.hash, b)
	return k, h, x.checkHostKey(hostKey, sig, h)
}

// serverGex is diffie-hellman-group-exchange's server, answering from
// the RFC 3526 groups.
func (x *kexExchange) serverGex() (k, h []byte, err error) {
	p, err := x.t.readKexMsg(msgKexGexReq, x.strict)
	if err != nil {
		return nil, nil, err
	}
	r := pktReader{b: p[1:]}
	minBits, nBits, maxBits := r.uint32(), r.uint32(), r.uint32()
	if !r.ok() || len(r.b) != 0 || minBits > nBits || nBits > maxBits {
		return nil, nil, fmt.Errorf("ssh: malformed group exchange request")
	}
	grp, ok := gexGroupFor(minBits, nBits, maxBits)
	if !ok {
		return nil, nil, fmt.Errorf("ssh: no group within [%d, %d] bits", minBits, maxBits)
	}
	g := appendSSHMpint([]byte{msgKexGexGroup}, grp.p)
	g = appendSSHMpint(g, grp.g)
	if err := x.write(g); err != nil {
		return nil, nil, err
	}
	p, err = x.t.readKexMsg(msgKexGexInit, x.strict)
	if err != nil {
		return nil, nil, err
	}
	r = pktReader{b: p[1:]}
	e := r.mpint()
	if !r.ok() || len(r.b) != 0 {
		return nil, nil, fmt.Errorf("ssh: malformed group exchange init")
	}
	a := &dhAgreement{grp: grp}
	f, k, err := a.serverShared(e.Bytes())
	if err != nil {
		return nil, nil, err
	}
	hostKey, err := x.hostKeyBlob()
	if err != nil {
		return nil, nil, err
	}
	b := x.hashPrefix(hostKey)
	b = appendSSHUint32(b, minBits)
	b = appendSSHUint32(b, nBits)
	b = appendSSHUint32(b, maxBits)
	b = appendSSHMpint(b, grp.p)
	b = appendSSHMpint(b, grp.g)
	b = appendSSHMpint(b, e)
	b = appendSSHMpintBytes(b, f)
	b = append(b, k...)
	h = digest(x.algo.hash, b)
	_, sig, err := signHostKey(x.t.cfg.hostKeys, x.n.hostKey, h)
	if err != nil {
		return nil, nil, err
	}
	reply := appendSSHString([]byte{msgKexGexReply}, hostKey)
	reply = appendSSHMpintBytes(reply, f)
	reply = appendSSHString(reply, sig)
	return k, h, x.write(reply)
}
