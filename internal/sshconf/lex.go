package sshconf

// Line splitting follows ssh_config(5): a keyword, then arguments separated
// by whitespace or one optional "=", double or single quotes grouping words,
// "#" starting a comment where a new argument would begin.

import (
	"errors"
	"strings"
)

const whitespace = " \t\r\n"

var errQuotes = errors.New("invalid quotes")

// delim returns the next word of s and the rest, the way OpenSSH's
// strdelim does: it honours double quotes and, when splitEquals is set, one
// "=" between words. ok is false when a double quote is not closed.
func delim(s string, splitEquals bool) (word, rest string, ok, more bool) {
	set := whitespace + `"`
	if splitEquals {
		set += "="
	}
	i := strings.IndexAny(s, set)
	if i < 0 {
		return s, "", true, false
	}
	if s[i] == '"' {
		t := s[:i] + s[i+1:]
		j := strings.IndexByte(t[i:], '"')
		if j < 0 {
			return "", "", false, false
		}
		j += i
		word = t[:j]
		rest = t[j+1:]
		rest = strings.TrimLeft(rest, whitespace)
		return word, rest, true, true
	}
	sawEq := splitEquals && s[i] == '='
	word = s[:i]
	rest = strings.TrimLeft(s[i+1:], whitespace)
	if splitEquals && !sawEq && strings.HasPrefix(rest, "=") {
		rest = strings.TrimLeft(rest[1:], whitespace)
	}
	return word, rest, true, true
}

// splitArgs splits the arguments of a line like OpenSSH's argv_split with
// comment termination: quotes group, backslash escapes quotes, backslash
// and (outside quotes) space.
func splitArgs(s string) ([]string, error) {
	var args []string
	i := 0
	for i < len(s) {
		c := s[i]
		if c == ' ' || c == '\t' {
			i++
			continue
		}
		if c == '#' {
			break
		}
		var b strings.Builder
		var quote byte
		for ; i < len(s); i++ {
			c = s[i]
			switch {
			case c == '\\':
				if i+1 < len(s) && (s[i+1] == '\'' || s[i+1] == '"' || s[i+1] == '\\' || (quote == 0 && s[i+1] == ' ')) {
					i++
					b.WriteByte(s[i])
				} else {
					b.WriteByte(c)
				}
				continue
			case quote == 0 && (c == ' ' || c == '\t'):
			case quote == 0 && (c == '"' || c == '\''):
				quote = c
				continue
			case quote != 0 && c == quote:
				quote = 0
				continue
			default:
				b.WriteByte(c)
				continue
			}
			break
		}
		args = append(args, b.String())
		if i >= len(s) {
			if quote != 0 {
				return nil, errQuotes
			}
			break
		}
	}
	return args, nil
}
