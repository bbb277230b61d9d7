// Package client is jumpgate's ssh client: it resolves the configuration,
// dials the jump chain, decides multiplexing (being, using or spawning a
// master, reusing jump hosts' masters), and runs the session, -W, -N, the
// forwards, X11 and keepalives, in ssh(1)'s words. The command line turns
// argv into [Options]; `jumpgate vpn`, `topo` and `console` get their
// connection from [Client.DialDest].
//
// The multiplexing policy lives here rather than in package mux: it
// resolves jump hosts as the client does (to name a master's socket and
// to start masters for them), prints in ssh(1)'s words, and runs the
// session through the terminal; mux keeps the control protocol, the
// master and its client, with no ssh_config or dialing in it.
package client

import (
	"fmt"
	"strings"

	"github.com/jumpgate/jumpgate/internal/iostreams"
	"github.com/jumpgate/jumpgate/internal/sshconf"
	"github.com/jumpgate/jumpgate/internal/sshwire"
)

// exitConnection is ssh(1)'s status for a failure of its own: 255.
const exitConnection = 255

// StatusError ends the command with Code; the message, if any, has been
// printed already (in ssh(1)'s words, or by the remote command).
type StatusError struct{ Code int }

func (e *StatusError) Error() string { return fmt.Sprintf("exit status %d", e.Code) }

// Env is what the client gets from the process.
type Env struct {
	IO     *iostreams.IOStreams
	Getenv func(string) string
	// Argv is the process's command line (argv[0] included), which -f
	// and a background master start again.
	Argv []string
	// Version names jumpgate in -v's first line.
	Version string
	// Environ is the process's environment, for SendEnv and the copies of
	// ourselves we start.
	Environ func() []string
	// Forked: this process is the background copy of -f ([ForkedEnv]).
	// Master: it is a background master started by another client
	// ([MasterEnv]).
	Forked, Master bool
	// Handshake runs the SSH handshake of every connection; nil means our
	// engine's.
	Handshake sshwire.ClientHandshake
}

// Options is the command line of `jumpgate ssh`, parsed the way ssh(1)
// parses it. Flags that ssh(1) assigns directly (and that therefore beat -o
// and the config files) are kept in Override; -o, -l, -i, -L, -R, -D and
// -w go to Ordered, where the first value obtained wins as in a file.
type Options struct {
	Dest     string   // host, with user@ and ssh:// taken off
	DestUser string   // user from user@host or ssh://user@host
	DestPort int      // port from ssh://host:port, 0 if none
	Command  []string // remote command words

	ConfigFile string // -F; "" means the default files
	LogFile    string // -E
	PrintG     bool   // -G
	ForkAfter  bool   // -f
	Stdio      string // -W host:port, as given
	StdioHost  string
	StdioPort  int // 0 for a Unix socket path in StdioHost
	MuxCommand string
	LogLevel   int // -1 unset; else a vlog.Level from -q/-v

	// OpenSSHDefaults is set when the binary runs as "ssh": no
	// multiplexing and no reuse of jump hosts' masters unless the
	// configuration asks (ControlMaster, ControlPath, ControlPersist), so a
	// changed server is seen by the next command as with ssh(1).
	OpenSSHDefaults bool

	DestAt int // len(Ordered) when the destination was read

	Override map[string]string // keyword → value set by a flag
	OverOrd  []string          // keywords of Override in first-set order
	Ordered  []sshconf.Option
}

// Set records a directly assigned option: a later flag replaces it.
func (a *Options) Set(key, value string) {
	if _, ok := a.Override[key]; !ok {
		a.OverOrd = append(a.OverOrd, key)
	}
	a.Override[key] = value
}

// Add appends an option that, as in a file, counts only if first.
func (a *Options) Add(key, value string) {
	a.Ordered = append(a.Ordered, sshconf.Option{Key: key, Value: value})
}

// CommandLine returns the command-line options for sshconf: direct
// assignments first (so they win), then the ordered ones.
func (a *Options) CommandLine() []sshconf.Option {
	out := make([]sshconf.Option, 0, len(a.OverOrd)+len(a.Ordered)+1)
	if a.LogLevel >= 0 {
		out = append(out, sshconf.Option{Key: "LogLevel", Value: logLevelNames[a.LogLevel]})
	}
	for _, k := range a.OverOrd {
		out = append(out, sshconf.Option{Key: k, Value: a.Override[k]})
	}
	for i, o := range a.Ordered {
		// ssh(1) fills User and Port from the destination as it reads it;
		// a -l, -o User or -o Port after that finds them already set.
		k := strings.ToLower(OptionKey(o))
		if i >= a.DestAt && (a.DestUser != "" && k == "user" || a.DestPort != 0 && k == "port") {
			continue
		}
		out = append(out, o)
	}
	return out
}

var logLevelNames = [...]string{"QUIET", "FATAL", "ERROR", "INFO", "VERBOSE", "DEBUG1", "DEBUG2", "DEBUG3"}

// OptionKey is the keyword of an option, also for a whole "-o Key=Value".
func OptionKey(o sshconf.Option) string {
	if o.Key != "" {
		return o.Key
	}
	s := strings.TrimLeft(o.Value, " \t")
	if i := strings.IndexAny(s, " \t="); i >= 0 {
		return s[:i]
	}
	return s
}
