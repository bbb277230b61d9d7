package engine

import (
	"fmt"
	"io"
)

// WritePacket sends p as one data message (sshwire.PacketWriter), waiting
// until the peer's window takes all of it. Write cuts a message at the
// end of the window; a datagram channel such as tun@openssh.com (OpenSSH
// PROTOCOL section 2.3) must never see a packet cut in two, since sshd
// hands each message to its tun or tap device as one packet.
func (ch *channel) WritePacket(p []byte) error {
	ch.wmu.Lock()
	defer ch.wmu.Unlock()
	ch.mu.Lock()
	n := uint32(len(p))
	if limit := min(uint32(ch.conn.maxData), ch.maxPacket); n > limit {
		ch.mu.Unlock()
		return fmt.Errorf("channel message of %d bytes, the peer takes at most %d", n, limit)
	}
	for ch.swin < n && !ch.gotClose && !ch.localClosed && ch.lost == nil {
		ch.wcond.Wait()
	}
	switch {
	case ch.lost != nil:
		err := ch.lost
		ch.mu.Unlock()
		return err
	case ch.gotClose || ch.localClosed:
		ch.mu.Unlock()
		return io.EOF
	}
	ch.swin -= n
	ch.mu.Unlock()
	return ch.sendData(false, p, new(cork))
}
