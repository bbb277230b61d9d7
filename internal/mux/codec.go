// Package mux speaks OpenSSH's connection-multiplexing protocol
// (PROTOCOL.mux, version 4) on a Unix socket: the message codec, a master
// that shares one authenticated SSH connection with many local clients, and
// a client that talks to a jumpgate master or to OpenSSH's own
// ControlMaster.
//
// Flow (master): [Listen] creates the socket atomically (0600) → [Master.Serve]
// accepts, checks the peer's uid (SO_PEERCRED), exchanges hellos and
// serves requests; a session gets the client's stdin/stdout/stderr as
// passed file descriptors (SCM_RIGHTS) and runs as a channel of the shared
// connection. Flow (client): [Dial] → hello → requests ([Client.Check],
// [Client.Session], [Client.StdioForward], …).
//
// Where OpenSSH's code and PROTOCOL.mux disagree we follow the code: the
// "bool" flags of MUX_C_NEW_SESSION are uint32, and the connect port of
// MUX_C_NEW_STDIO_FWD is a uint32, not a string.
package mux

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Version is the protocol version we speak (PROTOCOL.mux section 1).
const Version = 4

// MaxPacket bounds one message; a longer length field is a protocol
// error, so a garbage header cannot make us allocate gigabytes.
const MaxPacket = 256 << 10

// MsgType is a PROTOCOL.mux message number.
type MsgType uint32

// Message numbers from PROTOCOL.mux section 11 (and MUX_C_PROXY from
// mux.c), plus a jumpgate extension for `jumpgate ctl`.
const (
	MsgHello           MsgType = 0x00000001
	MsgNewSession      MsgType = 0x10000002
	MsgAliveCheck      MsgType = 0x10000004
	MsgTerminate       MsgType = 0x10000005
	MsgOpenForward     MsgType = 0x10000006
	MsgCloseForward    MsgType = 0x10000007
	MsgNewStdioForward MsgType = 0x10000008
	MsgStopListening   MsgType = 0x10000009
	MsgProxy           MsgType = 0x1000000f
	// MsgInfo asks a jumpgate master for its statistics; OpenSSH answers
	// it with MUX_S_FAILURE "unsupported request".
	MsgInfo MsgType = 0x10004a01
	// MsgKeepAlive asks a master that offers [ExtKeepAlive] to probe the
	// server (keepalive@openssh.com): it answers MUX_S_OK once the server
	// has answered, MUX_S_FAILURE if the connection is gone, and nothing
	// while the server stays silent.
	MsgKeepAlive MsgType = 0x10004a02

	MsgOK               MsgType = 0x80000001
	MsgPermissionDenied MsgType = 0x80000002
	MsgFailure          MsgType = 0x80000003
	MsgExitMessage      MsgType = 0x80000004
	MsgAlive            MsgType = 0x80000005
	MsgSessionOpened    MsgType = 0x80000006
	MsgRemotePort       MsgType = 0x80000007
	MsgTTYAllocFail     MsgType = 0x80000008
	MsgProxyReply       MsgType = 0x8000000f
	MsgInfoReply        MsgType = 0x80004a01
	// MsgExitSignal and MsgDisconnected tell a client that sent
	// [ExtSessionEvents] how its session ended when there is no exit
	// status to pass: the remote command was killed by a signal, or the
	// user typed the escape sequence "~.".
	MsgExitSignal   MsgType = 0x80004a02
	MsgDisconnected MsgType = 0x80004a03
	// MsgConnectionLost tells a client that sent [ExtKeepAlive] why the
	// shared connection ended, in ssh(1)'s words, before the master
	// closes the control connection.
	MsgConnectionLost MsgType = 0x80004a04
)

// Forwarding types of MUX_C_OPEN_FWD and MUX_C_CLOSE_FWD.
const (
	FwdLocal   = 1
	FwdRemote  = 2
	FwdDynamic = 3
)

// ExtClientForwards is a MUX_MSG_HELLO extension of ours. A jumpgate
// master sends it to say it supports it; a client sends it to say that the
// forwards it asks for are its command line's and must end when its
// control connection does, even if it opens no session (-N). Without it,
// forwards of a client that opened no session (-O forward) stay with the
// master, as in OpenSSH.
const ExtClientForwards = "client-forwards@jumpgate"

// ExtSessionEvents is a MUX_MSG_HELLO extension of ours: a jumpgate
// master offers it, and a client that sends it gets [ExitSignal] before
// the exit status 255 of a session killed by a signal, and [Disconnected]
// when "~." ended its session, so that it can word the end as a direct
// connection would. OpenSSH's clients get neither, as from OpenSSH's
// master.
const ExtSessionEvents = "session-events@jumpgate"

// ExtKeepAlive is a MUX_MSG_HELLO extension of ours. A jumpgate master
// offers it and then answers [MsgKeepAlive], so that a client applies its
// own ServerAliveInterval through the master as ssh(1) does on a
// connection of its own; a client sends it to get [ConnectionLost] when
// the master's own keepalives (or anything else) end the connection.
// Against a master without it (OpenSSH's), the master's settings alone
// apply, as with ssh(1).
const ExtKeepAlive = "keepalive@jumpgate"

// PortStreamLocal in a port field means the host field is a Unix socket
// path (PROTOCOL.mux section 6).
const PortStreamLocal = 0xfffffffe

// NoEscape is the escape char meaning "none".
const NoEscape = 0xffffffff

// ProtocolError is a malformed or unexpected message.
type ProtocolError struct {
	Msg string
}

func (e *ProtocolError) Error() string { return "mux protocol: " + e.Msg }

func protoErr(format string, args ...any) error {
	return &ProtocolError{Msg: fmt.Sprintf(format, args...)}
}

// Message is one decoded PROTOCOL.mux message.
type Message interface {
	Type() MsgType
	encode(b []byte) []byte
}

// Extension is a name/value pair of MUX_MSG_HELLO.
type Extension struct{ Name, Value string }

// Hello is MUX_MSG_HELLO, sent first by both sides.
type Hello struct {
	Version    uint32
	Extensions []Extension
}

// NewSession is MUX_C_NEW_SESSION; stdin, stdout and stderr follow as
// three passed descriptors.
type NewSession struct {
	ID                         uint32
	Reserved                   string
	TTY, X11, Agent, Subsystem bool
	EscapeChar                 uint32
	Term                       string
	Command                    string
	Env                        []string
}

// Request is one of the messages made of a request id only
// (MUX_C_ALIVE_CHECK, MUX_C_TERMINATE, MUX_C_STOP_LISTENING, MUX_C_PROXY,
// our MsgInfo and MsgKeepAlive) or the replies made of one (MUX_S_OK, MUX_S_PROXY).
type Request struct {
	Kind MsgType
	ID   uint32
}

// Forward is MUX_C_OPEN_FWD or MUX_C_CLOSE_FWD (Close set).
type Forward struct {
	Close       bool
	ID          uint32
	Kind        uint32 // FwdLocal, FwdRemote, FwdDynamic
	ListenHost  string
	ListenPort  uint32
	ConnectHost string
	ConnectPort uint32
}

// StdioForward is MUX_C_NEW_STDIO_FWD; stdin and stdout follow as two
// passed descriptors.
type StdioForward struct {
	ID       uint32
	Reserved string
	Host     string
	Port     uint32
}

// Refusal is MUX_S_PERMISSION_DENIED or MUX_S_FAILURE.
type Refusal struct {
	Denied bool
	ID     uint32
	Reason string
}

// ExitMessage is MUX_S_EXIT_MESSAGE.
type ExitMessage struct{ Session, Status uint32 }

// ExitSignal is our MsgExitSignal (exit-signal, RFC 4254 section 6.10).
type ExitSignal struct {
	Session    uint32
	Signal     string // without "SIG"
	CoreDumped bool
	Message    string
}

// Disconnected is our MsgDisconnected.
type Disconnected struct{ Session uint32 }

// ConnectionLost is our MsgConnectionLost.
type ConnectionLost struct{ Reason string }

// Alive is MUX_S_ALIVE.
type Alive struct{ ID, PID uint32 }

// SessionOpened is MUX_S_SESSION_OPENED.
type SessionOpened struct{ ID, Session uint32 }

// RemotePort is MUX_S_REMOTE_PORT.
type RemotePort struct{ ID, Port uint32 }

// TTYAllocFail is MUX_S_TTY_ALLOC_FAIL.
type TTYAllocFail struct{ Session uint32 }

// InfoReply is our MsgInfoReply: the master's statistics as JSON.
type InfoReply struct {
	ID   uint32
	JSON string
}

func (*Hello) Type() MsgType          { return MsgHello }
func (*NewSession) Type() MsgType     { return MsgNewSession }
func (r *Request) Type() MsgType      { return r.Kind }
func (*StdioForward) Type() MsgType   { return MsgNewStdioForward }
func (*ExitMessage) Type() MsgType    { return MsgExitMessage }
func (*Alive) Type() MsgType          { return MsgAlive }
func (*SessionOpened) Type() MsgType  { return MsgSessionOpened }
func (*RemotePort) Type() MsgType     { return MsgRemotePort }
func (*TTYAllocFail) Type() MsgType   { return MsgTTYAllocFail }
func (*InfoReply) Type() MsgType      { return MsgInfoReply }
func (*ExitSignal) Type() MsgType     { return MsgExitSignal }
func (*Disconnected) Type() MsgType   { return MsgDisconnected }
func (*ConnectionLost) Type() MsgType { return MsgConnectionLost }

func (f *Forward) Type() MsgType {
	if f.Close {
		return MsgCloseForward
	}
	return MsgOpenForward
}

func (r *Refusal) Type() MsgType {
	if r.Denied {
		return MsgPermissionDenied
	}
	return MsgFailure
}

func putU32(b []byte, v uint32) []byte { return binary.BigEndian.AppendUint32(b, v) }

func putString(b []byte, s string) []byte {
	b = putU32(b, uint32(len(s)))
	return append(b, s...)
}

func putBool(b []byte, v bool) []byte {
	if v {
		return putU32(b, 1)
	}
	return putU32(b, 0)
}

func (m *Hello) encode(b []byte) []byte {
	b = putU32(b, m.Version)
	for _, e := range m.Extensions {
		b = putString(putString(b, e.Name), e.Value)
	}
	return b
}

func (m *NewSession) encode(b []byte) []byte {
	b = putString(putU32(b, m.ID), m.Reserved)
	b = putBool(putBool(putBool(putBool(b, m.TTY), m.X11), m.Agent), m.Subsystem)
	b = putString(putString(putU32(b, m.EscapeChar), m.Term), m.Command)
	for _, e := range m.Env {
		b = putString(b, e)
	}
	return b
}

func (m *Request) encode(b []byte) []byte { return putU32(b, m.ID) }

func (m *Forward) encode(b []byte) []byte {
	b = putString(putU32(putU32(b, m.ID), m.Kind), m.ListenHost)
	return putU32(putString(putU32(b, m.ListenPort), m.ConnectHost), m.ConnectPort)
}

func (m *StdioForward) encode(b []byte) []byte {
	return putU32(putString(putString(putU32(b, m.ID), m.Reserved), m.Host), m.Port)
}

func (m *Refusal) encode(b []byte) []byte        { return putString(putU32(b, m.ID), m.Reason) }
func (m *ExitMessage) encode(b []byte) []byte    { return putU32(putU32(b, m.Session), m.Status) }
func (m *Alive) encode(b []byte) []byte          { return putU32(putU32(b, m.ID), m.PID) }
func (m *SessionOpened) encode(b []byte) []byte  { return putU32(putU32(b, m.ID), m.Session) }
func (m *RemotePort) encode(b []byte) []byte     { return putU32(putU32(b, m.ID), m.Port) }
func (m *TTYAllocFail) encode(b []byte) []byte   { return putU32(b, m.Session) }
func (m *InfoReply) encode(b []byte) []byte      { return putString(putU32(b, m.ID), m.JSON) }
func (m *Disconnected) encode(b []byte) []byte   { return putU32(b, m.Session) }
func (m *ConnectionLost) encode(b []byte) []byte { return putString(b, m.Reason) }

func (m *ExitSignal) encode(b []byte) []byte {
	return putString(putBool(putString(putU32(b, m.Session), m.Signal), m.CoreDumped), m.Message)
}

// Encode returns m as a packet body: type then fields, without the length.
func Encode(m Message) []byte {
	return m.encode(putU32(nil, uint32(m.Type())))
}

// reader takes fields off a packet body.
type reader struct {
	b   []byte
	err error
}

func (r *reader) u32(field string) uint32 {
	if r.err != nil {
		return 0
	}
	if len(r.b) < 4 {
		r.err = protoErr("truncated %s", field)
		return 0
	}
	v := binary.BigEndian.Uint32(r.b)
	r.b = r.b[4:]
	return v
}

func (r *reader) str(field string) string {
	n := r.u32(field + " length")
	if r.err != nil {
		return ""
	}
	if uint64(n) > uint64(len(r.b)) {
		r.err = protoErr("%s length %d exceeds the %d bytes left", field, n, len(r.b))
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

func (r *reader) flag(field string) bool { return r.u32(field) != 0 }

// Decode parses a packet body. Unknown message types give a
// *ProtocolError; trailing bytes after the known fields are ignored, as
// OpenSSH does, except where the protocol defines a list (hello
// extensions, session environment).
func Decode(body []byte) (Message, error) {
	r := &reader{b: body}
	t := MsgType(r.u32("message type"))
	if r.err != nil {
		return nil, r.err
	}
	var m Message
	switch t {
	case MsgHello:
		h := &Hello{Version: r.u32("version")}
		for r.err == nil && len(r.b) > 0 {
			h.Extensions = append(h.Extensions, Extension{Name: r.str("extension name"), Value: r.str("extension value")})
		}
		m = h
	case MsgNewSession:
		s := &NewSession{ID: r.u32("request id"), Reserved: r.str("reserved")}
		s.TTY, s.X11, s.Agent, s.Subsystem = r.flag("tty flag"), r.flag("x11 flag"), r.flag("agent flag"), r.flag("subsystem flag")
		s.EscapeChar, s.Term, s.Command = r.u32("escape char"), r.str("terminal type"), r.str("command")
		for r.err == nil && len(r.b) > 0 {
			s.Env = append(s.Env, r.str("environment string"))
		}
		m = s
	case MsgAliveCheck, MsgTerminate, MsgStopListening, MsgProxy, MsgInfo, MsgKeepAlive, MsgOK, MsgProxyReply:
		m = &Request{Kind: t, ID: r.u32("request id")}
	case MsgOpenForward, MsgCloseForward:
		m = &Forward{Close: t == MsgCloseForward, ID: r.u32("request id"), Kind: r.u32("forwarding type"),
			ListenHost: r.str("listen host"), ListenPort: r.u32("listen port"),
			ConnectHost: r.str("connect host"), ConnectPort: r.u32("connect port")}
	case MsgNewStdioForward:
		m = &StdioForward{ID: r.u32("request id"), Reserved: r.str("reserved"), Host: r.str("connect host"), Port: r.u32("connect port")}
	case MsgPermissionDenied, MsgFailure:
		m = &Refusal{Denied: t == MsgPermissionDenied, ID: r.u32("request id"), Reason: r.str("reason")}
	case MsgExitMessage:
		m = &ExitMessage{Session: r.u32("session id"), Status: r.u32("exit value")}
	case MsgAlive:
		m = &Alive{ID: r.u32("request id"), PID: r.u32("pid")}
	case MsgSessionOpened:
		m = &SessionOpened{ID: r.u32("request id"), Session: r.u32("session id")}
	case MsgRemotePort:
		m = &RemotePort{ID: r.u32("request id"), Port: r.u32("port")}
	case MsgTTYAllocFail:
		m = &TTYAllocFail{Session: r.u32("session id")}
	case MsgInfoReply:
		m = &InfoReply{ID: r.u32("request id"), JSON: r.str("info")}
	case MsgExitSignal:
		m = &ExitSignal{Session: r.u32("session id"), Signal: r.str("signal"), CoreDumped: r.flag("core dumped"), Message: r.str("message")}
	case MsgDisconnected:
		m = &Disconnected{Session: r.u32("session id")}
	case MsgConnectionLost:
		m = &ConnectionLost{Reason: r.str("reason")}
	default:
		return nil, &unknownTypeError{t: t, id: peekID(body)}
	}
	if r.err != nil {
		return nil, r.err
	}
	return m, nil
}

// unknownTypeError is a well-framed message of a type we do not know; the
// master answers it with MUX_S_FAILURE instead of dropping the client.
type unknownTypeError struct {
	t  MsgType
	id uint32
}

func (e *unknownTypeError) Error() string {
	return fmt.Sprintf("mux protocol: unsupported message type 0x%08x", uint32(e.t))
}

func peekID(body []byte) uint32 {
	if len(body) < 8 {
		return 0
	}
	return binary.BigEndian.Uint32(body[4:])
}

// ReadPacket reads one length-prefixed packet body from r.
func ReadPacket(r io.Reader) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n > MaxPacket {
		return nil, protoErr("packet length %d exceeds %d", n, MaxPacket)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return body, nil
}

// WritePacket writes m with its length prefix in one write.
func WritePacket(w io.Writer, m Message) error {
	body := Encode(m)
	b := make([]byte, 0, 4+len(body))
	b = append(putU32(b, uint32(len(body))), body...)
	_, err := w.Write(b)
	return err
}
