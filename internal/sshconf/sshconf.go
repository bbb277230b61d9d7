// Package sshconf reads OpenSSH client configuration (ssh_config(5)) and
// resolves the effective options for one destination, the way ssh(1) does:
// first obtained value wins, Host and Match blocks, Include, %-tokens.
//
// It is pure: files are read through an fs.FS and anything from the process
// (user, home, environment, Match exec) comes in through [Options].
package sshconf

// API CONTRACT (stub written by the lead; the sshconf owner fills it in and
// may add to it, but must keep these names and meanings):
//
//	Resolve(host, opts) (*Host, error)   resolve the effective config for host
//	(*Host).Get(key) string              first value, as `ssh -G` would print it
//	(*Host).GetAll(key) []string         every value of a multi-value keyword
//	(*Host).Expand(s) (string, error)    %-tokens and ~ for this host
//	(*Host).WriteG(w) error              `ssh -G` output, OpenSSH's format and order
//	*ParseError, *BadOptionsError       file:line errors, every bad line of a file

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
)

// Option is one keyword and its value as it appeared in a file or on the
// command line (-o, or a flag such as -p turned into its keyword).
type Option struct {
	Key   string // as written; matched case-insensitively
	Value string
	File  string // "" for the command line
	Line  int
}

// Options is everything from outside the config files that resolution needs.
type Options struct {
	// FS reads config files; paths are absolute with the leading "/" removed
	// (as os.DirFS("/") wants). Nil means the real filesystem.
	FS fs.FS
	// ConfigFile is -F: "" means the user's ~/.ssh/config and the system
	// file; "none" means no files at all; anything else only that file.
	ConfigFile string
	// WorkDir is where a relative ConfigFile is found (ssh -F ./cfg);
	// default the process's working directory, or "/" with FS set.
	WorkDir string
	// SystemFile and UserFile default to /etc/ssh/ssh_config and
	// HomeDir/.ssh/config.
	SystemFile string
	UserFile   string
	// CommandLine holds -o options and flag-derived options in command-line
	// order. They are read before any file, so they win. An Option with an
	// empty Key carries a whole -o argument ("User=bob", "User bob") in
	// Value.
	CommandLine []Option
	// UserFromDestination is the user from user@host. Like ssh(1), it is
	// used when no -o User or -l came before it on the command line, and
	// it wins over every config file.
	UserFromDestination string
	// PortFromDestination is the port from ssh://host:port, 0 if none.
	PortFromDestination int
	// Unhonoured reports a keyword (lower case) and value that the
	// caller parses but cannot act on: an active line setting it gets
	// ssh(1)'s warning for an option it was built without ("FILE line N:
	// Unsupported option"), and is kept, so that -G still shows it.
	Unhonoured func(keyword, value string) bool
	// StdioForward is -W: it turns ExitOnForwardFailure and
	// ClearAllForwardings on by default, as in ssh(1).
	StdioForward bool

	LocalUser string              // %u, Match localuser; the default User
	UID       int                 // %i
	HomeDir   string              // %d, ~ (ssh(1) takes it from the passwd entry, not $HOME)
	LocalHost string              // %L (short) and %l (long) come from it
	Getenv    func(string) string // ${VAR} expansion
	// Exec runs a Match exec command (already %-expanded) through the
	// user's shell and reports whether it exited 0; nil means never.
	Exec func(cmd string) bool
	// UserHome returns another user's home directory for ~user; nil means
	// only ~ (LocalUser) expands.
	UserHome func(user string) (string, bool)
	// LookupHost reports whether a fully-qualified name (ending in ".")
	// resolves, for CanonicalizeHostname; nil means nothing resolves.
	LookupHost func(fqdn string) bool
	// JumpHosts is unused: OpenSSH 9.2 has no %j token. Kept for API
	// stability.
	JumpHosts string
}

// Host is the resolved, immutable configuration for one destination.
type Host struct {
	original string              // the host name as given on the command line
	host     string              // the final host name (HostName, lower-cased)
	values   map[string][]string // lower-case keyword -> values as -G prints them
	lines    []line
	st       *state
	opts     Options
	set      map[string]bool // keywords given somewhere, before defaults
}

// IsSet reports whether keyword key was given on the command line or in a
// config file, rather than left to its default; for callers whose own
// defaults differ from OpenSSH's (jumpgate multiplexes unless told not
// to) and must still honour an explicit "no".
func (h *Host) IsSet(key string) bool {
	k := lower(key)
	if c, ok := lookup(k); ok {
		k = c.name
	}
	return h.set[k]
}

// ParseError is a problem in a config file, with its place.
type ParseError struct {
	File string
	Line int
	Err  error
}

// Error is ssh(1)'s message, one line or two (a Match attribute it does
// not know is named on a line of its own).
func (e *ParseError) Error() string {
	if e.File == "" {
		return fmt.Sprintf("command line: %v", e.Err)
	}
	var bm badMatch
	if errors.As(e.Err, &bm) {
		return fmt.Sprintf("%v\n%s line %d: Bad Match condition", bm.why, e.File, e.Line)
	}
	if msg := e.Err.Error(); strings.HasPrefix(msg, "Bad configuration option") {
		return fmt.Sprintf("%s: line %d: %s", e.File, e.Line, msg)
	}
	return fmt.Sprintf("%s line %d: %v", e.File, e.Line, e.Err)
}

func (e *ParseError) Unwrap() error { return e.Err }

// BadOptionsError is every bad line of one file: ssh(1) reads a file to
// its end, naming each, then gives up on the file.
type BadOptionsError struct {
	File string
	Errs []*ParseError
}

func (e *BadOptionsError) Error() string {
	var b strings.Builder
	for _, pe := range e.Errs {
		b.WriteString(pe.Error() + "\n")
	}
	fmt.Fprintf(&b, "%s: terminating, %d bad configuration options", e.File, len(e.Errs))
	return b.String()
}

// Unwrap returns the errors of the lines, first first.
func (e *BadOptionsError) Unwrap() []error {
	errs := make([]error, len(e.Errs))
	for i, pe := range e.Errs {
		errs[i] = pe
	}
	return errs
}

// badMatch is a Match line ssh(1) refuses, with why.
type badMatch struct{ why error }

func (b badMatch) Error() string { return b.why.Error() + ": Bad Match condition" }

// Original returns the destination as given on the command line (%n).
func (h *Host) Original() string { return h.original }

// Hostname returns the host name to connect to: HostName with %h expanded,
// lower-cased and canonicalised (%h).
func (h *Host) Hostname() string { return h.host }

// Get returns the first value of keyword key (case-insensitive), with
// OpenSSH's default applied, as `ssh -G` prints it; "" if unset.
func (h *Host) Get(key string) string {
	if v := h.GetAll(key); len(v) > 0 {
		return v[0]
	}
	return ""
}

// oneLineList reports the keywords `ssh -G` prints on one line, space
// separated; GetAll splits them.
func oneLineList(k string) bool {
	switch k {
	case "canonicaldomains", "globalknownhostsfile", "userknownhostsfile", "logverbose",
		"permitremoteopen", "canonicalizepermittedcnames":
		return true
	}
	return false
}

// GetAll returns every value of a multi-value keyword (IdentityFile,
// LocalForward, SendEnv, …), in order. Lists `ssh -G` prints on one line
// (UserKnownHostsFile, CanonicalDomains, …) come back one entry per
// element; "none" comes back as no entries.
func (h *Host) GetAll(key string) []string {
	k := lower(key)
	if c, ok := lookup(k); ok {
		k = c.name
	}
	v := h.values[k]
	if oneLineList(k) && len(v) == 1 {
		// "none" is no files, no domains; but PermitRemoteOpen none
		// refuses everything, unlike an empty list.
		if v[0] == "none" && k != "permitremoteopen" {
			return nil
		}
		return strings.Fields(v[0])
	}
	return append([]string(nil), v...)
}

// Warnings returns what OpenSSH would print as warnings while reading the
// files (such as "Unsupported option"), without failing.
func (h *Host) Warnings() []string { return append([]string(nil), h.st.warnings...) }

// Expand expands a leading ~, ${VAR} and the %-tokens of ssh_config(5)
// (%% %C %L %d %h %i %k %l %n %p %r %u) in s for this host; %T expands to
// "NONE".
func (h *Host) Expand(s string) (string, error) {
	t, err := tildeExpand(s, h.opts.HomeDir, h.opts.LocalUser, h.opts.UserHome)
	if err != nil {
		return "", fmt.Errorf("expand %q: %w", s, err)
	}
	keys := h.tokens()
	keys['T'] = "NONE"
	v, err := percentExpand(t, keys, h.opts.getenv)
	if err != nil {
		return "", fmt.Errorf("expand %q: %w", s, err)
	}
	return v, nil
}

// WriteG writes the configuration as `ssh -G` does.
func (h *Host) WriteG(w io.Writer) error {
	var b strings.Builder
	for _, l := range h.lines {
		b.WriteString(l.key)
		b.WriteByte(' ')
		b.WriteString(l.value)
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (h *Host) index() {
	h.lines = h.dump()
	h.values = map[string][]string{}
	for _, l := range h.lines {
		k := lower(l.key)
		h.values[k] = append(h.values[k], l.value)
	}
}
