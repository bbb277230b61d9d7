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
//	*ParseError                          file:line errors

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
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
	// SystemFile and UserFile default to /etc/ssh/ssh_config and
	// HomeDir/.ssh/config.
	SystemFile string
	UserFile   string
	// CommandLine holds -o options and flag-derived options in command-line
	// order. They are read before any file, so they win.
	CommandLine []Option
	// UserFromDestination is the user from user@host (it wins over User).
	UserFromDestination string
	// PortFromDestination is the port from ssh://host:port, 0 if none.
	PortFromDestination int

	LocalUser string                // %u, Match localuser
	HomeDir   string                // %d, ~
	LocalHost string                // %L (short) and %l (long) come from it
	Getenv    func(string) string   // ${VAR} expansion
	Exec      func(cmd string) bool // Match exec; nil means never matches
	JumpHosts string                // %j, the ProxyJump value in effect
}

// Host is the resolved, immutable configuration for one destination.
type Host struct {
	original string              // the host name as given on the command line
	values   map[string][]string // lower-case keyword -> values, first wins
}

// ParseError is a problem in a config file, with its place.
type ParseError struct {
	File string
	Line int
	Err  error
}

func (e *ParseError) Error() string {
	if e.File == "" {
		return fmt.Sprintf("command line: %v", e.Err)
	}
	return fmt.Sprintf("%s line %d: %v", e.File, e.Line, e.Err)
}

func (e *ParseError) Unwrap() error { return e.Err }

var errUnimplemented = errors.New("sshconf: not implemented yet")

// Resolve returns the effective configuration for the destination host.
func Resolve(host string, opts Options) (*Host, error) {
	return nil, errUnimplemented
}

// Original returns the destination as given on the command line (%n).
func (h *Host) Original() string { return h.original }

// Get returns the first value of keyword key (case-insensitive), with
// OpenSSH's default applied, as `ssh -G` prints it; "" if unset.
func (h *Host) Get(key string) string {
	if v := h.GetAll(key); len(v) > 0 {
		return v[0]
	}
	return ""
}

// GetAll returns every value of a multi-value keyword (IdentityFile,
// LocalForward, SendEnv, …), in order.
func (h *Host) GetAll(key string) []string { return nil }

// Expand expands %-tokens and a leading ~ in s for this host.
func (h *Host) Expand(s string) (string, error) { return "", errUnimplemented }

// WriteG writes the configuration as `ssh -G` does.
func (h *Host) WriteG(w io.Writer) error { return errUnimplemented }
