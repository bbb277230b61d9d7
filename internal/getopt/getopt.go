// Package getopt parses short options as BSD getopt(3) does for OpenSSH:
// clusters (-NT), arguments attached or in the next word (-p22, -p 22),
// no permutation (options end at the first non-option) and "--" ending
// them.
package getopt

import (
	"fmt"
	"strings"
)

// Parser walks Args by Optstring (getopt(3)'s: a letter per option, ':'
// after those that take an argument).
type Parser struct {
	Args      []string
	Optstring string
	// Index is the next argument to read: once [Parser.Next] returns opt
	// 0, Args[Index:] are the operands.
	Index int
	// Terminated reports that "--" ended the options.
	Terminated bool
	pos        int // position inside a cluster like -NT
}

// Error is an unknown option or a missing argument, in getopt(3)'s words.
type Error struct{ Msg string }

func (e *Error) Error() string { return e.Msg }

// Next returns the next option and its argument; opt 0 means no more.
func (g *Parser) Next() (opt byte, arg string, err error) {
	if g.pos == 0 {
		if g.Index >= len(g.Args) {
			return 0, "", nil
		}
		s := g.Args[g.Index]
		if s == "--" {
			g.Index++
			g.Terminated = true
			return 0, "", nil
		}
		if len(s) < 2 || s[0] != '-' {
			return 0, "", nil
		}
		g.pos = 1
	}
	s := g.Args[g.Index]
	c := s[g.pos]
	g.pos++
	i := strings.IndexByte(g.Optstring, c)
	if c == ':' || i < 0 {
		if g.pos >= len(s) {
			g.Index, g.pos = g.Index+1, 0
		}
		return 0, "", &Error{fmt.Sprintf("unknown option -- %c", c)}
	}
	if i+1 < len(g.Optstring) && g.Optstring[i+1] == ':' {
		if g.pos < len(s) {
			arg = s[g.pos:]
		} else if g.Index+1 < len(g.Args) {
			g.Index++
			arg = g.Args[g.Index]
		} else {
			g.Index, g.pos = g.Index+1, 0
			return 0, "", &Error{fmt.Sprintf("option requires an argument -- %c", c)}
		}
		g.Index, g.pos = g.Index+1, 0
		return c, arg, nil
	}
	if g.pos >= len(s) {
		g.Index, g.pos = g.Index+1, 0
	}
	return c, "", nil
}
