package dial

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// Hop is one host of a jump chain as written: [user@]host[:port].
type Hop struct {
	User string
	Host string
	Port int // 0: from the hop's own config
}

// String writes the hop back in ProxyJump syntax.
func (h Hop) String() string {
	var b strings.Builder
	if h.User != "" {
		b.WriteString(h.User + "@")
	}
	host := h.Host
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	b.WriteString(host)
	if h.Port > 0 {
		b.WriteString(":" + strconv.Itoa(h.Port))
	}
	return b.String()
}

// ErrBadJump is wrapped by every jump-spec parse error.
var ErrBadJump = errors.New("bad jump host specification")

// ParseJumpList parses a ProxyJump value or -J argument: a comma-separated
// list of [user@]host[:port] or ssh://[user@]host[:port]. "none" gives no
// hops. Hops are returned first to last.
func ParseJumpList(s string) ([]Hop, error) {
	if strings.EqualFold(s, "none") {
		return nil, nil
	}
	if s == "" {
		return nil, fmt.Errorf("%w: empty", ErrBadJump)
	}
	var hops []Hop
	for _, part := range strings.Split(s, ",") {
		h, err := ParseHop(part)
		if err != nil {
			return nil, err
		}
		hops = append(hops, h)
	}
	return hops, nil
}

// ParseHop parses one [user@]host[:port] or ssh://[user@]host[:port].
func ParseHop(s string) (Hop, error) {
	bad := func(why string) (Hop, error) {
		return Hop{}, fmt.Errorf("%w %q: %s", ErrBadJump, s, why)
	}
	if strings.HasPrefix(s, "ssh://") {
		u, err := url.Parse(s)
		if err != nil || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
			return bad("not an ssh://[user@]host[:port] URI")
		}
		h := Hop{Host: u.Hostname()}
		if u.User != nil {
			h.User = u.User.Username()
			if h.User == "" {
				return bad("empty user name")
			}
		}
		if p := u.Port(); p != "" {
			n, err := parsePort(p)
			if err != nil {
				return bad(err.Error())
			}
			h.Port = n
		}
		return checkHop(h, s)
	}
	var h Hop
	rest := s
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		h.User, rest = rest[:i], rest[i+1:]
		if h.User == "" {
			return bad("empty user name")
		}
	}
	host, port, err := splitHostPort(rest)
	if err != nil {
		return bad(err.Error())
	}
	h.Host = host
	if port != "" {
		n, err := parsePort(port)
		if err != nil {
			return bad(err.Error())
		}
		h.Port = n
	}
	return checkHop(h, s)
}

// checkHop refuses characters that cannot be in a host name and would not
// survive being written back into a jump list.
func checkHop(h Hop, s string) (Hop, error) {
	host := h.Host
	if hyper, domain, ok := SplitDomain(host); ok && !strings.HasPrefix(s, "ssh://") {
		// A libvirt domain as a jump host: hyper2/vm1.
		host = hyper + domain
	}
	if host == "" || strings.ContainsAny(host, " \t\n,/@[]+") || strings.ContainsAny(h.User, " \t\n,") ||
		strings.HasPrefix(h.User, "ssh:") {
		return Hop{}, fmt.Errorf("%w %q: invalid character", ErrBadJump, s)
	}
	return h, nil
}

// ParseChain parses the chain syntax user1%host1:port1+user2%host2:port2+host3
// (hop1, then hop2, then host3). ok is false when s has no "+", so it is an
// ordinary destination. The last element is the destination; its user and
// port are empty/0 unless written, so -l and -p still apply to it.
func ParseChain(s string) (hops []Hop, dest Hop, ok bool, err error) {
	if !strings.Contains(s, "+") {
		return nil, Hop{}, false, nil
	}
	parts := strings.Split(s, "+")
	all := make([]Hop, 0, len(parts))
	for _, p := range parts {
		if p == "" {
			return nil, Hop{}, true, fmt.Errorf("%w %q: empty element in + chain", ErrBadJump, s)
		}
		// In a chain, % separates the user, since @ may already have been
		// taken by the command line's user@ (user@hop1+hop2).
		var h Hop
		if i := strings.LastIndexByte(p, '%'); i >= 0 {
			if i == 0 {
				return nil, Hop{}, true, fmt.Errorf("%w %q: empty user name", ErrBadJump, p)
			}
			h.User, p = p[:i], p[i+1:]
		}
		hh, err := ParseHop(p)
		if err != nil {
			return nil, Hop{}, true, err
		}
		if hh.User != "" {
			if h.User != "" {
				return nil, Hop{}, true, fmt.Errorf("%w %q: two user names", ErrBadJump, p)
			}
			h.User = hh.User
		}
		h.Host, h.Port = hh.Host, hh.Port
		all = append(all, h)
	}
	return all[:len(all)-1], all[len(all)-1], true, nil
}

// JoinJumpList writes hops as a ProxyJump value.
func JoinJumpList(hops []Hop) string {
	parts := make([]string, len(hops))
	for i, h := range hops {
		parts[i] = h.String()
	}
	return strings.Join(parts, ",")
}

func splitHostPort(s string) (host, port string, err error) {
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", "", errors.New("missing ]")
		}
		host = s[1:end]
		rest := s[end+1:]
		if rest != "" {
			p, ok := strings.CutPrefix(rest, ":")
			if !ok {
				return "", "", errors.New("junk after ]")
			}
			port = p
		}
	} else if strings.Count(s, ":") > 1 {
		if _, err := netipParse(s); err != nil {
			return "", "", errors.New("too many colons")
		}
		host = s
	} else {
		host, port, _ = strings.Cut(s, ":")
		if strings.HasSuffix(s, ":") && port == "" {
			return "", "", errors.New("empty port")
		}
	}
	if host == "" {
		return "", "", errors.New("empty host name")
	}
	return host, port, nil
}

func netipParse(s string) (net.IP, error) {
	ip := net.ParseIP(s)
	if ip == nil {
		return nil, errors.New("not an address")
	}
	return ip, nil
}

func parsePort(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 || n > 65535 {
		return 0, fmt.Errorf("bad port %q", s)
	}
	return n, nil
}
