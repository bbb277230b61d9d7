package sshconf

// Token expansion: %-tokens (ssh_config(5) TOKENS), ${ENV} and a leading ~.

import (
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// percentExpand expands %x tokens from keys (and ${VAR} when getenv is
// not nil), failing on an unknown token or unset variable as OpenSSH does.
func percentExpand(s string, keys map[byte]string, getenv func(string) string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if getenv != nil && c == '$' && i+1 < len(s) && s[i+1] == '{' {
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				return "", fmt.Errorf("environment variable '%s' missing closing '}'", s[i+2:])
			}
			name := s[i+2 : i+2+end]
			if name == "" {
				return "", errors.New("zero-length environment variable")
			}
			v := getenv(name)
			if v == "" {
				return "", fmt.Errorf("env var ${%s} has no value", name)
			}
			b.WriteString(v)
			i += 2 + end
			continue
		}
		if c != '%' || keys == nil {
			b.WriteByte(c)
			continue
		}
		i++
		if i >= len(s) {
			return "", errors.New("invalid format")
		}
		if s[i] == '%' {
			b.WriteByte('%')
			continue
		}
		v, ok := keys[s[i]]
		if !ok {
			return "", fmt.Errorf("unknown key %%%c", s[i])
		}
		b.WriteString(v)
	}
	return b.String(), nil
}

// dollarExpand expands ${VAR} only.
func dollarExpand(s string, getenv func(string) string) (string, error) {
	return percentExpand(s, nil, getenv)
}

// tildeExpand expands a leading "~" or "~user" like OpenSSH's
// tilde_expand.
func tildeExpand(s, home, localUser string, userHome func(string) (string, bool)) (string, error) {
	if !strings.HasPrefix(s, "~") {
		return s, nil
	}
	rest := s[1:]
	var user, p string
	switch {
	case rest == "":
	case rest[0] == '/':
		p = strings.TrimLeft(rest, "/")
	default:
		user = rest
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			user = rest[:i]
			p = strings.TrimLeft(rest[i+1:], "/")
		}
	}
	dir := home
	if user != "" && user != localUser {
		h, ok := "", false
		if userHome != nil {
			h, ok = userHome(user)
		}
		if !ok {
			return "", fmt.Errorf("no such user %s", user)
		}
		dir = h
	}
	sep := "/"
	if strings.HasSuffix(dir, "/") {
		sep = ""
	}
	return dir + sep + p, nil
}

// connectionHash is %C: the hex SHA-1 of %l%h%p%r.
func connectionHash(thisHost, host, port, user string) string {
	sum := sha1.Sum([]byte(thisHost + host + port + user))
	return hex.EncodeToString(sum[:])
}

// shortHost is %L: the local host name up to its first dot.
func shortHost(h string) string {
	if i := strings.IndexByte(h, '.'); i >= 0 {
		return h[:i]
	}
	return h
}
