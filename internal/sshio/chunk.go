// Package sshio holds how we write to SSH channels, shared by every
// feature that copies bulk data into one (forwards, sessions, the mux
// master's clients).
package sshio

import "io"

// ChannelChunk is the most we hand an SSH channel in one write. x/crypto
// fills packets to the peer's maximum (32 KiB from OpenSSH), and through a
// jump host that whole packet, with its own header, padding and MAC, is
// data on the jump host's channel: a few dozen bytes over the same 32 KiB,
// so every packet became a full one and a runt on every hop, each
// encrypted, sent and decrypted on its own. 512 bytes less leaves room for
// the framing of several hops.
const ChannelChunk = 32<<10 - 512

// ChannelWriter writes to w, an SSH channel, in chunks of ChannelChunk,
// unless the channel sizes its packets itself (it tells its message size,
// as our engine's do): then a write goes whole, and the channel can send
// its packets as one burst (Cork). A channel seen as a net.Conn
// (sshwire.ChannelConn) does not tell: see there.
type ChannelWriter struct{ W io.Writer }

func (c ChannelWriter) Write(p []byte) (int, error) {
	if s, ok := c.W.(interface{ MaxMessage() int }); ok && s.MaxMessage() > 0 {
		return c.W.Write(p)
	}
	total := 0
	for len(p) > 0 {
		n, err := c.W.Write(p[:min(len(p), ChannelChunk)])
		total += n
		if err != nil {
			return total, err
		}
		p = p[n:]
	}
	return total, nil
}
