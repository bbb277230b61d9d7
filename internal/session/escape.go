package session

// The escape filter sits between the local keyboard and the session
// channel, as ssh(1)'s process_escapes in clientloop.c does: the escape
// character is special only as the first character of a line (at the
// start, or right after '\r' or '\n'); the character after it selects a
// command, and an unknown one is sent on together with the escape
// character. Commands that were recognised leave the "start of line"
// state as it was, so "~?~." works; "~~" sends one escape character and
// ends the start of line.
//
// The filter is pure: bytes in, a list of [Step]s out. What a step means
// (printing help, closing the connection) is the session's business.

// Action is what an escape sequence asks for.
type Action int

// The escape sequences of ssh(1) ("~?" lists them).
const (
	// Send: Data goes to the channel as typed.
	Send Action = iota
	// Disconnect is "~.": end the connection.
	Disconnect
	// Help is "~?": print the list of escapes.
	Help
	// ListChannels is "~#": list the open connections.
	ListChannels
	// Suspend is "~^Z": stop jumpgate as a shell job.
	Suspend
	// Break is "~B": send a BREAK to the remote system.
	Break
	// Rekey is "~R": ask for a new key exchange.
	Rekey
	// LessVerbose is "~V": lower the log level.
	LessVerbose
	// MoreVerbose is "~v": raise the log level.
	MoreVerbose
	// Background is "~&": go to the background.
	Background
	// CommandLineDisabled is "~C" when the command line is off
	// (EnableEscapeCommandline no, OpenSSH 9.2's default).
	CommandLineDisabled
	// Prompt is "~C": show the "ssh> " prompt; the filter now collects a
	// command line, with Echo steps for what the user types.
	Prompt
	// Echo: Data is to be shown on the terminal (command line editing).
	Echo
	// Command: Data is the command line the user entered after "~C".
	Command
	// CommandCancelled: the user gave up the command line (^C, ^D, or ESC).
	CommandCancelled
)

func (a Action) String() string {
	actionNames := [...]string{"Send", "Disconnect", "Help", "ListChannels", "Suspend", "Break", "Rekey",
		"LessVerbose", "MoreVerbose", "Background", "CommandLineDisabled", "Prompt", "Echo", "Command",
		"CommandCancelled"}
	if a < 0 || int(a) >= len(actionNames) {
		return "Action(?)"
	}
	return actionNames[a]
}

// Step is one thing the session does, in order, for the input it was fed.
type Step struct {
	Action Action
	Data   []byte // for Send, Echo and Command
}

// maxCommandLine bounds a "~C" command line, as ssh(1)'s read_passphrase
// does with its 1024-byte buffer.
const maxCommandLine = 1024

// Escaper is the escape-character filter of one interactive session. The
// zero value is not ready; use [NewEscaper].
type Escaper struct {
	char        byte
	commandLine bool

	lineStart bool // the last byte sent ended a line (or nothing was sent yet)
	pending   bool // the escape character was seen at the start of a line
	inCommand bool // collecting a "~C" command line
	line      []byte
}

// NewEscaper returns a filter for escape character c. commandLine enables
// "~C" (ssh_config EnableEscapeCommandline).
func NewEscaper(c byte, commandLine bool) *Escaper {
	return &Escaper{char: c, commandLine: commandLine, lineStart: true}
}

// Char returns the escape character.
func (e *Escaper) Char() byte { return e.char }

// Feed filters p, which the user typed, and returns what to do, in order.
// Consecutive bytes to send are joined in one step. The returned steps do
// not alias p.
func (e *Escaper) Feed(p []byte) []Step {
	var steps []Step
	send := func(b ...byte) {
		if n := len(steps); n > 0 && steps[n-1].Action == Send {
			steps[n-1].Data = append(steps[n-1].Data, b...)
			return
		}
		steps = append(steps, Step{Action: Send, Data: append([]byte(nil), b...)})
	}
	act := func(a Action, data []byte) { steps = append(steps, Step{Action: a, Data: data}) }

	for _, c := range p {
		if e.inCommand {
			e.commandByte(c, act)
			continue
		}
		if e.pending {
			e.pending = false
			switch c {
			case '.':
				act(Disconnect, nil)
				continue
			case '?':
				act(Help, nil)
				continue
			case '#':
				act(ListChannels, nil)
				continue
			case 'Z' - 64:
				act(Suspend, nil)
				continue
			case 'B':
				act(Break, nil)
				continue
			case 'R':
				act(Rekey, nil)
				continue
			case 'V':
				act(LessVerbose, nil)
				continue
			case 'v':
				act(MoreVerbose, nil)
				continue
			case '&':
				act(Background, nil)
				continue
			case 'C':
				if !e.commandLine {
					act(CommandLineDisabled, nil)
					continue
				}
				e.inCommand = true
				e.line = e.line[:0]
				act(Prompt, nil)
				continue
			}
			if c != e.char {
				send(e.char)
			}
			// The escaped character itself is sent below.
		} else if e.lineStart && c == e.char {
			e.pending = true
			continue
		}
		e.lineStart = c == '\r' || c == '\n'
		send(c)
	}
	return steps
}

// commandByte edits the "~C" command line in raw mode: the terminal does
// not echo, so the filter does, and it keeps ^C for itself rather than
// letting the terminal turn it into a SIGINT for jumpgate.
func (e *Escaper) commandByte(c byte, act func(Action, []byte)) {
	switch c {
	case '\r', '\n':
		e.inCommand = false
		act(Echo, []byte("\r\n"))
		act(Command, append([]byte(nil), e.line...))
	case 3, 4, 0x1b: // ^C, ^D, ESC
		e.inCommand = false
		act(Echo, []byte("\r\n"))
		act(CommandCancelled, nil)
	case 0x7f, 8: // DEL, ^H
		if n := len(e.line); n > 0 {
			e.line = e.line[:n-1]
			act(Echo, []byte("\b \b"))
		}
	case 0x15: // ^U
		if n := len(e.line); n > 0 {
			e.line = e.line[:0]
			var b []byte
			for range n {
				b = append(b, "\b \b"...)
			}
			act(Echo, b)
		}
	default:
		if c < 0x20 || len(e.line) >= maxCommandLine {
			return
		}
		e.line = append(e.line, c)
		act(Echo, []byte{c})
	}
}

// commandChars are the characters that select an escape command; an
// escape character that is one of them cannot be sent doubled (as in
// ssh(1), where with EscapeChar B "BB" is a BREAK).
const commandChars = ".?#\x1aBRVv&C"

// Quote returns input that, fed to a fresh [Escaper] for c, sends p
// unchanged: every escape character at the start of a line is doubled.
// It cannot do so when c is one of the command characters.
func Quote(c byte, p []byte) []byte {
	out := make([]byte, 0, len(p))
	lineStart := true
	for _, b := range p {
		if lineStart && b == c {
			out = append(out, c)
		}
		out = append(out, b)
		lineStart = b == '\r' || b == '\n'
	}
	return out
}
