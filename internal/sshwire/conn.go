// Package sshwire is the seam between jumpgate's features and the SSH
// protocol engine under them: what a feature needs of an authenticated
// connection (RFC 4254: channels, global and channel requests), of a
// channel, and of a session on a channel, plus the handshake
// configuration an engine takes. Keys, signers, certificates, the agent
// and known_hosts stay golang.org/x/crypto/ssh's types.
//
// An engine implements [Conn], [Channel] and [NewChannel]; [Session] and
// the helpers here are written once on top of them.
package sshwire

import (
	"context"
	"fmt"
	"io"
	"net"
)

// ConnMetadata describes a connection: who logged in and over what.
type ConnMetadata interface {
	// User is the user name the client authenticated as.
	User() string
	// SessionID is the exchange hash of the first key exchange (RFC 4253
	// section 7.2).
	SessionID() []byte
	// ClientVersion and ServerVersion are the identification strings
	// without CR LF ("SSH-2.0-OpenSSH_9.2p1 Debian-2").
	ClientVersion() []byte
	ServerVersion() []byte
	RemoteAddr() net.Addr
	LocalAddr() net.Addr
}

// Conn is an authenticated SSH connection (RFC 4254), client or server
// side.
//
// Incoming channels are routed by type to [Conn.HandleChannelOpen];
// on a client-side connection a type nobody asked for is refused with
// [UnknownChannelType] and global requests nobody reads are answered
// false, as ssh(1) does. A server-side connection queues every channel
// and request until they are read from HandleChannelOpen("") and
// [Conn.GlobalRequests], since a server serves them all and must not
// refuse the session a quick client opens right after authenticating.
type Conn interface {
	ConnMetadata
	// OpenChannel opens a channel of type kind with the type-specific
	// data extra (RFC 4254 section 5.1). A refusal is an
	// *[OpenChannelError]. The requests channel must be serviced, for
	// instance with [DiscardRequests].
	OpenChannel(ctx context.Context, kind string, extra []byte) (Channel, <-chan *Request, error)
	// SendRequest sends a global request (RFC 4254 section 4); with
	// wantReply it waits for the answer and its payload.
	SendRequest(ctx context.Context, name string, wantReply bool, payload []byte) (ok bool, reply []byte, err error)
	// HandleChannelOpen returns the channels the peer opens with type
	// kind, or nil if that type is already handled. Kind "" receives every
	// type not handled by name.
	HandleChannelOpen(kind string) <-chan NewChannel
	// GlobalRequests returns the peer's global requests, or nil after the
	// first call. Each must be answered with [Request.Reply].
	GlobalRequests() <-chan *Request
	// Algorithms are those the last key exchange chose.
	Algorithms() Algorithms
	// Close ends the connection.
	Close() error
	// Wait blocks until the connection has ended and returns why.
	Wait() error
}

// Algorithms are the algorithms a key exchange negotiated.
type Algorithms struct {
	KeyExchange string
	HostKey     string
	// Read is server to client on a client connection, Write the other way.
	Read, Write DirectionAlgorithms
}

// DirectionAlgorithms are the algorithms of one direction.
type DirectionAlgorithms struct {
	Cipher      string
	MAC         string // "" for an AEAD cipher
	Compression string // "none", "zlib@openssh.com"
}

// Channel is an open channel (RFC 4254 section 5). Read and Write carry
// the channel's data, [Channel.Stderr] its extended data of type
// SSH_EXTENDED_DATA_STDERR.
type Channel interface {
	// Read reads channel data; consecutive messages may be joined.
	Read(p []byte) (int, error)
	// Write sends channel data, split to the peer's window and packet size.
	Write(p []byte) (int, error)
	// Close sends SSH_MSG_CHANNEL_CLOSE.
	Close() error
	// CloseWrite sends SSH_MSG_CHANNEL_EOF.
	CloseWrite() error
	// SendRequest sends a channel request (RFC 4254 section 5.4).
	SendRequest(name string, wantReply bool, payload []byte) (bool, error)
	// Stderr reads and writes extended data of type 1.
	Stderr() io.ReadWriter
}

// PacketReader is implemented by channels that can return one
// SSH_MSG_CHANNEL_DATA message per read, which datagram channels such as
// OpenSSH's tun@openssh.com (PROTOCOL section 2.3) need: Ethernet frames
// carry no length to split joined messages again.
type PacketReader interface {
	// ReadPacket returns the payload of the next data message. The slice
	// is the caller's.
	ReadPacket() ([]byte, error)
}

// PacketSink is implemented by channels that can hand each data message
// to a function in the connection's reader, without waking another
// goroutine: a tunnel writes each packet to its device there, one
// wake-up fewer in every packet's path, as ssh(1)'s single loop has.
type PacketSink interface {
	// SinkPackets makes f take every data message from now on, in order,
	// the ones already queued first; p is f's during the call only. f runs
	// in the connection's reader and must not wait on the connection.
	// ReadPacket then only returns at the end: io.EOF, or the first error
	// f returned (later messages are dropped).
	SinkPackets(f func(p []byte) error)
}

// PacketWriter is implemented by channels that can send a write as
// exactly one SSH_MSG_CHANNEL_DATA message, waiting for the peer's window
// to take all of it; [Channel.Write] may cut it at the window's end,
// which a datagram channel's peer takes for two packets.
type PacketWriter interface {
	// WritePacket sends p as one data message.
	WritePacket(p []byte) error
}

// NewChannel is a channel the peer asks to open.
type NewChannel interface {
	ChannelType() string
	ExtraData() []byte
	// Accept opens the channel; its requests must be serviced.
	Accept() (Channel, <-chan *Request, error)
	// Reject refuses it with SSH_MSG_CHANNEL_OPEN_FAILURE.
	Reject(reason RejectionReason, message string) error
}

// Request is a global or channel request (RFC 4254 sections 4 and 5.4).
type Request struct {
	Type      string
	WantReply bool
	Payload   []byte

	reply func(ok bool, payload []byte) error
}

// NewRequest returns a request whose [Request.Reply] calls reply; for
// implementations of the seam. A nil reply ignores the answer.
func NewRequest(kind string, wantReply bool, payload []byte, reply func(ok bool, payload []byte) error) *Request {
	return &Request{Type: kind, WantReply: wantReply, Payload: payload, reply: reply}
}

// Reply answers a request that wants a reply; payload is only sent for
// successful global requests. It does nothing when no reply is wanted.
func (r *Request) Reply(ok bool, payload []byte) error {
	if !r.WantReply || r.reply == nil {
		return nil
	}
	return r.reply(ok, payload)
}

// DiscardRequests refuses every request of in until it is closed.
func DiscardRequests(in <-chan *Request) {
	for r := range in {
		r.Reply(false, nil)
	}
}

// RejectionReason is the reason code of SSH_MSG_CHANNEL_OPEN_FAILURE
// (RFC 4254 section 5.1).
type RejectionReason uint32

// Reason codes of RFC 4254 section 5.1.
const (
	Prohibited RejectionReason = iota + 1
	ConnectionFailed
	UnknownChannelType
	ResourceShortage
)

// String words the reason as x/crypto and ssh(1) do.
func (r RejectionReason) String() string {
	switch r {
	case Prohibited:
		return "administratively prohibited"
	case ConnectionFailed:
		return "connect failed"
	case UnknownChannelType:
		return "unknown channel type"
	case ResourceShortage:
		return "resource shortage"
	}
	return fmt.Sprintf("unknown reason %d", int(r))
}

// OpenChannelError is a channel open the peer refused.
type OpenChannelError struct {
	Reason  RejectionReason
	Message string
}

func (e *OpenChannelError) Error() string {
	return fmt.Sprintf("ssh: rejected: %s (%s)", e.Reason, e.Message)
}
