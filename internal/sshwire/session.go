package sshwire

// A session channel (RFC 4254 section 6) on any Channel: the requests are
// encodings written here once, so an engine only provides channels.

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
)

// Signal is a signal name without "SIG" (RFC 4254 section 6.10).
type Signal string

// Signals of RFC 4254 section 6.10.
const (
	SIGABRT Signal = "ABRT"
	SIGALRM Signal = "ALRM"
	SIGFPE  Signal = "FPE"
	SIGHUP  Signal = "HUP"
	SIGILL  Signal = "ILL"
	SIGINT  Signal = "INT"
	SIGKILL Signal = "KILL"
	SIGPIPE Signal = "PIPE"
	SIGQUIT Signal = "QUIT"
	SIGSEGV Signal = "SEGV"
	SIGTERM Signal = "TERM"
	SIGUSR1 Signal = "USR1"
	SIGUSR2 Signal = "USR2"
)

// signalNumbers gives exit statuses for exit-signal as a shell reports
// them (128 + the Linux number).
var signalNumbers = map[string]int{
	"ABRT": 6, "ALRM": 14, "FPE": 8, "HUP": 1, "ILL": 4, "INT": 2, "KILL": 9,
	"PIPE": 13, "QUIT": 3, "SEGV": 11, "TERM": 15,
}

// TerminalModes are the encoded terminal modes of a pty-req (RFC 4254
// section 8): opcode to value.
type TerminalModes map[uint8]uint32

// ExitError is a command that ended with a non-zero status or a signal.
type ExitError struct {
	status int
	signal string
	msg    string
	lang   string
}

// ExitStatus is the command's exit status (128 plus the signal's number
// for a known signal).
func (e *ExitError) ExitStatus() int { return e.status }

// Signal is the signal that ended the command, without "SIG", or "".
func (e *ExitError) Signal() string { return e.signal }

// Msg is the exit-signal's error message.
func (e *ExitError) Msg() string { return e.msg }

// Lang is the exit-signal's language tag.
func (e *ExitError) Lang() string { return e.lang }

func (e *ExitError) Error() string {
	s := fmt.Sprintf("Process exited with status %v", e.status)
	if e.signal != "" {
		s += fmt.Sprintf(" from signal %q", e.signal)
	}
	if e.msg != "" {
		s += fmt.Sprintf(". Reason was: %q", e.msg)
	}
	return s
}

// ExitMissingError is a session whose channel closed without
// exit-status or exit-signal.
type ExitMissingError struct{}

func (*ExitMissingError) Error() string {
	return "wait: remote command exited without exit status or exit signal"
}

// Session is a "session" channel: a command, shell or subsystem, with or
// without a pty. Set Stdin, Stdout and Stderr (or take the pipes) before
// starting it.
type Session struct {
	// Stdin feeds the remote command; nil sends EOF at once.
	Stdin io.Reader
	// Stdout and Stderr receive the output; nil discards it.
	Stdout, Stderr io.Writer

	ch   Channel
	reqs <-chan *Request

	started            bool
	stdinPipe          bool
	stdoutPipe, errPip bool
	copies             sync.WaitGroup
	copyErr            error
	copyMu             sync.Mutex
	exit               chan error
}

// NewSession opens a session channel on c.
func NewSession(ctx context.Context, c Conn) (*Session, error) {
	ch, reqs, err := c.OpenChannel(ctx, "session", nil)
	if err != nil {
		return nil, err
	}
	return OnChannel(ch, reqs), nil
}

// OnChannel makes a session of an open session channel.
func OnChannel(ch Channel, reqs <-chan *Request) *Session {
	s := &Session{ch: ch, reqs: reqs, exit: make(chan error, 1)}
	go s.wait()
	return s
}

// Channel is the session's channel.
func (s *Session) Channel() Channel { return s.ch }

// SendRequest sends a channel request on the session.
func (s *Session) SendRequest(name string, wantReply bool, payload []byte) (bool, error) {
	return s.ch.SendRequest(name, wantReply, payload)
}

// ask sends a request that must succeed.
func (s *Session) ask(name string, payload []byte) error {
	ok, err := s.ch.SendRequest(name, true, payload)
	if err == nil && !ok {
		err = fmt.Errorf("ssh: %s request failed", name)
	}
	return err
}

// RequestPty asks for a pseudo-terminal (RFC 4254 section 6.2).
func (s *Session) RequestPty(term string, rows, cols int, modes TerminalModes) error {
	var m bytes.Buffer
	for op, v := range modes {
		m.WriteByte(op)
		m.Write(binary.BigEndian.AppendUint32(nil, v))
	}
	m.WriteByte(0) // TTY_OP_END
	b := appendString(nil, term)
	b = binary.BigEndian.AppendUint32(b, uint32(cols))
	b = binary.BigEndian.AppendUint32(b, uint32(rows))
	b = binary.BigEndian.AppendUint32(b, 0)
	b = binary.BigEndian.AppendUint32(b, 0)
	b = appendString(b, m.String())
	return s.ask("pty-req", b)
}

// Setenv asks to set an environment variable (section 6.4).
func (s *Session) Setenv(name, value string) error {
	return s.ask("env", appendString(appendString(nil, name), value))
}

// WindowChange reports a new terminal size (section 6.7).
func (s *Session) WindowChange(rows, cols int) error {
	b := binary.BigEndian.AppendUint32(nil, uint32(cols))
	b = binary.BigEndian.AppendUint32(b, uint32(rows))
	b = binary.BigEndian.AppendUint32(b, 0)
	b = binary.BigEndian.AppendUint32(b, 0)
	_, err := s.ch.SendRequest("window-change", false, b)
	return err
}

// Signal delivers a signal to the remote process (section 6.9).
func (s *Session) Signal(sig Signal) error {
	_, err := s.ch.SendRequest("signal", false, appendString(nil, string(sig)))
	return err
}

// RequestAgentForwarding asks the server to forward agent connections
// back over auth-agent@openssh.com channels (OpenSSH PROTOCOL 2.1).
func (s *Session) RequestAgentForwarding() error {
	return s.ask("auth-agent-req@openssh.com", nil)
}

// X11Request is the payload of x11-req (section 6.3.1).
type X11Request struct {
	SingleConnection bool
	AuthProtocol     string
	AuthCookie       string // hex
	Screen           uint32
}

// RequestX11 asks for X11 forwarding.
func (s *Session) RequestX11(r X11Request) error {
	var b []byte
	if r.SingleConnection {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	b = appendString(b, r.AuthProtocol)
	b = appendString(b, r.AuthCookie)
	b = binary.BigEndian.AppendUint32(b, r.Screen)
	return s.ask("x11-req", b)
}

// Start runs cmd (section 6.5 "exec").
func (s *Session) Start(cmd string) error {
	return s.start("exec", appendString(nil, cmd))
}

// Shell starts the user's login shell.
func (s *Session) Shell() error { return s.start("shell", nil) }

// RequestSubsystem starts a subsystem such as sftp.
func (s *Session) RequestSubsystem(name string) error {
	return s.start("subsystem", appendString(nil, name))
}

// Run runs cmd and waits for it.
func (s *Session) Run(cmd string) error {
	if err := s.Start(cmd); err != nil {
		return err
	}
	return s.Wait()
}

// Output runs cmd and returns its standard output.
func (s *Session) Output(cmd string) ([]byte, error) {
	if s.Stdout != nil {
		return nil, errors.New("ssh: Stdout already set")
	}
	var b bytes.Buffer
	s.Stdout = &b
	err := s.Run(cmd)
	return b.Bytes(), err
}

// CombinedOutput runs cmd and returns its standard output and error,
// interleaved as they arrive.
func (s *Session) CombinedOutput(cmd string) ([]byte, error) {
	if s.Stdout != nil || s.Stderr != nil {
		return nil, errors.New("ssh: Stdout or Stderr already set")
	}
	var b lockedBuffer
	s.Stdout, s.Stderr = &b, &b
	err := s.Run(cmd)
	return b.bytes(), err
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Bytes()
}

func (s *Session) start(kind string, payload []byte) error {
	if s.started {
		return errors.New("ssh: session already started")
	}
	s.started = true
	if err := s.ask(kind, payload); err != nil {
		return err
	}
	if !s.stdinPipe {
		s.copy(func() error {
			if s.Stdin != nil {
				if _, err := io.Copy(s.ch, s.Stdin); err != nil {
					return err
				}
			}
			return s.ch.CloseWrite()
		})
	}
	if !s.stdoutPipe {
		s.copy(func() error { return drain(s.Stdout, s.ch) })
	}
	if !s.errPip {
		s.copy(func() error { return drain(s.Stderr, s.ch.Stderr()) })
	}
	return nil
}

func drain(w io.Writer, r io.Reader) error {
	if w == nil {
		w = io.Discard
	}
	_, err := io.Copy(w, r)
	return err
}

func (s *Session) copy(f func() error) {
	s.copies.Go(func() {
		if err := f(); err != nil && err != io.EOF {
			s.copyMu.Lock()
			if s.copyErr == nil {
				s.copyErr = err
			}
			s.copyMu.Unlock()
		}
	})
}

// StdinPipe returns a writer to the command's input; closing it sends EOF.
func (s *Session) StdinPipe() (io.WriteCloser, error) {
	if s.Stdin != nil || s.started || s.stdinPipe {
		return nil, errors.New("ssh: Stdin already set or session started")
	}
	s.stdinPipe = true
	return stdinPipe{s.ch}, nil
}

type stdinPipe struct{ ch Channel }

func (p stdinPipe) Write(b []byte) (int, error) { return p.ch.Write(b) }
func (p stdinPipe) Close() error                { return p.ch.CloseWrite() }

// StdoutPipe returns the command's output. It must be read, or the
// channel's window fills and the command stalls.
func (s *Session) StdoutPipe() (io.Reader, error) {
	if s.Stdout != nil || s.started || s.stdoutPipe {
		return nil, errors.New("ssh: Stdout already set or session started")
	}
	s.stdoutPipe = true
	return s.ch, nil
}

// StderrPipe returns the command's standard error, as StdoutPipe.
func (s *Session) StderrPipe() (io.Reader, error) {
	if s.Stderr != nil || s.started || s.errPip {
		return nil, errors.New("ssh: Stderr already set or session started")
	}
	s.errPip = true
	return s.ch.Stderr(), nil
}

// wait reads the channel's requests until it closes and leaves the
// command's fate in s.exit.
func (s *Session) wait() {
	var (
		got  bool
		exit ExitError
	)
	for r := range s.reqs {
		switch r.Type {
		case "exit-status":
			if len(r.Payload) >= 4 {
				exit.status = int(binary.BigEndian.Uint32(r.Payload))
				got = true
			}
		case "exit-signal":
			sig, rest, ok := readString(r.Payload)
			if !ok || len(rest) < 1 {
				break
			}
			msg, rest, _ := readString(rest[1:]) // after "core dumped"
			lang, _, _ := readString(rest)
			exit = ExitError{status: 128 + signalNumbers[sig], signal: sig, msg: msg, lang: lang}
			got = true
		}
		r.Reply(false, nil)
	}
	switch {
	case !got:
		s.exit <- &ExitMissingError{}
	case exit.status == 0 && exit.signal == "":
		s.exit <- nil
	default:
		s.exit <- &exit
	}
}

// Wait waits for the command to end and its output to be copied. It
// returns nil for status 0, an *[ExitError] for another status or a
// signal, and an *[ExitMissingError] when the channel closed without
// either.
func (s *Session) Wait() error {
	if !s.started {
		return errors.New("ssh: session not started")
	}
	err := <-s.exit
	s.exit <- err // a second Wait sees the same
	s.copies.Wait()
	if err == nil {
		s.copyMu.Lock()
		err = s.copyErr
		s.copyMu.Unlock()
	}
	return err
}

// Close closes the session's channel.
func (s *Session) Close() error { return s.ch.Close() }

func appendString(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

func readString(b []byte) (string, []byte, bool) {
	if len(b) < 4 {
		return "", nil, false
	}
	n := binary.BigEndian.Uint32(b)
	if uint64(len(b)-4) < uint64(n) {
		return "", nil, false
	}
	return string(b[4 : 4+n]), b[4+n:], true
}
