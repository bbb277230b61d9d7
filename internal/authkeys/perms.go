package authkeys

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Perms is what a key's options allow, after applying them in order as
// sshd does (`restrict` first turns everything off; `pty` and
// `port-forwarding` turn single things back on).
type Perms struct {
	NoPTY             bool
	NoPortForwarding  bool
	NoAgentForwarding bool
	NoX11Forwarding   bool
	NoUserRC          bool

	// Command is the forced command (command=), if HasCommand.
	Command    string
	HasCommand bool
	// Environment holds NAME=value pairs from environment= options.
	Environment []string
	// From holds the from= patterns; empty means any source.
	From []string
	// PermitOpen holds host:port targets (port may be "*"); empty means any.
	PermitOpen []string
	// PermitListen holds [host:]port listen addresses; empty means any.
	PermitListen []string

	// CertAuthority marks the key as a CA whose user certificates log in
	// (cert-authority); Principals, if HasPrincipals, are the names one of
	// which such a certificate must carry instead of the user's name.
	CertAuthority bool
	Principals    []string
	HasPrincipals bool
	// Expiry is the earliest expiry-time=, after which the key is refused;
	// zero means none.
	Expiry time.Time
	// SourceAddress holds a certificate's source-address list (addresses
	// and CIDR prefixes); empty means any.
	SourceAddress []string
}

// Compile turns options into permissions, rejecting unknown options and
// malformed values, as sshd rejects the whole key line.
func Compile(opts []Option) (*Perms, error) {
	p := &Perms{}
	for _, o := range opts {
		name := strings.ToLower(o.Name)
		valued, known := knownOptions[name]
		if !known {
			return nil, fmt.Errorf("unknown option %q", o.Name)
		}
		if valued != o.HasValue {
			if valued {
				return nil, fmt.Errorf("option %s needs a quoted value", o.Name)
			}
			return nil, fmt.Errorf("option %s takes no value", o.Name)
		}
		v := o.Value
		switch name {
		case "restrict":
			p.NoPTY, p.NoPortForwarding, p.NoAgentForwarding, p.NoX11Forwarding, p.NoUserRC = true, true, true, true, true
		case "no-pty":
			p.NoPTY = true
		case "pty":
			p.NoPTY = false
		case "no-port-forwarding":
			p.NoPortForwarding = true
		case "port-forwarding":
			p.NoPortForwarding = false
		case "no-agent-forwarding":
			p.NoAgentForwarding = true
		case "agent-forwarding":
			p.NoAgentForwarding = false
		case "no-x11-forwarding":
			p.NoX11Forwarding = true
		case "x11-forwarding":
			p.NoX11Forwarding = false
		case "no-user-rc":
			p.NoUserRC = true
		case "user-rc":
			p.NoUserRC = false
		case "command":
			if p.HasCommand {
				return nil, fmt.Errorf("option command given twice")
			}
			p.Command, p.HasCommand = v, true
		case "environment":
			k, _, ok := strings.Cut(v, "=")
			if !ok || k == "" || strings.ContainsAny(k, " \t") {
				return nil, fmt.Errorf("environment=%q: want NAME=value", v)
			}
			p.Environment = append(p.Environment, v)
		case "from":
			pats := splitList(v)
			if len(pats) == 0 {
				return nil, fmt.Errorf("from=%q: empty pattern list", v)
			}
			for _, pat := range pats {
				if err := checkPattern(pat); err != nil {
					return nil, fmt.Errorf("from=%q: %w", v, err)
				}
			}
			p.From = append(p.From, pats...)
		case "permitopen":
			if _, _, err := splitTarget(v, false); err != nil {
				return nil, fmt.Errorf("permitopen=%q: %w", v, err)
			}
			p.PermitOpen = append(p.PermitOpen, v)
		case "permitlisten":
			if _, _, err := splitTarget(v, true); err != nil {
				return nil, fmt.Errorf("permitlisten=%q: %w", v, err)
			}
			p.PermitListen = append(p.PermitListen, v)
		case "cert-authority":
			p.CertAuthority = true
		case "principals":
			// As sshd, the last one counts; its names are matched exactly.
			p.Principals, p.HasPrincipals = splitList(v), true
		case "expiry-time":
			t, err := ParseExpiry(v, time.Local)
			if err != nil {
				return nil, err
			}
			if p.Expiry.IsZero() || t.Before(p.Expiry) {
				p.Expiry = t
			}
		}
	}
	if p.HasPrincipals && !p.CertAuthority {
		// sshd parses it, then refuses the line at every login.
		return nil, fmt.Errorf("option principals needs cert-authority")
	}
	return p, nil
}

// ParseExpiry parses an expiry-time= value as sshd does: YYYYMMDD,
// YYYYMMDDHHMM or YYYYMMDDHHMMSS, in loc (the system's time zone) unless
// it ends in Z or UTC. A date alone means its first second.
func ParseExpiry(v string, loc *time.Location) (time.Time, error) {
	s := v
	if n := len(s); n > 1 && (s[n-1] == 'Z' || s[n-1] == 'z') {
		s, loc = s[:n-1], time.UTC
	} else if n > 3 && strings.EqualFold(s[n-3:], "UTC") {
		s, loc = s[:n-3], time.UTC
	}
	var layout string
	switch len(s) {
	case 8:
		layout = "20060102"
	case 12:
		layout = "200601021504"
	case 14:
		layout = "20060102150405"
	default:
		return time.Time{}, fmt.Errorf("expiry-time=%q: want YYYYMMDD[HHMM[SS]][Z]", v)
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return time.Time{}, fmt.Errorf("expiry-time=%q: want YYYYMMDD[HHMM[SS]][Z]", v)
		}
	}
	t, err := time.ParseInLocation(layout, s, loc)
	if err != nil || t.Unix() < 0 {
		return time.Time{}, fmt.Errorf("expiry-time=%q: not a valid time", v)
	}
	return t.UTC(), nil
}

// Expired reports whether the key's expiry-time has passed at now; sshd
// still accepts it during that very second.
func (p *Perms) Expired(now time.Time) bool {
	return !p.Expiry.IsZero() && p.Expiry.Unix() < now.Unix()
}

// knownOptions maps each option (lower case) to whether it takes a value.
var knownOptions = map[string]bool{
	"restrict": false, "no-pty": false, "pty": false,
	"no-port-forwarding": false, "port-forwarding": false,
	"no-agent-forwarding": false, "agent-forwarding": false,
	"no-x11-forwarding": false, "x11-forwarding": false,
	"no-user-rc": false, "user-rc": false,
	"command": true, "environment": true, "from": true, "permitopen": true, "permitlisten": true,
	"cert-authority": false, "principals": true, "expiry-time": true,
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func checkPattern(pat string) error {
	pat = strings.TrimPrefix(pat, "!")
	if pat == "" {
		return fmt.Errorf("empty pattern")
	}
	if strings.Contains(pat, "/") {
		if _, err := netip.ParsePrefix(pat); err != nil {
			return fmt.Errorf("bad CIDR %q", pat)
		}
	}
	return nil
}

// splitTarget splits "host:port", "[v6]:port" (and, for listen, a bare
// "port"); the port may be "*".
func splitTarget(s string, listen bool) (host, port string, err error) {
	if listen && !strings.Contains(s, ":") {
		host, port = "", s
	} else {
		host, port, err = net.SplitHostPort(s)
		if err != nil {
			return "", "", err
		}
		if host == "" && !listen {
			return "", "", fmt.Errorf("missing host")
		}
	}
	if port == "*" {
		return host, port, nil
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil || (n == 0 && !listen) {
		return "", "", fmt.Errorf("bad port %q", port)
	}
	return host, port, nil
}
