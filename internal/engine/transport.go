package engine

// The transport (RFC 4253): version exchange, then binary packets under
// the keys of the last key exchange. One goroutine reads (readPacket) and
// runs every key exchange the peer starts or that we start, in place;
// writers share the write side under wmu and wait while a key exchange
// is under way (between our KEXINIT and our NEWKEYS only key exchange
// messages may leave). The key exchange's own messages leave through the
// sender goroutine, in order, and the reader only ever takes kmu, which
// no one holds while writing: a reader that waited for the write side
// would wait for the peer to read, and both sides exchanging keys over
// full buffers (or net.Pipe) would deadlock.

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jumpgate/jumpgate/internal/sshio"
	"github.com/jumpgate/jumpgate/internal/sshwire"
)

// DisconnectError is the peer's SSH_MSG_DISCONNECT (RFC 4253 11.1).
type DisconnectError struct {
	Reason  uint32
	Message string
}

func (e *DisconnectError) Error() string {
	return fmt.Sprintf("ssh: disconnected by peer (reason %d): %s", e.Reason, e.Message)
}

// Disconnect reason codes we send (RFC 4253 11.1).
const (
	disconnectProtocolError     = 2
	disconnectKeyExchangeFailed = 3
	disconnectMACError          = 5
	disconnectByApplication     = 11
)

var errClosed = errors.New("ssh: transport closed")

// Rekey limits when the configuration sets none: OpenSSH's per-cipher
// volume (RFC 4344 3.2: 2^(L/4) blocks of L bits; 1 GiB for ciphers with
// small blocks) and RFC 4344's 2^31 packets.
const (
	rekeyBytesAES    = 1 << 36
	rekeyBytesStream = 1 << 30
	rekeyPackets     = 1 << 31
)

// transport implements packetConn.
type transport struct {
	nc       net.Conn
	cfg      *transportConfig
	isClient bool
	versions [2][]byte // client, server; without CR LF
	// carried is maxPayload's answer, fixed by the carrier at handshake.
	carried int
	// rtt is minRTT's last answer, asked at rttAt (unix nanoseconds).
	rtt, rttAt atomic.Int64

	// The read side belongs to the goroutine in readPacket, and to
	// handshake before it; rmu only lets close wait for it.
	rmu sync.Mutex
	rd  struct {
		br         *bufio.Reader
		cipher     packetCipher
		seq        uint32
		buf        []byte
		comp       string
		inflate    *inflater
		bytes, pkt uint64
		err        error
		// strictFirst counts packets before the peer's first KEXINIT.
		beforeKexInit int
	}

	// wmu guards the write side and is held while writing.
	wmu sync.Mutex
	wr  struct {
		cipher     packetCipher
		seq        uint32
		buf        []byte
		comp       string
		deflate    *deflater
		bytes, pkt uint64
		err        error
		// queue holds messages written during a key exchange, queued
		// bytes in all.
		queue  [][]byte
		queued int
	}

	// kmu guards the key exchange's state and is never held while
	// writing; kcond wakes writers when an exchange ends.
	kmu   sync.Mutex
	kcond *sync.Cond
	kx    struct {
		// ours is the KEXINIT we queued for the exchange under way or the
		// next; the reader clears it when it has used it.
		ours []byte
		// pending counts our KEXINITs whose NEWKEYS has not been written:
		// while any is, other messages wait. It can be two: the sender
		// may still hold one exchange's NEWKEYS when the next starts.
		pending int
		// dead is why no exchange will finish now (reading ended, closed).
		dead error
	}

	authed atomic.Bool

	// sendq feeds the sender goroutine; closed ends it. A key exchange
	// queues a handful of messages and the next cannot start before the
	// sender has written the last one's NEWKEYS, so the queue never fills.
	sendq  chan func()
	closed chan struct{}
	once   sync.Once

	// mu guards what the key exchange publishes.
	mu        sync.Mutex
	sessID    []byte
	algs      negotiated
	sigAlgs   []string
	hostKey   []byte // the server's host key from the first exchange
	hostSig   []byte // and its signature of the session identifier
	hostBnd   bool   // the server offers publickey-hostbound-v00
	strict    bool
	kexCount  int
	lastKex   time.Time
	rekeyWant uint64
}

// handshake exchanges versions and runs the first key exchange.
func handshake(nc net.Conn, cfg *transportConfig) (packetConn, error) {
	t := &transport{nc: nc, cfg: cfg, isClient: !cfg.isServer,
		sendq: make(chan func(), 16), closed: make(chan struct{})}
	t.kcond = sync.NewCond(&t.kmu)
	if m := sshio.RelayMessage(nc); m > packetOverhead {
		t.carried = m - packetOverhead
	}
	t.rd.br = bufio.NewReaderSize(nc, 64*1024)
	t.rd.cipher, t.wr.cipher = plainCipher{}, plainCipher{}
	t.rd.comp, t.wr.comp = "none", "none"
	go t.sender()
	ours := []byte(t.cfg.version)
	t.send(func() {
		t.wmu.Lock()
		defer t.wmu.Unlock()
		if _, err := t.nc.Write(append(slices.Clone(ours), '\r', '\n')); err != nil {
			t.wr.err = err
		}
	})
	t.requestRekey()
	if err := t.readVersion(ours); err != nil {
		t.close()
		return nil, err
	}
	for {
		p, err := t.readRaw()
		if err != nil {
			t.close()
			return nil, err
		}
		switch p[0] {
		case msgKexInit:
			if err := t.runKex(p); err != nil {
				t.sendDisconnect(disconnectKeyExchangeFailed, err.Error())
				t.close()
				return nil, err
			}
			return t, nil
		case msgIgnore, msgDebug:
			t.rd.beforeKexInit++
		case msgDisconnect:
			t.close()
			return nil, parseDisconnect(p)
		default:
			t.close()
			return nil, fmt.Errorf("ssh: peer sent message %d before its KEXINIT", p[0])
		}
	}
}

// sender writes what send queues, in order, until close.
func (t *transport) sender() {
	for {
		select {
		case f := <-t.sendq:
			f()
		case <-t.closed:
			return
		}
	}
}

// send queues f for the sender goroutine.
func (t *transport) send(f func()) {
	select {
	case t.sendq <- f:
	case <-t.closed:
	}
}

// readVersion reads the peer's identification string (RFC 4253 4.2): a
// server may send other lines first, a bounded number.
func (t *transport) readVersion(ours []byte) error {
	const maxLines = 1024
	for range maxLines {
		line, err := t.readLine()
		if err != nil {
			return fmt.Errorf("ssh: reading the peer's version: %w", err)
		}
		if len(line) >= 4 && string(line[:4]) == "SSH-" {
			if !versionOK(line) {
				return fmt.Errorf("ssh: unsupported protocol version %q", line)
			}
			if t.isClient {
				t.versions = [2][]byte{ours, line}
			} else {
				t.versions = [2][]byte{line, ours}
			}
			return nil
		}
		if !t.isClient {
			return fmt.Errorf("ssh: client sent %q before its version", line)
		}
	}
	return fmt.Errorf("ssh: no version after %d lines", maxLines)
}

func versionOK(line []byte) bool {
	s := string(line)
	if len(s) < 9 || (s[:8] != "SSH-2.0-" && (len(s) < 10 || s[:9] != "SSH-1.99-")) {
		return false
	}
	for _, c := range line {
		if c < ' ' || c > '~' {
			return false
		}
	}
	return true
}

// readLine reads one line of at most 255 bytes with its CR LF (LF alone
// is accepted, as OpenSSH does) and returns it without them.
func (t *transport) readLine() ([]byte, error) {
	var line []byte
	for len(line) < 255 {
		c, err := t.rd.br.ReadByte()
		if err != nil {
			return nil, err
		}
		if c == '\n' {
			if n := len(line); n > 0 && line[n-1] == '\r' {
				line = line[:n-1]
			}
			return line, nil
		}
		if c == 0 {
			return nil, errors.New("NUL in line")
		}
		line = append(line, c)
	}
	return nil, errors.New("line longer than 255 bytes")
}

// ourKexInit builds our KEXINIT; the markers go only in the first.
func (t *transport) ourKexInit() *kexInitMsg {
	a := t.cfg.algorithms
	m := &kexInitMsg{cookie: newCookie()}
	m.kex = orDefault(a.KeyExchanges, defaultKexes)
	first := t.kexCountLocked() == 0
	if first {
		if t.isClient {
			m.kex = append(slices.Clone(m.kex), extInfoClient, strictClient)
		} else {
			m.kex = append(slices.Clone(m.kex), strictServer)
		}
	}
	if t.isClient {
		m.hostKey = orDefault(a.HostKeys, defaultHostKeyAlgs)
	} else {
		m.hostKey = serverHostKeyAlgs(t.cfg.hostKeys, a.HostKeys)
	}
	// CBC is in no default list, so a server offers it only when told to.
	ciphers := orDefault(a.Ciphers, defaultCiphers)
	macs := orDefault(a.MACs, defaultMACs)
	comp := t.compressions()
	m.ciphers = [2][]string{ciphers, ciphers}
	m.macs = [2][]string{macs, macs}
	m.compression = [2][]string{comp, comp}
	return m
}

func (t *transport) kexCountLocked() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.kexCount
}

func orDefault(l []string, def func() []string) []string {
	if len(l) > 0 {
		return l
	}
	return def()
}

// startKexLocked starts a key exchange from our side unless one is under
// way, and returns our KEXINIT: from now on other messages wait; the
// sender writes it, after any message being written now. kmu is held.
func (t *transport) startKexLocked() []byte {
	if t.kx.ours != nil {
		return t.kx.ours
	}
	p := t.ourKexInit().marshal()
	t.kx.ours = p
	t.kx.pending++
	t.send(func() { t.writeQueued(p) })
	return p
}

// writeQueued is the sender's write of a key exchange message.
func (t *transport) writeQueued(p []byte) {
	t.wmu.Lock()
	defer t.wmu.Unlock()
	t.writeLocked(p)
}

// requestRekey starts a key exchange unless one is under way.
func (t *transport) requestRekey() {
	t.kmu.Lock()
	started := t.kx.dead == nil && t.kx.ours == nil
	if t.kx.dead == nil {
		t.startKexLocked()
	}
	t.kmu.Unlock()
	if started {
		t.debugf(1, "SSH2_MSG_KEXINIT sent")
	}
}

// rekeyDue reports whether a volume, packet or time limit has passed.
// As in OpenSSH, none applies before authentication: sshd does not
// answer a re-exchange then, and RekeyLimit 16 would ask for one at once.
func (t *transport) rekeyDue(n, pkts uint64) bool {
	if !t.authed.Load() {
		return false
	}
	t.mu.Lock()
	limit, last := t.rekeyWant, t.lastKex
	t.mu.Unlock()
	if n >= limit || pkts >= rekeyPackets {
		return true
	}
	return t.cfg.rekeyInterval > 0 && time.Since(last) >= t.cfg.rekeyInterval
}

// errKexPending is writeData's answer while a key exchange is under way.
var errKexPending = errors.New("ssh: key exchange under way")

func (t *transport) writePacket(p []byte) error { return t.write(p, true) }

// writeData is writePacket for channel data that does not wait out a key
// exchange: it returns errKexPending, so that the caller can let go of its
// own locks first (the reader finishes the exchange, and answers what it
// reads meanwhile under those locks), then waitKexDone and try again.
func (t *transport) writeData(p []byte) error { return t.write(p, false) }

// waitKexDone waits until no key exchange is under way.
func (t *transport) waitKexDone() error { return t.waitKex(true) }

func (t *transport) write(p []byte, wait bool) error {
	if len(p) == 0 {
		return errors.New("ssh: empty message")
	}
	if len(p) > maxMessage {
		return fmt.Errorf("ssh: message of %d bytes exceeds the packet limit", len(p))
	}
	for {
		t.wmu.Lock()
		// A KEXINIT queued after this check is written after this
		// message: the sender needs wmu.
		if err := t.waitKex(false); err != nil {
			t.wmu.Unlock()
			return err
		}
		if t.kexActive() {
			if !isChannelData(p[0]) && t.wr.queued+len(p) <= maxQueued {
				t.queueLocked(p)
				t.wmu.Unlock()
				return nil
			}
			t.wmu.Unlock()
			if !wait {
				return errKexPending
			}
			if err := t.waitKex(true); err != nil {
				return err
			}
			continue
		}
		break
	}
	defer t.wmu.Unlock()
	if err := t.writeLocked(p); err != nil {
		return err
	}
	if t.rekeyDue(t.wr.bytes, t.wr.pkt) {
		t.requestRekey()
	}
	return nil
}

// maxMessage is the largest message we send: room for padding, and for
// zlib's expansion of data that does not compress (5 bytes a 16 KiB
// block, and the flush).
const maxMessage = maxPacket - maxPacket/1024 - 64

// isChannelData: SSH_MSG_CHANNEL_DATA and _EXTENDED_DATA (RFC 4254).
func isChannelData(msg byte) bool { return msg == 94 || msg == 95 }

// maxQueued bounds the messages queued during a key exchange.
const maxQueued = maxPacket

// queueLocked keeps p until our NEWKEYS is out. Channel data waits for
// the key exchange to end, other messages queue up to maxQueued: the
// reading goroutine runs the exchange, and must be able to answer what
// it reads (window adjustments, replies) without waiting for an exchange
// that only it can finish. wmu is held.
func (t *transport) queueLocked(p []byte) {
	t.wr.queue = append(t.wr.queue, bytes.Clone(p))
	t.wr.queued += len(p)
}

// flushLocked sends what waited for the key exchange; wmu is held.
func (t *transport) flushLocked() {
	for i, p := range t.wr.queue {
		t.writeLocked(p)
		t.wr.queue[i] = nil
	}
	t.wr.queue, t.wr.queued = t.wr.queue[:0], 0
}

func (t *transport) kexActive() bool {
	t.kmu.Lock()
	defer t.kmu.Unlock()
	return t.kx.pending > 0
}

// waitKex returns why the connection is dead, if it is; with wait, it
// first waits until no key exchange is under way.
func (t *transport) waitKex(wait bool) error {
	t.kmu.Lock()
	defer t.kmu.Unlock()
	for wait && t.kx.pending > 0 && t.kx.dead == nil {
		t.kcond.Wait()
	}
	return t.kx.dead
}

// endKex lets writers go once our NEWKEYS is out, unless the next
// exchange's KEXINIT followed it.
func (t *transport) endKex() {
	t.kmu.Lock()
	t.kx.pending--
	t.kcond.Broadcast()
	t.kmu.Unlock()
}

// markDead wakes every writer waiting for a key exchange with err.
func (t *transport) markDead(err error) {
	t.kmu.Lock()
	if t.kx.dead == nil {
		t.kx.dead = err
	}
	t.kcond.Broadcast()
	t.kmu.Unlock()
}

// writeLocked frames, protects and sends one message; wmu is held.
func (t *transport) writeLocked(p []byte) error {
	if t.wr.err != nil {
		return t.wr.err
	}
	if t.wr.deflate == nil && t.wr.comp == "zlib@openssh.com" && t.authed.Load() {
		t.wr.deflate = newDeflater()
	}
	if t.wr.deflate != nil {
		c, err := t.wr.deflate.compress(p)
		if err != nil {
			t.wr.err = err
			return err
		}
		p = c
	}
	c := t.wr.cipher
	align := c.align()
	body := 1 + len(p)
	if !c.aadLength() {
		body += 4
	}
	pad := align - body%align
	if pad < minPadding {
		pad += align
	}
	pktLen := 1 + len(p) + pad
	if pktLen > maxPacket {
		// Only compression's worst case gets here: its stream already
		// holds the message, so the connection cannot go on.
		t.wr.err = fmt.Errorf("ssh: compressed message of %d bytes exceeds the packet limit", len(p))
		t.markDead(t.wr.err)
		return t.wr.err
	}
	need := 4 + pktLen
	buf := grow(t.wr.buf, need+64)[:need]
	binary.BigEndian.PutUint32(buf, uint32(pktLen))
	buf[4] = byte(pad)
	copy(buf[5:], p)
	if _, err := rand.Read(buf[5+len(p):]); err != nil {
		return err
	}
	out := c.seal(t.wr.seq, buf)
	t.wr.buf = out[:0]
	t.wr.seq++
	t.wr.pkt++
	t.wr.bytes += uint64(len(out))
	if _, err := t.nc.Write(out); err != nil {
		t.wr.err = err
		t.markDead(err)
		return err
	}
	return nil
}

// readRaw reads, opens and inflates one packet.
func (t *transport) readRaw() ([]byte, error) {
	if t.rd.err != nil {
		return nil, t.rd.err
	}
	body, buf, err := t.rd.cipher.open(t.rd.seq, t.rd.br, t.rd.buf)
	t.rd.buf = buf
	if err != nil {
		if errors.Is(err, errMAC) {
			t.sendDisconnect(disconnectMACError, err.Error())
		} else if errors.Is(err, errPacketLength) {
			t.sendDisconnect(disconnectProtocolError, err.Error())
		}
		return nil, t.readFailed(err)
	}
	t.rd.seq++
	t.rd.pkt++
	t.rd.bytes += uint64(len(body)) + 4
	pad := int(body[0])
	if pad < minPadding || pad+1 >= len(body) {
		return nil, t.readFailed(errPacketPadding)
	}
	p := body[1 : len(body)-pad]
	// Checked once the packet is in: a reader waits for the next packet
	// before authentication ends.
	if t.rd.inflate == nil && t.rd.comp == "zlib@openssh.com" && t.authed.Load() {
		t.rd.inflate = newInflater()
	}
	if t.rd.inflate != nil {
		if p, err = t.rd.inflate.decompress(p); err != nil {
			return nil, t.readFailed(err)
		}
		if len(p) == 0 {
			return nil, t.readFailed(errors.New("ssh: empty message"))
		}
	}
	return p, nil
}

// readFailed ends the connection's reading, and its writing too: writers
// waiting for a key exchange that will not finish must not hang.
func (t *transport) readFailed(err error) error {
	t.rd.err = err
	t.markDead(err)
	if t.rd.inflate != nil {
		t.rd.inflate.close()
		t.rd.inflate = nil
	}
	return err
}

func (t *transport) readPacket() ([]byte, error) {
	t.rmu.Lock()
	defer t.rmu.Unlock()
	for {
		p, err := t.readRaw()
		if err != nil {
			return nil, err
		}
		switch p[0] {
		case msgIgnore, msgDebug, msgUnimplemented:
			continue
		case msgDisconnect:
			return nil, t.readFailed(parseDisconnect(p))
		case msgExtInfo:
			if err := t.readExtInfo(p); err != nil {
				return nil, t.readFailed(err)
			}
			continue
		case msgKexInit:
			if err := t.runKex(p); err != nil {
				t.sendDisconnect(disconnectKeyExchangeFailed, err.Error())
				return nil, t.readFailed(err)
			}
			continue
		}
		if p[0] >= msgKexInit && p[0] < 50 {
			err := fmt.Errorf("ssh: unexpected key exchange message %d", p[0])
			t.sendDisconnect(disconnectProtocolError, err.Error())
			return nil, t.readFailed(err)
		}
		if t.rekeyDue(t.rd.bytes, t.rd.pkt) {
			t.requestRekey()
		}
		return p, nil
	}
}

func parseDisconnect(p []byte) error {
	r := pktReader{b: p[1:]}
	e := &DisconnectError{Reason: r.uint32(), Message: string(r.string())}
	if !r.ok() {
		return errors.New("ssh: malformed disconnect message")
	}
	return e
}

// sendDisconnect tells the peer why we end, best effort, through the
// sender so as not to wait.
func (t *transport) sendDisconnect(reason uint32, msg string) {
	p := appendSSHUint32([]byte{msgDisconnect}, reason)
	p = appendSSHString(p, []byte(msg))
	p = appendSSHString(p, nil)
	t.send(func() {
		t.wmu.Lock()
		defer t.wmu.Unlock()
		if t.wr.err == nil {
			t.writeLocked(p)
			t.wr.err = errClosed
		}
		t.markDead(errClosed)
	})
}

// readExtInfo records server-sig-algs from the server's EXT_INFO (RFC
// 8308 2.3); a server ignores a client's.
func (t *transport) readExtInfo(p []byte) error {
	if !t.isClient {
		return nil
	}
	t.debugf(1, "SSH2_MSG_EXT_INFO received")
	r := pktReader{b: p[1:]}
	n := r.uint32()
	if n > 64 {
		return fmt.Errorf("ssh: EXT_INFO with %d extensions", n)
	}
	for range n {
		name, value := r.string(), r.string()
		if !r.ok() {
			return errShortMessage
		}
		if string(name) == "server-sig-algs" {
			algs := pktReader{b: appendSSHString(nil, value)}
			t.mu.Lock()
			t.sigAlgs = algs.nameList()
			t.mu.Unlock()
			t.debugf(1, "kex_input_ext_info: server-sig-algs=<%s>", value)
		} else if string(name) == "publickey-hostbound@openssh.com" {
			t.mu.Lock()
			t.hostBnd = string(value) == "0"
			t.mu.Unlock()
			t.debugf(1, "kex_input_ext_info: %s=<%s>", name, value)
		}
	}
	if !r.ok() {
		return errShortMessage
	}
	return nil
}

// serverSigAlgList is what our server accepts for user authentication
// signatures, as server-sig-algs.
func serverSigAlgList() []string {
	return []string{"ssh-ed25519", "sk-ssh-ed25519@openssh.com", "ecdsa-sha2-nistp256",
		"ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "sk-ecdsa-sha2-nistp256@openssh.com",
		"rsa-sha2-512", "rsa-sha2-256"}
}

func (t *transport) sessionID() []byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.sessID
}

// authenticated starts delayed compression in both directions: a
// server calls it once it has sent USERAUTH_SUCCESS, a client once it
// has read it, each before its next read.
func (t *transport) authenticated() {
	t.authed.Store(true)
}

func (t *transport) algorithms() sshwire.Algorithms {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := t.algs
	dir := func(d int) sshwire.DirectionAlgorithms {
		return sshwire.DirectionAlgorithms{Cipher: n.cipher[d], MAC: n.mac[d], Compression: n.compression[d]}
	}
	a := sshwire.Algorithms{KeyExchange: n.kex, HostKey: n.hostKey}
	if t.isClient {
		a.Write, a.Read = dir(0), dir(1)
	} else {
		a.Read, a.Write = dir(0), dir(1)
	}
	return a
}

func (t *transport) serverSigAlgs() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.sigAlgs
}

// packetOverhead bounds what framing adds to a message: length, padding
// length, padding up to a 16-byte block and the minimum, a MAC of up to
// 64 bytes, and zlib's framing of a message that does not compress.
const packetOverhead = 4 + 1 + 16 + minPadding + 64 + 32

func (t *transport) maxPayload() int { return t.carried }

// minRTTEvery is how often minRTT asks the kernel again: its minimum
// moves little, and growing windows ask on every adjust.
const minRTTEvery = 250 * time.Millisecond

func (t *transport) minRTT() time.Duration {
	now := time.Now().UnixNano()
	if at := t.rttAt.Load(); at != 0 && now-at < int64(minRTTEvery) {
		return time.Duration(t.rtt.Load())
	}
	rtt := sshio.MinRTT(t.nc)
	t.rtt.Store(int64(rtt))
	t.rttAt.Store(now)
	return rtt
}

func (t *transport) cork() func() { return sshio.Cork(t.nc) }

func (t *transport) clientVersion() []byte { return t.versions[0] }
func (t *transport) serverVersion() []byte { return t.versions[1] }

func (t *transport) close() error {
	t.once.Do(func() { close(t.closed) })
	err := t.nc.Close()
	t.markDead(errClosed)
	// The reader fails promptly on the closed connection; then its
	// decompressor can stop.
	t.rmu.Lock()
	if t.rd.inflate != nil {
		t.rd.inflate.close()
		t.rd.inflate = nil
	}
	if t.rd.err == nil {
		t.rd.err = errClosed
	}
	t.rmu.Unlock()
	return err
}
