// Package authkeys parses OpenSSH authorized_keys files (sshd(8), "AUTHORIZED_KEYS FILE FORMAT"):
// one public key per line, optionally preceded by comma-separated options, and turns the options
// into the restrictions a server enforces ([Perms]). It also judges user certificates (OpenSSH
// PROTOCOL.certkeys) against cert-authority lines and TrustedUserCAKeys files ([Authorize]).
package authkeys

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/ssh"
)

// ErrNoKey is returned by [ParseLine] for blank lines and comments.
var ErrNoKey = errors.New("no key on line")

// Option is one option of a key line, in the order written. Value is
// meaningful only when HasValue is set (`name="value"`).
type Option struct {
	Name     string
	Value    string
	HasValue bool
}

// Entry is one key line of an authorized_keys file.
type Entry struct {
	Options []Option
	Key     ssh.PublicKey
	Comment string
	// Line is the 1-based line number in the file (0 from ParseLine).
	Line int
}

// LineError reports a line that was rejected; the other lines still count.
type LineError struct {
	Line int
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }
func (e *LineError) Unwrap() error { return e.Err }

// Parse parses a whole authorized_keys file. Lines that cannot be parsed
// (unknown options, bad keys) are left out and reported as [*LineError]s,
// as sshd logs and skips them.
func Parse(data []byte) ([]Entry, []error) {
	var (
		entries []Entry
		errs    []error
	)
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		e, err := ParseLine(sc.Text())
		if errors.Is(err, ErrNoKey) {
			continue
		}
		if err != nil {
			errs = append(errs, &LineError{Line: n, Err: err})
			continue
		}
		e.Line = n
		entries = append(entries, e)
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, &LineError{Line: n + 1, Err: err})
	}
	return entries, errs
}

const blanks = " \t\r"

// ParseLine parses one line (without its newline). Blank lines and
// comments give [ErrNoKey].
func ParseLine(line string) (Entry, error) {
	if strings.ContainsAny(line, "\n\x00") {
		return Entry{}, errors.New("line contains a newline or NUL")
	}
	line = strings.TrimLeft(line, blanks)
	if line == "" || line[0] == '#' {
		return Entry{}, ErrNoKey
	}
	// A line starts either with the key type or with options; sshd tries
	// the key first.
	e, err := parseKey(line)
	if err == nil {
		return e, nil
	}
	if first := line[:strings.IndexAny(line+" ", blanks)]; !strings.ContainsAny(first, `=,"`) {
		if _, isOption := knownOptions[strings.ToLower(first)]; !isOption && looksLikeKeyType(first) {
			return Entry{}, err
		}
	}
	opts, rest, err := parseOptions(line)
	if err != nil {
		return Entry{}, err
	}
	e, err = parseKey(strings.TrimLeft(rest, blanks))
	if err != nil {
		return Entry{}, err
	}
	if _, err := Compile(opts); err != nil {
		return Entry{}, err
	}
	e.Options = opts
	return e, nil
}

// looksLikeKeyType tells a key line with a broken key from an option list.
func looksLikeKeyType(s string) bool {
	for _, p := range []string{"ssh-", "ecdsa-", "sk-", "rsa-"} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// parseKey parses "type base64 [comment]".
func parseKey(s string) (Entry, error) {
	typ, rest, _ := strings.Cut(s, " ")
	if i := strings.IndexAny(typ, "\t\r"); i >= 0 {
		typ, rest = s[:i], s[i+1:]
	}
	rest = strings.TrimLeft(rest, blanks)
	b64, comment := rest, ""
	if i := strings.IndexAny(rest, blanks); i >= 0 {
		b64, comment = rest[:i], rest[i+1:]
	}
	if typ == "" || b64 == "" {
		return Entry{}, errors.New("missing key type or key data")
	}
	blob, err := base64.StdEncoding.Strict().DecodeString(b64)
	if err != nil {
		return Entry{}, fmt.Errorf("decode %s key: %w", typ, err)
	}
	key, err := ssh.ParsePublicKey(blob)
	if err != nil {
		return Entry{}, fmt.Errorf("parse %s key: %w", typ, err)
	}
	if key.Type() != typ {
		return Entry{}, fmt.Errorf("key type %q does not match its data (%s)", typ, key.Type())
	}
	if _, ok := key.(*ssh.Certificate); ok {
		// sshd reads such a line but it never matches a login.
		return Entry{}, fmt.Errorf("%s: a certificate never matches here; list its CA's key with cert-authority", typ)
	}
	return Entry{Key: key, Comment: strings.Trim(comment, blanks)}, nil
}

// parseOptions reads the option list up to the first unquoted blank.
func parseOptions(s string) ([]Option, string, error) {
	var opts []Option
	for {
		i := 0
		for i < len(s) && s[i] != '=' && s[i] != ',' && !strings.ContainsRune(blanks, rune(s[i])) {
			i++
		}
		if i == 0 {
			return nil, "", fmt.Errorf("empty option name at %q", clip(s))
		}
		o := Option{Name: s[:i]}
		s = s[i:]
		if s != "" && s[0] == '=' {
			if len(s) < 2 || s[1] != '"' {
				return nil, "", fmt.Errorf("option %s: value must be in double quotes", o.Name)
			}
			var b strings.Builder
			j := 2
			for ; j < len(s) && s[j] != '"'; j++ {
				if s[j] == '\\' && j+1 < len(s) && s[j+1] == '"' {
					j++
				}
				b.WriteByte(s[j])
			}
			if j >= len(s) {
				return nil, "", fmt.Errorf("option %s: missing closing quote", o.Name)
			}
			o.Value, o.HasValue = b.String(), true
			s = s[j+1:]
		}
		opts = append(opts, o)
		if s == "" {
			return nil, "", errors.New("options are not followed by a key")
		}
		if s[0] != ',' {
			if !strings.ContainsRune(blanks, rune(s[0])) {
				return nil, "", fmt.Errorf("option %s: unexpected %q after it", o.Name, s[0])
			}
			return opts, s, nil
		}
		s = s[1:]
	}
}

func clip(s string) string {
	if len(s) > 20 {
		return s[:20] + "…"
	}
	return s
}

// String prints e as an authorized_keys line; ParseLine(e.String())
// gives e back.
func (e Entry) String() string {
	var b strings.Builder
	for i, o := range e.Options {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(o.Name)
		if o.HasValue {
			b.WriteString(`="`)
			b.WriteString(strings.ReplaceAll(o.Value, `"`, `\"`))
			b.WriteByte('"')
		}
	}
	if len(e.Options) > 0 {
		b.WriteByte(' ')
	}
	if e.Key != nil {
		b.WriteString(e.Key.Type())
		b.WriteByte(' ')
		b.WriteString(base64.StdEncoding.EncodeToString(e.Key.Marshal()))
	}
	if e.Comment != "" {
		b.WriteByte(' ')
		b.WriteString(e.Comment)
	}
	return b.String()
}
