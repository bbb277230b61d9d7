package engine

// The messages of user authentication (RFC 4252, RFC 4256): their
// encoders and decoders. Decoders reject trailing bytes and short fields.

const serviceUserauth = "ssh-userauth"
const serviceConnection = "ssh-connection"

// maxPrompts bounds a keyboard-interactive round: OpenSSH's own bound.
const maxPrompts = 100

// userauthRequest is SSH_MSG_USERAUTH_REQUEST (RFC 4252 section 5).
type userauthRequest struct {
	user, service, method string
	// publickey: hasSig, algo, key, sig; password: password, and
	// hasSig set for a password change, which we refuse.
	hasSig   bool
	algo     string
	key, sig []byte
	// hostKey: publickey-hostbound-v00@openssh.com's server host key.
	hostKey  []byte
	password []byte
	// keyboard-interactive: the language tag and submethods are read
	// and ignored (RFC 4256 section 3.1).
}

func (r *userauthRequest) marshal() []byte {
	b := addByte(nil, msgUserauthRequest)
	b = addStr(b, r.user)
	b = addStr(b, r.service)
	b = addStr(b, r.method)
	switch r.method {
	case "publickey", methodHostbound:
		b = addBool(b, r.hasSig)
		b = addStr(b, r.algo)
		b = addBytes(b, r.key)
		if r.method == methodHostbound {
			b = addBytes(b, r.hostKey)
		}
		if r.hasSig {
			b = addBytes(b, r.sig)
		}
	case "password":
		b = addBool(b, r.hasSig)
		b = addBytes(b, r.password)
	case "keyboard-interactive":
		b = addStr(b, "")
		b = addStr(b, "")
	}
	return b
}

func parseUserauthRequest(p []byte) (*userauthRequest, bool) {
	if len(p) == 0 || p[0] != msgUserauthRequest {
		return nil, false
	}
	c := newCursor(p[1:])
	r := &userauthRequest{user: c.str(), service: c.str(), method: c.str()}
	switch r.method {
	case "publickey":
		r.hasSig = c.boolean()
		r.algo = c.str()
		r.key = c.bytes()
		if r.hasSig {
			r.sig = c.bytes()
		}
	case "password":
		r.hasSig = c.boolean()
		r.password = c.bytes()
		if r.hasSig {
			c.bytes() // the new password
		}
	case "keyboard-interactive":
		c.str()
		c.str()
	default:
		// Unknown methods carry fields we cannot parse; they fail.
		return r, c.ok
	}
	return r, c.end()
}

// userauthFailure is SSH_MSG_USERAUTH_FAILURE.
type userauthFailure struct {
	methods []string
	partial bool
}

func (f *userauthFailure) marshal() []byte {
	b := addByte(nil, msgUserauthFailure)
	b = addNameList(b, f.methods)
	return addBool(b, f.partial)
}

func parseUserauthFailure(p []byte) (*userauthFailure, bool) {
	if len(p) == 0 || p[0] != msgUserauthFailure {
		return nil, false
	}
	c := newCursor(p[1:])
	f := &userauthFailure{methods: c.nameList(), partial: c.boolean()}
	return f, c.end()
}

// bannerMsg is SSH_MSG_USERAUTH_BANNER.
func bannerMsg(text string) []byte {
	b := addByte(nil, msgUserauthBanner)
	b = addStr(b, text)
	return addStr(b, "")
}

func parseBanner(p []byte) (string, bool) {
	if len(p) == 0 || p[0] != msgUserauthBanner {
		return "", false
	}
	c := newCursor(p[1:])
	s := c.str()
	c.str()
	return s, c.end()
}

// pkOK is SSH_MSG_USERAUTH_PK_OK (RFC 4252 section 7).
func pkOKMsg(algo string, key []byte) []byte {
	b := addByte(nil, msgUserauthMethod60)
	b = addStr(b, algo)
	return addBytes(b, key)
}

func parsePKOK(p []byte) (algo string, key []byte, ok bool) {
	if len(p) == 0 || p[0] != msgUserauthMethod60 {
		return "", nil, false
	}
	c := newCursor(p[1:])
	algo, key = c.str(), c.bytes()
	return algo, key, c.end()
}

// infoRequest is SSH_MSG_USERAUTH_INFO_REQUEST (RFC 4256 section 3.2).
type infoRequest struct {
	name, instruction string
	prompts           []string
	echos             []bool
}

func (r *infoRequest) marshal() []byte {
	b := addByte(nil, msgUserauthMethod60)
	b = addStr(b, r.name)
	b = addStr(b, r.instruction)
	b = addStr(b, "")
	b = addU32(b, uint32(len(r.prompts)))
	for i, q := range r.prompts {
		b = addStr(b, q)
		b = addBool(b, i < len(r.echos) && r.echos[i])
	}
	return b
}

func parseInfoRequest(p []byte) (*infoRequest, bool) {
	if len(p) == 0 || p[0] != msgUserauthMethod60 {
		return nil, false
	}
	c := newCursor(p[1:])
	r := &infoRequest{name: c.str(), instruction: c.str()}
	c.str() // language tag
	n := c.u32()
	if !c.ok || n > maxPrompts {
		return nil, false
	}
	for range n {
		r.prompts = append(r.prompts, c.str())
		r.echos = append(r.echos, c.boolean())
	}
	return r, c.end()
}

// infoResponseMsg is SSH_MSG_USERAUTH_INFO_RESPONSE.
func infoResponseMsg(answers []string) []byte {
	b := addByte(nil, msgUserauthInfoResp)
	b = addU32(b, uint32(len(answers)))
	for _, a := range answers {
		b = addStr(b, a)
	}
	return b
}

func parseInfoResponse(p []byte) ([]string, bool) {
	if len(p) == 0 || p[0] != msgUserauthInfoResp {
		return nil, false
	}
	c := newCursor(p[1:])
	n := c.u32()
	if !c.ok || n > maxPrompts {
		return nil, false
	}
	var out []string
	for range n {
		out = append(out, c.str())
	}
	return out, c.end()
}

// serviceMsg is SSH_MSG_SERVICE_REQUEST or SSH_MSG_SERVICE_ACCEPT.
func serviceMsg(kind byte, name string) []byte {
	return addStr(addByte(nil, kind), name)
}

func parseService(p []byte, kind byte) (string, bool) {
	if len(p) == 0 || p[0] != kind {
		return "", false
	}
	c := newCursor(p[1:])
	s := c.str()
	return s, c.end()
}

// signedData is what a publickey signature covers (RFC 4252 section 7).
func signedData(sessionID []byte, user, algo string, key []byte) []byte {
	return signedDataMethod(sessionID, user, "publickey", algo, key, nil)
}

// methodHostbound is "publickey" with the server's host key in the
// request and the signed data (OpenSSH PROTOCOL 3.3), which an agent
// checks against the host it bound its connection to.
const methodHostbound = "publickey-hostbound-v00@openssh.com"

func signedDataMethod(sessionID []byte, user, method, algo string, key, hostKey []byte) []byte {
	b := addBytes(nil, sessionID)
	b = addByte(b, msgUserauthRequest)
	b = addStr(b, user)
	b = addStr(b, serviceConnection)
	b = addStr(b, method)
	b = addBool(b, true)
	b = addStr(b, algo)
	b = addBytes(b, key)
	if method == methodHostbound {
		b = addBytes(b, hostKey)
	}
	return b
}
