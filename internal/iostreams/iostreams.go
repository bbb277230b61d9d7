// Package iostreams carries a command's standard input, output and error
// streams, so that commands can be run against real terminals or in tests.
package iostreams

import (
	"bytes"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
)

// IOStreams are the streams a command reads and writes. Out carries only
// what the user asked for; everything else goes to ErrOut.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
}

// System returns the process's own standard streams.
func System() *IOStreams {
	return &IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
}

// Test returns streams backed by buffers: stdin reads from in, and the
// returned buffers collect what was written to Out and ErrOut.
func Test(in string) (*IOStreams, *bytes.Buffer, *bytes.Buffer) {
	var out, errOut bytes.Buffer
	return &IOStreams{In: strings.NewReader(in), Out: &out, ErrOut: &errOut}, &out, &errOut
}

// fder is implemented by *os.File.
type fder interface{ Fd() uintptr }

// IsTerminal reports whether s is a terminal.
func IsTerminal(s any) bool {
	f, ok := s.(fder)
	return ok && term.IsTerminal(int(f.Fd()))
}

// InIsTerminal reports whether standard input is a terminal.
func (s *IOStreams) InIsTerminal() bool { return IsTerminal(s.In) }

// OutIsTerminal reports whether standard output is a terminal.
func (s *IOStreams) OutIsTerminal() bool { return IsTerminal(s.Out) }
