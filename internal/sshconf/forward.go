package sshconf

// Forwarding specifications for LocalForward, RemoteForward and
// DynamicForward (ssh(1) -L, -R, -D), as OpenSSH's parse_forward.

import (
	"strconv"
	"strings"
)

type fwdField struct {
	arg    string
	isPath bool
}

func parseFwdField(s string) (fwdField, string, bool, bool) {
	if s == "" {
		return fwdField{}, "", false, false
	}
	if s[0] == '[' {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return fwdField{}, "", false, true
		}
		if end+1 < len(s) && s[end+1] != ':' {
			return fwdField{}, "", false, true
		}
		f := fwdField{arg: s[1:end], isPath: strings.Contains(s[1:end], "/")}
		rest := ""
		more := false
		if end+1 < len(s) {
			rest = s[end+2:]
			more = true
		}
		return f, rest, true, more
	}
	var b strings.Builder
	isPath := false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if i+1 >= len(s) {
				return fwdField{}, "", false, true
			}
			i++
			b.WriteByte(s[i])
			if s[i] == '/' {
				isPath = true
			}
			continue
		case '/':
			isPath = true
		case ':':
			return fwdField{b.String(), isPath}, s[i+1:], true, true
		}
		b.WriteByte(s[i])
	}
	return fwdField{b.String(), isPath}, "", true, false
}

func parseForward(spec string, dynamic, remote bool, getenv func(string) string) (forward, bool) {
	var f forward
	s, err := dollarExpand(spec, getenv)
	if err != nil {
		return f, false
	}
	s = strings.TrimLeft(s, " \t\n\v\f\r")
	var fields []fwdField
	more := true
	for len(fields) < 4 && more {
		var fld fwdField
		var ok bool
		fld, s, ok, more = parseFwdField(s)
		if !ok {
			if more {
				return f, false // malformed field
			}
			break
		}
		fields = append(fields, fld)
	}
	if more && s != "" {
		return f, false
	}
	port := func(x string) int {
		v, err := strconv.ParseInt(x, 10, 64)
		if err != nil || v < 0 || v > 65535 {
			return -1
		}
		return int(v)
	}
	n := len(fields)
	switch n {
	case 1:
		if fields[0].isPath {
			f.listenPath, f.listenPort = fields[0].arg, portStreamLocal
		} else {
			f.listenPort = port(fields[0].arg)
		}
		f.connectHost = "socks"
	case 2:
		switch {
		case fields[0].isPath && fields[1].isPath:
			f.listenPath, f.listenPort = fields[0].arg, portStreamLocal
			f.connectPath, f.connectPort = fields[1].arg, portStreamLocal
		case fields[1].isPath:
			f.listenPort = port(fields[0].arg)
			f.connectPath, f.connectPort = fields[1].arg, portStreamLocal
		default:
			f.listenHost, f.hasListenHost = fields[0].arg, true
			f.listenPort = port(fields[1].arg)
			f.connectHost = "socks"
		}
	case 3:
		switch {
		case fields[0].isPath:
			f.listenPath, f.listenPort = fields[0].arg, portStreamLocal
			f.connectHost = fields[1].arg
			f.connectPort = port(fields[2].arg)
		case fields[2].isPath:
			f.listenHost, f.hasListenHost = fields[0].arg, true
			f.listenPort = port(fields[1].arg)
			f.connectPath, f.connectPort = fields[2].arg, portStreamLocal
		default:
			f.listenPort = port(fields[0].arg)
			f.connectHost = fields[1].arg
			f.connectPort = port(fields[2].arg)
		}
	case 4:
		f.listenHost, f.hasListenHost = fields[0].arg, true
		f.listenPort = port(fields[1].arg)
		f.connectHost = fields[2].arg
		f.connectPort = port(fields[3].arg)
	default:
		return forward{}, false
	}
	if dynamic {
		if n != 1 && n != 2 {
			return forward{}, false
		}
	} else {
		if n != 3 && n != 4 && f.connectPath == "" && f.listenPath == "" {
			return forward{}, false
		}
		if f.connectPort <= 0 && f.connectPath == "" {
			return forward{}, false
		}
	}
	if (f.listenPort < 0 && f.listenPath == "") || (!remote && f.listenPort == 0) {
		return forward{}, false
	}
	if len(f.connectHost) >= 1025 || len(f.listenHost) >= 1025 || len(f.connectPath) >= 108 || len(f.listenPath) >= 108 {
		return forward{}, false
	}
	return f, true
}

// hpdelim splits "host:port" or "[host]:port" (also "/" as separator).
func hpdelim(s string) (host, port string, ok bool) {
	var i int
	if strings.HasPrefix(s, "[") {
		j := strings.IndexByte(s, ']')
		if j < 0 {
			return "", "", false
		}
		i = j + 1
	} else {
		i = strings.IndexAny(s, ":/")
		if i < 0 {
			i = len(s)
		}
	}
	host = s[:i]
	if i < len(s) {
		if s[i] != ':' && s[i] != '/' {
			return "", "", false
		}
		port = s[i+1:]
	}
	host = cleanHostname(host)
	return host, port, true
}

func cleanHostname(h string) string {
	if len(h) >= 2 && h[0] == '[' && h[len(h)-1] == ']' {
		return h[1 : len(h)-1]
	}
	return h
}

// formatForward prints a forward as `ssh -G` does.
func formatForward(kw string, f forward) string {
	var b strings.Builder
	b.WriteString(kw)
	switch {
	case f.listenPort == portStreamLocal:
		b.WriteString(" " + f.listenPath)
	case !f.hasListenHost:
		b.WriteString(" " + strconv.Itoa(f.listenPort))
	default:
		b.WriteString(" [" + f.listenHost + "]:" + strconv.Itoa(f.listenPort))
	}
	if kw != "dynamicforward" {
		switch {
		case f.connectPort == portStreamLocal:
			b.WriteString(" " + f.connectPath)
		default:
			b.WriteString(" [" + f.connectHost + "]:" + strconv.Itoa(f.connectPort))
		}
	}
	return b.String()
}

// ForwardKind says which way a [Forward] goes.
type ForwardKind int

const (
	// Local is LocalForward (-L): listen here, connect on the far side.
	Local ForwardKind = iota
	// Remote is RemoteForward (-R): the server listens, we connect.
	Remote
	// Dynamic is DynamicForward (-D): a SOCKS server here, connecting on
	// the far side.
	Dynamic
	// RemoteDynamic is RemoteForward with no target (-R [bind:]port): the
	// server listens and we act as a SOCKS server, connecting from here.
	RemoteDynamic
)

// String returns the ssh_config keyword of the kind.
func (k ForwardKind) String() string {
	switch k {
	case Local:
		return "LocalForward"
	case Remote, RemoteDynamic:
		return "RemoteForward"
	case Dynamic:
		return "DynamicForward"
	}
	return "ForwardKind(" + strconv.Itoa(int(k)) + ")"
}

// Forward is one forwarding specification, as OpenSSH's struct Forward.
// A listening or connecting side is either a TCP address (host and port)
// or a Unix socket path (Path set, Port 0).
type Forward struct {
	Kind ForwardKind
	// ListenHost is the bind address; HasListenHost tells "" given
	// explicitly (all addresses) from none given (GatewayPorts decides).
	ListenHost    string
	HasListenHost bool
	ListenPort    int // 0 with a remote forward: the server picks
	ListenPath    string
	// ConnectHost is sent unresolved: the far side resolves it.
	ConnectHost string
	ConnectPort int
	ConnectPath string
}

// ParseForward parses a forwarding specification in the colon form of
// ssh(1)'s -L, -R and -D ("[bind:]port:host:hostport", "/sock:/sock",
// "port:/sock", "[bind:]port", ...). A Remote spec without a target comes
// back as RemoteDynamic. ${VAR} is expanded from getenv (nil: none).
// Errors are OpenSSH's words: "Bad local forwarding specification 'x'".
func ParseForward(spec string, kind ForwardKind, getenv func(string) string) (Forward, error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	remote := kind == Remote || kind == RemoteDynamic
	f, ok := parseForward(spec, kind == Dynamic, remote, getenv)
	if !ok && remote {
		f, ok = parseForward(spec, true, true, getenv)
	}
	if !ok {
		word := map[ForwardKind]string{Local: "local", Remote: "remote", RemoteDynamic: "remote", Dynamic: "dynamic"}[kind]
		return Forward{}, errorf("Bad %s forwarding specification '%s'", word, spec)
	}
	return exportForward(f, kind), nil
}

func exportForward(f forward, kind ForwardKind) Forward {
	out := Forward{Kind: kind, ListenHost: f.listenHost, HasListenHost: f.hasListenHost,
		ListenPort: f.listenPort, ListenPath: f.listenPath,
		ConnectHost: f.connectHost, ConnectPort: f.connectPort, ConnectPath: f.connectPath}
	if f.listenPort == portStreamLocal {
		out.ListenPort = 0
	}
	if f.connectPort == portStreamLocal {
		out.ConnectPort = 0
	}
	remote := kind == Remote || kind == RemoteDynamic
	out.Kind = Local
	if remote {
		out.Kind = Remote
	}
	if f.connectHost == "socks" && f.connectPort <= 0 && f.connectPath == "" {
		out.ConnectHost, out.ConnectPort = "", 0
		out.Kind = Dynamic
		if remote {
			out.Kind = RemoteDynamic
		}
	}
	return out
}

// ConfigArgs formats f as the arguments of its ssh_config keyword, as
// `ssh -G` prints them: listen, then target ("" for a dynamic forward).
func (f Forward) ConfigArgs() (listen, target string) {
	kind := Local
	if f.Kind == Remote || f.Kind == RemoteDynamic {
		kind = Remote
	}
	in := forward{listenHost: f.ListenHost, hasListenHost: f.HasListenHost, listenPort: f.ListenPort,
		listenPath: f.ListenPath, connectHost: f.ConnectHost, connectPort: f.ConnectPort, connectPath: f.ConnectPath}
	if f.ListenPath != "" {
		in.listenPort = portStreamLocal
	}
	if f.ConnectPath != "" {
		in.connectPort = portStreamLocal
	}
	kw := strings.ToLower(kind.String())
	if f.Kind == Dynamic || f.Kind == RemoteDynamic {
		kw = "dynamicforward"
	}
	args := strings.TrimPrefix(formatForward(kw, in), kw+" ")
	listen, target, _ = strings.Cut(args, " ")
	return listen, target
}

// String formats f in the colon form ParseForward reads back.
func (f Forward) String() string {
	quote := func(s string) string {
		var b strings.Builder
		for i := 0; i < len(s); i++ {
			// White space too: the parser trims the spec's unescaped
			// leading white space, as ssh(1)'s isspace() loop does.
			if strings.IndexByte(":[]\\ \t\n\v\f\r", s[i]) >= 0 {
				b.WriteByte('\\')
			}
			b.WriteByte(s[i])
		}
		return b.String()
	}
	var parts []string
	if f.ListenPath != "" {
		parts = append(parts, quote(f.ListenPath))
	} else {
		if f.HasListenHost {
			parts = append(parts, quote(f.ListenHost))
		}
		parts = append(parts, strconv.Itoa(f.ListenPort))
	}
	switch {
	case f.ConnectPath != "":
		parts = append(parts, quote(f.ConnectPath))
	case f.Kind == Local || f.Kind == Remote:
		parts = append(parts, quote(f.ConnectHost), strconv.Itoa(f.ConnectPort))
	}
	return strings.Join(parts, ":")
}

// Forwards returns the host's LocalForward, DynamicForward and
// RemoteForward entries in that order, with paths expanded; none when
// ClearAllForwardings is set.
func (h *Host) Forwards() []Forward {
	if h.Get("clearallforwardings") == "yes" {
		return nil
	}
	var out []Forward
	for _, f := range h.st.localFwds {
		out = append(out, exportForward(f, Local))
	}
	for _, f := range h.st.remoteFwds {
		out = append(out, exportForward(f, Remote))
	}
	return out
}
