package session

import (
	"context"
	"fmt"
	"strings"
)

// HelpText is ssh(1)'s answer to "~?" for escape character c, word for
// word (clientloop.c print_escape_help, for a session that is not a
// multiplexing client); commandLine says whether "~C" is listed.
func HelpText(c byte, commandLine bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%c?\r\nSupported escape sequences:\r\n", c)
	for _, h := range []struct{ cmd, text string }{
		{".", "terminate connection (and any multiplexed sessions)"},
		{"B", "send a BREAK to the remote system"},
		{"C", "open a command line"},
		{"R", "request rekey"},
		{"V/v", "decrease/increase verbosity (LogLevel)"},
		{"^Z", "suspend ssh"},
		{"#", "list forwarded connections"},
		{"&", "background ssh (when waiting for connections to terminate)"},
		{"?", "this message"},
	} {
		if h.cmd == "C" && !commandLine {
			continue
		}
		fmt.Fprintf(&b, " %c%-3s - %s\r\n", c, h.cmd, h.text)
	}
	fmt.Fprintf(&b, " %c%c   - send the escape character by typing it twice\r\n", c, c)
	b.WriteString("(Note that escapes are only recognized immediately after newline.)\r\n")
	return b.String()
}

// commandHelp is ssh(1)'s answer to "help" at the "ssh>" prompt (without
// "!args": jumpgate has no PermitLocalCommand).
func commandHelp() []string {
	return []string{
		"Commands:",
		"      -L[bind_address:]port:host:hostport    Request local forward",
		"      -R[bind_address:]port:host:hostport    Request remote forward",
		"      -D[bind_address:]port                  Request dynamic forward",
		"      -KL[bind_address:]port                 Cancel local forward",
		"      -KR[bind_address:]port                 Cancel remote forward",
		"      -KD[bind_address:]port                 Cancel dynamic forward",
	}
}

// ForwardRequest is a forwarding asked for at the "ssh>" prompt: -L, -R
// or -D, or with Cancel their -KL, -KR, -KD.
type ForwardRequest struct {
	Kind   byte // 'L', 'R' or 'D'
	Cancel bool
	Spec   string // as typed, e.g. "8080:localhost:80"
}

// String returns the request as typed at the prompt, e.g. "-KL8080".
func (f ForwardRequest) String() string {
	k := ""
	if f.Cancel {
		k = "K"
	}
	return "-" + k + string(f.Kind) + f.Spec
}

// noForwarding is the answer to a forwarding request at the "ssh>" prompt
// while nothing carries them out ([Options].Forward is nil).
const noForwarding = "Port forwarding is not available yet."

// commandKind is what a "~C" command line asks for.
type commandKind int

const (
	cmdNone commandKind = iota // empty line
	cmdHelp
	cmdForward
	cmdInvalid
)

// parseCommand parses a "~C" command line as ssh(1)'s process_cmdline
// does: leading blanks and one '-' are skipped, h/H/? is help, then an
// optional K (cancel) and L, R or D, then blanks and the specification.
func parseCommand(line string) (commandKind, ForwardRequest) {
	s := strings.TrimLeft(line, " \t\v\f\r\n")
	s = strings.TrimPrefix(s, "-")
	if s == "" {
		return cmdNone, ForwardRequest{}
	}
	switch s[0] {
	case 'h', 'H', '?':
		return cmdHelp, ForwardRequest{}
	}
	var f ForwardRequest
	if s[0] == 'K' {
		f.Cancel = true
		s = s[1:]
	}
	if s == "" || (s[0] != 'L' && s[0] != 'R' && s[0] != 'D') {
		return cmdInvalid, ForwardRequest{}
	}
	f.Kind = s[0]
	f.Spec = strings.TrimLeft(s[1:], " \t\v\f\r\n")
	return cmdForward, f
}

// runCommand carries out one "~C" command line and returns the lines to
// show (ssh(1) logs them at INFO level).
func runCommand(ctx context.Context, line string, forward func(context.Context, ForwardRequest) (string, error)) []string {
	kind, f := parseCommand(line)
	switch kind {
	case cmdHelp:
		return commandHelp()
	case cmdInvalid:
		return []string{"Invalid command."}
	case cmdForward:
		if forward == nil {
			return []string{noForwarding}
		}
		msg, err := forward(ctx, f)
		if err != nil {
			return []string{err.Error()}
		}
		if msg == "" {
			return nil
		}
		return []string{msg}
	}
	return nil
}
