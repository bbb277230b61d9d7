package session

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// render writes steps compactly: sent bytes quoted, actions by name.
func render(steps []Step) string {
	var parts []string
	for _, s := range steps {
		switch s.Action {
		case Send:
			parts = append(parts, fmt.Sprintf("%q", s.Data))
		case Echo, Command:
			parts = append(parts, fmt.Sprintf("%v%q", s.Action, s.Data))
		default:
			parts = append(parts, s.Action.String())
		}
	}
	return strings.Join(parts, " ")
}

func TestEscaper(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		char    byte
		cmdline bool
		in      []string // fed one chunk at a time
		want    string
	}{
		{name: "plain", in: []string{"ls -l\r"}, want: `"ls -l\r"`},
		{name: "disconnect at start", in: []string{"~."}, want: `Disconnect`},
		{name: "disconnect after CR", in: []string{"ls\r~."}, want: `"ls\r" Disconnect`},
		{name: "disconnect after LF", in: []string{"ls\n~.rest"}, want: `"ls\n" Disconnect "rest"`},
		{name: "not after other chars", in: []string{"a~."}, want: `"a~."`},
		{name: "tilde mid line", in: []string{"echo ~/x\r"}, want: `"echo ~/x\r"`},
		{name: "double sends one", in: []string{"~~x"}, want: `"~x"`},
		{name: "double ends line start", in: []string{"~~~."}, want: `"~~."`},
		{name: "unknown passes both", in: []string{"~z"}, want: `"~z"`},
		{name: "unknown CR keeps line start", in: []string{"~\r~."}, want: `"~\r" Disconnect`},
		{name: "help", in: []string{"~?"}, want: `Help`},
		{name: "commands keep line start", in: []string{"~?~#~."}, want: `Help ListChannels Disconnect`},
		{name: "all commands", in: []string{"~B~R~V~v~&~\x1a~#"},
			want: `Break Rekey LessVerbose MoreVerbose Background Suspend ListChannels`},
		{name: "split across reads", in: []string{"x\r", "~", ".", "y"}, want: `"x\r" Disconnect "y"`},
		{name: "pending then plain", in: []string{"~", "a"}, want: `"~a"`},
		{name: "command line off", in: []string{"~Cx"}, want: `CommandLineDisabled "x"`},
		{name: "command line", cmdline: true, in: []string{"~Chelp\rls"},
			want: `Prompt Echo"h" Echo"e" Echo"l" Echo"p" Echo"\r\n" Command"help" "ls"`},
		{name: "command line editing", cmdline: true, in: []string{"~Cab\x7fc\x15d\n"},
			want: `Prompt Echo"a" Echo"b" Echo"\b \b" Echo"c" Echo"\b \b\b \b" Echo"d" Echo"\r\n" Command"d"`},
		{name: "command line cancel", cmdline: true, in: []string{"~Cx\x03~."},
			want: `Prompt Echo"x" Echo"\r\n" CommandCancelled Disconnect`},
		{name: "command line split", cmdline: true, in: []string{"~C-L", "80\r"},
			want: `Prompt Echo"-" Echo"L" Echo"8" Echo"0" Echo"\r\n" Command"-L80"`},
		{name: "other escape char", char: '%', in: []string{"~.\r%.\r"}, want: `"~.\r" Disconnect "\r"`},
		{name: "control escape char", char: 0x1d, in: []string{"\x1d?"}, want: `Help`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := tt.char
			if c == 0 {
				c = '~'
			}
			e := NewEscaper(c, tt.cmdline)
			var steps []Step
			for _, chunk := range tt.in {
				steps = append(steps, e.Feed([]byte(chunk))...)
			}
			// Join sends split by chunk boundaries for the comparison.
			var joined []Step
			for _, s := range steps {
				if n := len(joined); n > 0 && s.Action == Send && joined[n-1].Action == Send {
					joined[n-1].Data = append(joined[n-1].Data, s.Data...)
					continue
				}
				joined = append(joined, s)
			}
			if got := render(joined); got != tt.want {
				t.Errorf("Feed(%q)\n got %s\nwant %s", tt.in, got, tt.want)
			}
		})
	}
}

func TestEscaperDoesNotAlias(t *testing.T) {
	t.Parallel()
	in := []byte("hello\r")
	steps := NewEscaper('~', false).Feed(in)
	in[0] = 'X'
	if string(steps[0].Data) != "hello\r" {
		t.Fatalf("step data aliases input: %q", steps[0].Data)
	}
}

func TestQuote(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"", "~", "~.", "a~.", "x\r~.\n~~", "~~~"} {
		q := Quote('~', []byte(in))
		var sent []byte
		for _, s := range NewEscaper('~', true).Feed(q) {
			if s.Action != Send {
				t.Fatalf("Quote(%q) = %q gives action %v", in, q, s.Action)
			}
			sent = append(sent, s.Data...)
		}
		if string(sent) != in {
			t.Errorf("Feed(Quote(%q)) sent %q", in, sent)
		}
	}
}

func TestParseCommand(t *testing.T) {
	t.Parallel()
	tests := []struct {
		line string
		kind commandKind
		req  string
	}{
		{"", cmdNone, ""},
		{"   ", cmdNone, ""},
		{"-", cmdNone, ""},
		{"help", cmdHelp, ""},
		{"?", cmdHelp, ""},
		{" -h", cmdHelp, ""},
		{"-L8080:localhost:80", cmdForward, "-L8080:localhost:80"},
		{"L 8080:localhost:80", cmdForward, "-L8080:localhost:80"},
		{"-R 2222:localhost:22", cmdForward, "-R2222:localhost:22"},
		{"-D1080", cmdForward, "-D1080"},
		{"-KL8080", cmdForward, "-KL8080"},
		{"-KR2222", cmdForward, "-KR2222"},
		{"-KD 1080", cmdForward, "-KD1080"},
		{"-K", cmdInvalid, ""},
		{"-KX", cmdInvalid, ""},
		{"-X", cmdInvalid, ""},
		{"!ls", cmdInvalid, ""},
	}
	for _, tt := range tests {
		kind, req := parseCommand(tt.line)
		got := ""
		if kind == cmdForward {
			got = req.String()
		}
		if kind != tt.kind || got != tt.req {
			t.Errorf("parseCommand(%q) = %v %q, want %v %q", tt.line, kind, got, tt.kind, tt.req)
		}
	}
	if got := runCommand(t.Context(), "-L8080:h:80", nil); len(got) != 1 || got[0] != "Port forwarding is not available yet." {
		t.Errorf("forward without Forward: %q", got)
	}
	if got := runCommand(t.Context(), "x", nil); len(got) != 1 || got[0] != "Invalid command." {
		t.Errorf("invalid: %q", got)
	}
	if got := runCommand(t.Context(), "help", nil); len(got) != 7 || got[0] != "Commands:" {
		t.Errorf("help: %q", got)
	}
}

// FuzzEscape feeds arbitrary input, split at an arbitrary point, to the
// filter: it must not panic, must send every byte when there are no
// escape characters, and Quote must round-trip.
func FuzzEscape(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "escape", "*"))
	for _, p := range seeds {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint8(len(b)/2), byte('~'), true)
	}
	f.Fuzz(func(t *testing.T, in []byte, split uint8, c byte, cmdline bool) {
		cut := min(int(split), len(in))
		e := NewEscaper(c, cmdline)
		steps := append(e.Feed(in[:cut]), e.Feed(in[cut:])...)
		var sent []byte
		for _, s := range steps {
			if s.Action < Send || s.Action > CommandCancelled {
				t.Fatalf("bad action %d", s.Action)
			}
			if s.Action == Send {
				sent = append(sent, s.Data...)
			}
			if s.Action == Command && len(s.Data) > maxCommandLine {
				t.Fatalf("command line of %d bytes", len(s.Data))
			}
		}
		if !bytes.Contains(in, []byte{c}) && !bytes.Equal(sent, in) {
			t.Fatalf("no escape char, but sent %q for %q", sent, in)
		}
		if len(sent) > len(in) {
			t.Fatalf("sent %d bytes for %d in", len(sent), len(in))
		}
		// Round trip: quoted input is sent unchanged, with no actions
		// (impossible, as in ssh(1), when the escape character is itself
		// a command character: with EscapeChar B, "BB" is a BREAK).
		if bytes.IndexByte([]byte(commandChars), c) >= 0 {
			return
		}
		q := Quote(c, in)
		e = NewEscaper(c, cmdline)
		sent = sent[:0]
		for _, s := range e.Feed(q) {
			if s.Action != Send {
				t.Fatalf("Quote(%q) = %q gave %v", in, q, s.Action)
			}
			sent = append(sent, s.Data...)
		}
		if !bytes.Equal(sent, in) {
			t.Fatalf("Feed(Quote(%q)) sent %q", in, sent)
		}
	})
}
