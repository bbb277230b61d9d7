package client

import (
	"strings"
	"unicode"
)

// validRemoteUser is ssh(1)'s check of a user name given on the command
// line (user@host, -l, -o User), which may reach a shell through a
// ProxyCommand or a Match exec: no shell metacharacters, no control
// characters, no option-like word, no trailing backslash.
func validRemoteUser(s string) bool {
	if s == "" || s[0] == '-' {
		return false
	}
	for i, c := range s {
		switch {
		case strings.ContainsRune("'`\";&<>|(){}", c), unicode.IsControl(c):
			return false
		case unicode.IsSpace(c) && i+1 < len(s) && s[i+1] == '-':
			return false
		case c == '\\' && i+1 == len(s):
			return false
		}
	}
	return true
}

// commandLineUsers are the user names the command line gives.
func (a *Options) commandLineUsers() []string {
	var out []string
	if a.DestUser != "" {
		out = append(out, a.DestUser)
	}
	if u, ok := a.Override["User"]; ok {
		out = append(out, u)
	}
	for _, o := range a.Ordered {
		if !strings.EqualFold(OptionKey(o), "user") {
			continue
		}
		v := o.Value
		if o.Key == "" {
			v = strings.TrimLeft(strings.TrimSpace(v)[len("user"):], " \t=")
		}
		out = append(out, strings.Trim(v, `"`))
	}
	return out
}
