package engine

// The messages of the connection protocol (RFC 4254): encoders and the
// decoders the reader dispatches with. Decoders copy what outlives the
// packet and reject short fields and trailing bytes.

// channelOpen is SSH_MSG_CHANNEL_OPEN (RFC 4254 section 5.1).
type channelOpen struct {
	kind      string
	sender    uint32
	window    uint32
	maxPacket uint32
	extra     []byte
}

func (m *channelOpen) marshal() []byte {
	b := addByte(nil, msgChannelOpen)
	b = addStr(b, m.kind)
	b = addU32(b, m.sender)
	b = addU32(b, m.window)
	b = addU32(b, m.maxPacket)
	return append(b, m.extra...)
}

func parseChannelOpen(p []byte) (*channelOpen, bool) {
	if len(p) == 0 || p[0] != msgChannelOpen {
		return nil, false
	}
	c := newCursor(p[1:])
	m := &channelOpen{kind: c.str(), sender: c.u32(), window: c.u32(), maxPacket: c.u32()}
	m.extra = c.rest()
	return m, c.ok
}

// openConfirm is SSH_MSG_CHANNEL_OPEN_CONFIRMATION.
type openConfirm struct {
	recipient, sender, window, maxPacket uint32
}

func (m *openConfirm) marshal() []byte {
	b := addByte(nil, msgChannelOpenConfirm)
	b = addU32(b, m.recipient)
	b = addU32(b, m.sender)
	b = addU32(b, m.window)
	return addU32(b, m.maxPacket)
}

// parseOpenConfirm ignores channel-type specific data after the fields.
func parseOpenConfirm(p []byte) (*openConfirm, bool) {
	if len(p) == 0 || p[0] != msgChannelOpenConfirm {
		return nil, false
	}
	c := newCursor(p[1:])
	m := &openConfirm{recipient: c.u32(), sender: c.u32(), window: c.u32(), maxPacket: c.u32()}
	return m, c.ok
}

// openFailure is SSH_MSG_CHANNEL_OPEN_FAILURE.
type openFailure struct {
	recipient uint32
	reason    uint32
	message   string
}

func (m *openFailure) marshal() []byte {
	b := addByte(nil, msgChannelOpenFailure)
	b = addU32(b, m.recipient)
	b = addU32(b, m.reason)
	b = addStr(b, m.message)
	return addStr(b, "")
}

// parseOpenFailure tolerates a missing language tag, as old servers
// omit it.
func parseOpenFailure(p []byte) (*openFailure, bool) {
	if len(p) == 0 || p[0] != msgChannelOpenFailure {
		return nil, false
	}
	c := newCursor(p[1:])
	m := &openFailure{recipient: c.u32(), reason: c.u32()}
	if !c.ok {
		return nil, false
	}
	if len(c.b) > 0 {
		m.message = c.str()
	}
	return m, c.ok
}

// globalRequestMsg is SSH_MSG_GLOBAL_REQUEST (RFC 4254 section 4).
type globalRequestMsg struct {
	name      string
	wantReply bool
	payload   []byte
}

func (m *globalRequestMsg) marshal() []byte {
	b := addByte(nil, msgGlobalRequest)
	b = addStr(b, m.name)
	b = addBool(b, m.wantReply)
	return append(b, m.payload...)
}

func parseGlobalRequest(p []byte) (*globalRequestMsg, bool) {
	if len(p) == 0 || p[0] != msgGlobalRequest {
		return nil, false
	}
	c := newCursor(p[1:])
	m := &globalRequestMsg{name: c.str(), wantReply: c.boolean()}
	m.payload = c.rest()
	return m, c.ok
}

// channelRequest is SSH_MSG_CHANNEL_REQUEST (RFC 4254 section 5.4).
type channelRequest struct {
	recipient uint32
	name      string
	wantReply bool
	payload   []byte
}

func (m *channelRequest) marshal() []byte {
	b := addByte(nil, msgChannelRequest)
	b = addU32(b, m.recipient)
	b = addStr(b, m.name)
	b = addBool(b, m.wantReply)
	return append(b, m.payload...)
}

func parseChannelRequest(p []byte) (*channelRequest, bool) {
	if len(p) == 0 || p[0] != msgChannelRequest {
		return nil, false
	}
	c := newCursor(p[1:])
	m := &channelRequest{recipient: c.u32(), name: c.str(), wantReply: c.boolean()}
	m.payload = c.rest()
	return m, c.ok
}

// channelData is SSH_MSG_CHANNEL_DATA or, with ext set,
// SSH_MSG_CHANNEL_EXTENDED_DATA; data points into the packet.
type channelData struct {
	recipient uint32
	ext       bool
	code      uint32
	data      []byte
}

func parseChannelData(p []byte) (channelData, bool) {
	var m channelData
	if len(p) == 0 || (p[0] != msgChannelData && p[0] != msgChannelExtendedData) {
		return m, false
	}
	c := newCursor(p[1:])
	m.recipient = c.u32()
	if p[0] == msgChannelExtendedData {
		m.ext = true
		m.code = c.u32()
	}
	m.data = c.bytes()
	return m, c.end()
}

// appendDataHeader starts a data message whose n bytes follow.
func appendDataHeader(b []byte, recipient uint32, ext bool, n int) []byte {
	if ext {
		b = addByte(b, msgChannelExtendedData)
		b = addU32(b, recipient)
		b = addU32(b, 1) // SSH_EXTENDED_DATA_STDERR
	} else {
		b = addByte(b, msgChannelData)
		b = addU32(b, recipient)
	}
	return addU32(b, uint32(n))
}

// parseChannelU32 reads a message of a recipient and one more uint32:
// SSH_MSG_CHANNEL_WINDOW_ADJUST.
func parseChannelU32(p []byte) (recipient, v uint32, ok bool) {
	if len(p) == 0 {
		return 0, 0, false
	}
	c := newCursor(p[1:])
	recipient, v = c.u32(), c.u32()
	return recipient, v, c.end()
}

// parseRecipient reads a message of only a recipient channel: EOF,
// CLOSE, SUCCESS and FAILURE.
func parseRecipient(p []byte) (uint32, bool) {
	if len(p) == 0 {
		return 0, false
	}
	c := newCursor(p[1:])
	r := c.u32()
	return r, c.end()
}

func recipientMsg(kind byte, recipient uint32) []byte {
	return addU32(addByte(nil, kind), recipient)
}
