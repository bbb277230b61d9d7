package forward

import (
	"strconv"
	"strings"
)

// permitted reports whether PermitRemoteOpen (o.PermitRemoteOpen) lets
// the SOCKS form of a remote forward connect to host:port. Entries are
// host:port, [v6]:port, "*" for any host or port; "any" (or no entry)
// permits everything and "none" nothing. Hosts compare as given, not
// resolved, as in ssh(1).
func (o *Options) permitted(host string, port int) bool {
	if len(o.PermitRemoteOpen) == 0 {
		return true
	}
	for _, e := range o.PermitRemoteOpen {
		switch e {
		case "any":
			return true
		case "none":
			return false
		}
		h, p, ok := splitPermit(e)
		if !ok {
			continue
		}
		if (p == "*" || p == strconv.Itoa(port)) && (h == "*" || h == host) {
			return true
		}
	}
	return false
}

// splitPermit splits host:port or [host]:port.
func splitPermit(e string) (host, port string, ok bool) {
	if rest, found := strings.CutPrefix(e, "["); found {
		h, p, found := strings.Cut(rest, "]:")
		return h, p, found && h != "" && p != ""
	}
	i := strings.LastIndexByte(e, ':')
	if i <= 0 || i == len(e)-1 {
		return "", "", false
	}
	return e[:i], e[i+1:], true
}
