package authkeys

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// AllowsFrom reports whether a client at addr (whose name is host, or ""
// when names are not looked up, sshd's UseDNS=no) may use the key. It
// follows sshd's from=: a matching negated pattern ("!pat") refuses,
// otherwise one matching pattern allows. Patterns are wildcards ("*", "?")
// matched against the address and the host name, or CIDR prefixes.
//
// A certificate's source-address list must match addr as well.
func (p *Perms) AllowsFrom(addr netip.Addr, host string) bool {
	if len(p.SourceAddress) > 0 && !matchAddrList(p.SourceAddress, addr) {
		return false
	}
	if len(p.From) == 0 {
		return true
	}
	return MatchFrom(p.From, addr, host)
}

// matchAddrList matches addr against a source-address list of addresses
// and CIDR prefixes; as sshd, a malformed entry refuses.
func matchAddrList(list []string, addr netip.Addr) bool {
	addr = addr.Unmap()
	ok := false
	for _, e := range list {
		pfx, err := parseAddrOrPrefix(e)
		if err != nil {
			return false
		}
		ok = ok || addr.IsValid() && pfx.Contains(addr)
	}
	return ok
}

func parseAddrOrPrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		if p.Masked() != p {
			// sshd's addr_match_cidr_list refuses host bits past the mask.
			return netip.Prefix{}, fmt.Errorf("%s has bits set past its mask", s)
		}
		return p, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// MatchFrom matches an address and host name against a from= pattern list.
func MatchFrom(patterns []string, addr netip.Addr, host string) bool {
	addr = addr.Unmap()
	ip := addr.String()
	allowed := false
	for _, pat := range patterns {
		neg := strings.HasPrefix(pat, "!")
		pat = strings.TrimPrefix(pat, "!")
		var hit bool
		if strings.Contains(pat, "/") {
			pfx, err := netip.ParsePrefix(pat)
			if err != nil {
				return false // as sshd: a bad CIDR refuses the key
			}
			hit = addr.IsValid() && pfx.Contains(addr)
		} else {
			hit = addr.IsValid() && Wildcard(pat, ip) || host != "" && Wildcard(pat, host)
		}
		if hit && neg {
			return false
		}
		allowed = allowed || hit
	}
	return allowed
}

// Wildcard matches s against an ssh_config(5) PATTERN ("*" any run, "?"
// one character), ignoring case.
func Wildcard(pat, s string) bool {
	pat, s = strings.ToLower(pat), strings.ToLower(s)
	// Iterative matcher with one backtrack point: linear in practice.
	pi, si, star, mark := 0, 0, -1, 0
	for si < len(s) {
		switch {
		case pi < len(pat) && (pat[pi] == '?' || pat[pi] == s[si]):
			pi++
			si++
		case pi < len(pat) && pat[pi] == '*':
			star, mark = pi, si
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(pat) && pat[pi] == '*' {
		pi++
	}
	return pi == len(pat)
}

// AllowsOpen reports whether a direct-tcpip channel to host:port is
// allowed (port forwarding on and, if permitopen= is given, one matches).
func (p *Perms) AllowsOpen(host string, port int) bool {
	if p.NoPortForwarding {
		return false
	}
	if len(p.PermitOpen) == 0 {
		return true
	}
	for _, t := range p.PermitOpen {
		h, pt, err := splitTarget(t, false)
		if err != nil {
			continue
		}
		if (h == "*" || strings.EqualFold(h, host)) && portMatch(pt, port) {
			return true
		}
	}
	return false
}

// AllowsListen reports whether a tcpip-forward on host:port is allowed
// (port forwarding on and, if permitlisten= is given, one matches; a
// pattern without a host matches any listen address).
func (p *Perms) AllowsListen(host string, port int) bool {
	if p.NoPortForwarding {
		return false
	}
	if len(p.PermitListen) == 0 {
		return true
	}
	if host == "" {
		host = "localhost"
	}
	for _, t := range p.PermitListen {
		h, pt, err := splitTarget(t, true)
		if err != nil {
			continue
		}
		if (h == "" || Wildcard(h, host)) && portMatch(pt, port) {
			return true
		}
	}
	return false
}

func portMatch(pat string, port int) bool {
	return pat == "*" || pat == strconv.Itoa(port)
}
