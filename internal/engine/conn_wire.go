package engine

// Message numbers and the encoding of the fields the user authentication
// and connection protocols carry (RFC 4251 section 5): byte, boolean,
// uint32 and string, built by appending and read by a cursor that turns
// any shortfall into a failed parse instead of a panic.

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// Message numbers of RFC 4252 and 4254, and the three transport messages
// these layers send or meet themselves.
const (
	layerMsgDisconnect     = 1
	layerMsgServiceRequest = 5
	layerMsgServiceAccept  = 6
	layerMsgExtInfo        = 7

	msgUserauthRequest = 50
	msgUserauthFailure = 51
	msgUserauthSuccess = 52
	msgUserauthBanner  = 53
	// 60 and 61 are method specific: PK_OK, PASSWD_CHANGEREQ and
	// INFO_REQUEST share 60, INFO_RESPONSE is 61.
	msgUserauthMethod60 = 60
	msgUserauthInfoResp = 61

	msgGlobalRequest       = 80
	msgRequestSuccess      = 81
	msgRequestFailure      = 82
	msgChannelOpen         = 90
	msgChannelOpenConfirm  = 91
	msgChannelOpenFailure  = 92
	msgChannelWindowAdjust = 93
	msgChannelData         = 94
	msgChannelExtendedData = 95
	msgChannelEOF          = 96
	msgChannelClose        = 97
	msgChannelRequest      = 98
	msgChannelSuccess      = 99
	msgChannelFailure      = 100
	disconnectNoService    = 7
	disconnectNoMoreAuth   = 14
)

func addByte(b []byte, v byte) []byte { return append(b, v) }

func addBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

func addU32(b []byte, v uint32) []byte { return binary.BigEndian.AppendUint32(b, v) }

func addStr(b []byte, s string) []byte {
	b = addU32(b, uint32(len(s)))
	return append(b, s...)
}

func addBytes(b []byte, s []byte) []byte {
	b = addU32(b, uint32(len(s)))
	return append(b, s...)
}

// addNameList appends a comma-separated name-list.
func addNameList(b []byte, names []string) []byte {
	n := 0
	for i, s := range names {
		if i > 0 {
			n++
		}
		n += len(s)
	}
	b = addU32(b, uint32(n))
	for i, s := range names {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, s...)
	}
	return b
}

// cursor reads fields off a message; after a short read ok is false and
// every later read returns zero values.
type cursor struct {
	b  []byte
	ok bool
}

func newCursor(b []byte) *cursor { return &cursor{b: b, ok: true} }

func (c *cursor) u8() byte {
	if !c.ok || len(c.b) < 1 {
		c.ok = false
		return 0
	}
	v := c.b[0]
	c.b = c.b[1:]
	return v
}

func (c *cursor) boolean() bool { return c.u8() != 0 }

func (c *cursor) u32() uint32 {
	if !c.ok || len(c.b) < 4 {
		c.ok = false
		return 0
	}
	v := binary.BigEndian.Uint32(c.b)
	c.b = c.b[4:]
	return v
}

// bytes returns a string field without copying it.
func (c *cursor) bytes() []byte {
	n := c.u32()
	if !c.ok || uint64(len(c.b)) < uint64(n) {
		c.ok = false
		return nil
	}
	v := c.b[:n:n]
	c.b = c.b[n:]
	return v
}

func (c *cursor) str() string { return string(c.bytes()) }

func (c *cursor) nameList() []string {
	s := c.bytes()
	if !c.ok || len(s) == 0 {
		return nil
	}
	return strings.Split(string(s), ",")
}

// rest returns what is left, copied: callers keep it past the packet.
func (c *cursor) rest() []byte {
	if !c.ok {
		return nil
	}
	v := append([]byte(nil), c.b...)
	c.b = nil
	return v
}

// end reports whether the message parsed and nothing is left over.
func (c *cursor) end() bool { return c.ok && len(c.b) == 0 }

// disconnectMsg is SSH_MSG_DISCONNECT with an empty language tag.
func disconnectMsg(reason uint32, message string) []byte {
	b := addByte(nil, layerMsgDisconnect)
	b = addU32(b, reason)
	b = addStr(b, message)
	return addStr(b, "")
}

// protocolError is a peer that broke RFC 4252 or 4254; it ends the
// connection.
type protocolError struct{ msg string }

func (e *protocolError) Error() string { return "ssh: protocol error: " + e.msg }

func protoErrorf(format string, args ...any) error {
	return &protocolError{msg: fmt.Sprintf(format, args...)}
}
