package sshconn

// KnownHostsCommand, as ssh_config(5) describes it: a command (split into
// words as ssh(1) splits it, no shell) whose output is read as known_hosts
// lines in addition to the files. Besides the usual tokens it takes %H
// (the name looked up), %I (HOSTNAME or ADDRESS), %K (the key, base64),
// %f (its fingerprint) and %t (its type). A command that fails adds
// nothing.

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"os/exec"
	"strings"

	"golang.org/x/crypto/ssh"
)

// errUnterminatedQuote is splitWords' error for an open quote.
var errUnterminatedQuote = errors.New("unterminated quoted argument")

// splitWords splits s into words as ssh(1) splits commands it runs
// without a shell: blanks separate words, single or double quotes group
// them, and a backslash escapes a quote, a backslash, or (outside quotes)
// a space; any other backslash is kept.
func splitWords(s string) ([]string, error) {
	var out []string
	i := 0
	for {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		if i == len(s) {
			return out, nil
		}
		var w strings.Builder
		var quote byte
		for ; i < len(s); i++ {
			c := s[i]
			if c == '\\' && i+1 < len(s) {
				n := s[i+1]
				if n == '\'' || n == '"' || n == '\\' || quote == 0 && n == ' ' {
					i++
					w.WriteByte(n)
					continue
				}
				w.WriteByte(c)
				continue
			}
			if quote == 0 && (c == ' ' || c == '\t') {
				break
			}
			switch {
			case quote == 0 && (c == '"' || c == '\''):
				quote = c
			case quote != 0 && c == quote:
				quote = 0
			default:
				w.WriteByte(c)
			}
		}
		if quote != 0 {
			return nil, errUnterminatedQuote
		}
		out = append(out, w.String())
	}
}

// keyTokens are KnownHostsCommand's own tokens, which the host's
// expansion does not know.
const keyTokens = "HIKft"

// protectKeyTokens doubles the % of the key tokens (and of %%), so that
// the host's expansion leaves them for expandKeyTokens.
func protectKeyTokens(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] != '%' || i+1 == len(s):
			b.WriteByte(s[i])
		case s[i+1] == '%':
			b.WriteString("%%%%")
			i++
		case strings.IndexByte(keyTokens, s[i+1]) >= 0:
			b.WriteString("%%")
			b.WriteByte(s[i+1])
			i++
		default:
			b.WriteByte('%')
		}
	}
	return b.String()
}

// expandKeyTokens replaces what protectKeyTokens kept.
func expandKeyTokens(s string, vals map[byte]string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+1 < len(s) {
			if v, ok := vals[s[i+1]]; ok {
				b.WriteString(v)
				i++
				continue
			}
			if s[i+1] == '%' {
				b.WriteByte('%')
				i++
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// knownHostsCommand is a hop's KnownHostsCommand, its words expanded but
// for the key tokens.
type knownHostsCommand struct{ argv []string }

// newKnownHostsCommand reads KnownHostsCommand; nil when there is none.
func newKnownHostsCommand(s settings) (*knownHostsCommand, error) {
	v := s.str("knownhostscommand", "none")
	if strings.EqualFold(v, "none") {
		return nil, nil
	}
	words, err := splitWords(v)
	if err != nil {
		return nil, fmt.Errorf("KnownHostsCommand %q: %w", v, err)
	}
	if len(words) == 0 {
		return nil, nil
	}
	c := &knownHostsCommand{}
	for _, w := range words {
		e, err := s.h.Expand(protectKeyTokens(w))
		if err != nil {
			return nil, fmt.Errorf("KnownHostsCommand: %w", err)
		}
		c.argv = append(c.argv, e)
	}
	return c, nil
}

// entries runs the command for name (a HOSTNAME or ADDRESS lookup, as
// what says) and key, and parses its output; a failed command is
// reported and adds nothing.
func (c *knownHostsCommand) entries(p *hostKeyPolicy, what, name string, key ssh.PublicKey) []khEntry {
	if c == nil {
		return nil
	}
	vals := map[byte]string{'H': name, 'I': what}
	if key != nil {
		vals['K'] = base64.StdEncoding.EncodeToString(key.Marshal())
		vals['f'] = p.fingerprint(key)
		vals['t'] = key.Type()
	}
	argv := make([]string, len(c.argv))
	for i, a := range c.argv {
		argv[i] = expandKeyTokens(a, vals)
	}
	p.out.log.Debug3f("load_hostkeys_command: running \"%s\"", strings.Join(argv, " "))
	cmd := exec.Command(argv[0], argv[1:]...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = p.out.w
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee) && ee.Exited():
		p.out.errorf("KnownHostsCommand %s exited with status %d", argv[0], ee.ExitCode())
		return nil
	case errors.As(err, &ee):
		p.out.errorf("KnownHostsCommand %s terminated by signal", argv[0])
		return nil
	case err != nil:
		p.out.errorf("KnownHostsCommand %s: %v", argv[0], err)
		return nil
	}
	return parseKnownHosts(out.Bytes(), "KnownHostsCommand", p.out.log)
}
