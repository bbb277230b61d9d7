package sshconf

// Match lines (ssh_config(5) "Match") and ProxyJump syntax.

import (
	"strconv"
	"strings"
)

func (p *parser) matchLine(str, file string, lineno int) (bool, string, error) {
	bad := func(format string, a ...any) (bool, string, error) {
		return false, "", &ParseError{File: file, Line: lineno,
			Err: badMatch{errorf(format, a...)}}
	}
	st := p.st
	port := st.int("port", 0)
	if port <= 0 {
		port = 22
	}
	ruser, ok := st.str("user")
	if !ok {
		ruser = p.opts.LocalUser
	}
	host := p.originalHost
	if p.final {
		host, _ = st.str("hostname")
	} else if hn, ok := st.str("hostname"); ok {
		h, err := percentExpand(hn, map[byte]string{'h': p.originalHost}, nil)
		if err != nil {
			return false, "", &ParseError{File: file, Line: lineno, Err: errorf("percent_expand: %v", err)}
		}
		host = h
	}
	cp, valid := str, true
	result := true
	attributes := 0
	word := func() (string, bool) {
		if !valid {
			return "", false
		}
		w, rest, ok, more := delim(cp, true)
		if !ok {
			valid = false
			return "", false
		}
		cp = rest
		if !more {
			valid = false
		}
		return w, true
	}
	for {
		attr, ok := word()
		if !ok || attr == "" {
			break
		}
		if attr[0] == '#' {
			valid = false
			break
		}
		oattr := attr
		negate := attr[0] == '!'
		if negate {
			attr = attr[1:]
		}
		if strings.EqualFold(attr, "all") {
			arg, ok := word()
			if attributes > 1 || (ok && arg != "" && arg[0] != '#') {
				return bad("'%s' cannot be combined with other Match attributes", oattr)
			}
			if result {
				result = !negate
			}
			return result, "", nil
		}
		attributes++
		if strings.EqualFold(attr, "canonical") || strings.EqualFold(attr, "final") {
			if strings.EqualFold(attr, "final") {
				p.wantFinal = true
			}
			if p.final == negate {
				result = false
			}
			continue
		}
		arg, ok := word()
		if !ok || arg == "" || arg[0] == '#' {
			return bad("Missing Match criteria for %s", attr)
		}
		var r bool
		switch lower(attr) {
		case "host":
			r = matchHostname(host, arg) == 1
		case "originalhost":
			r = matchHostname(p.originalHost, arg) == 1
		case "user":
			r = matchPatternList(ruser, arg, false) == 1
		case "localuser":
			r = matchPatternList(p.opts.LocalUser, arg, false) == 1
		case "exec":
			thisHost := p.opts.LocalHost
			portStr := strconv.Itoa(port)
			alias, ok := st.str("hostkeyalias")
			if !ok {
				alias = host
			}
			cmd, err := percentExpand(arg, map[byte]string{
				'C': connectionHash(thisHost, host, portStr, ruser),
				'L': shortHost(thisHost), 'd': p.opts.HomeDir, 'h': host, 'k': alias,
				'l': thisHost, 'n': p.originalHost, 'p': portStr, 'r': ruser,
				'u': p.opts.LocalUser, 'i': strconv.Itoa(p.opts.UID),
			}, nil)
			if err != nil {
				return false, "", &ParseError{File: file, Line: lineno, Err: errorf("percent_expand: %v", err)}
			}
			if !result {
				continue // a prior criterion failed: do not run it
			}
			r = p.opts.Exec != nil && p.opts.Exec(cmd)
		default:
			return bad("Unsupported Match attribute %s", attr)
		}
		if r == negate {
			result = false
		}
	}
	if attributes == 0 {
		return bad("One or more attributes required for Match")
	}
	return result, "", nil
}

// parseJump checks a ProxyJump value and, when active, records its last
// hop as the first jump host, as OpenSSH's parse_jump.
func (p *parser) parseJump(s string, active bool) error {
	st := p.st
	_, hasPC := st.str("proxycommand")
	active = active && !hasPC && !st.jumpSet
	orig := s
	if i := strings.IndexByte(orig, '#'); i >= 0 {
		orig = orig[:i]
	}
	orig = strings.TrimRight(orig, whitespace)
	first := active
	var user, host string
	port := -1
	isNone := strings.EqualFold(s, "none")
	rest := orig
	for !isNone {
		cp := rest
		last := true
		if i := strings.LastIndexByte(rest, ','); i >= 0 {
			cp = rest[i+1:]
			rest = rest[:i]
			last = false
		}
		u, h, pt, err := parseUserHostPort(cp)
		if err != nil {
			return err
		}
		if first {
			user, host, port = u, h, pt
		}
		first = false
		if last {
			break
		}
	}
	if !active {
		return nil
	}
	st.jumpSet = true
	if isNone {
		st.jumpHost, st.jumpPort = "none", 0
		return nil
	}
	st.jumpUser, st.jumpHost, st.jumpPort = user, host, port
	st.setStr("proxycommand", "none")
	if i := strings.LastIndexByte(s, ','); i > 0 {
		st.jumpExtra = s[:i]
	}
	return nil
}

const errBadJump = msgError("bad jump host")

// parseUserHostPort parses [user@]host[:port] or an ssh:// URI.
func parseUserHostPort(s string) (user, host string, port int, err error) {
	port = -1
	if rest, ok := strings.CutPrefix(s, "ssh://"); ok {
		if strings.ContainsAny(rest, "/") {
			return "", "", 0, errBadJump
		}
		s = rest
	}
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		user = s[:i]
		if user == "" {
			return "", "", 0, errBadJump
		}
		s = s[i+1:]
	}
	h, pt, ok := hpdelim(s)
	if !ok || h == "" {
		return "", "", 0, errBadJump
	}
	if pt != "" {
		if port = a2port(pt); port <= 0 {
			return "", "", 0, errBadJump
		}
	}
	return user, h, port, nil
}
