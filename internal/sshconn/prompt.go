package sshconn

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"golang.org/x/term"

	"github.com/jumpgate/jumpgate/internal/vlog"
)

// ErrNoTTY is returned by [TTYPrompter] when there is no terminal to ask on.
var ErrNoTTY = errors.New("no terminal to prompt on (/dev/tty)")

// TTYPrompter asks on the controlling terminal, /dev/tty, as ssh(1)'s
// read_passphrase does. It never reads stdin, which belongs to the session.
type TTYPrompter struct {
	log *vlog.Logger
	mu  sync.Mutex // one prompt at a time
}

// NewTTYPrompter returns a Prompter using /dev/tty.
func NewTTYPrompter(log *vlog.Logger) *TTYPrompter { return &TTYPrompter{log: log} }

// Prompt writes prompt to /dev/tty and reads one line from it, without
// echo unless echo is true.
func (p *TTYPrompter) Prompt(prompt string, echo bool) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		p.log.Debugf("read_passphrase: can't open /dev/tty: %v", err)
		return "", ErrNoTTY
	}
	defer tty.Close()
	// As ssh(1)'s read_passphrase: echo goes off before the prompt shows,
	// so that what is typed as soon as it shows is never echoed.
	restore := func() {}
	if !echo {
		if r, err := echoOff(int(tty.Fd())); err == nil {
			restore = r
		} else {
			return p.promptReadPassword(tty, prompt)
		}
	}
	if _, err := tty.WriteString(prompt); err != nil {
		restore()
		return "", fmt.Errorf("prompt on /dev/tty: %w", err)
	}
	if !echo {
		defer tty.WriteString("\n")
	}
	defer restore()
	line, err := bufio.NewReader(tty).ReadString('\n')
	if err != nil && line == "" {
		return "", fmt.Errorf("read from /dev/tty: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// promptReadPassword is the prompt where echoOff is not available.
func (p *TTYPrompter) promptReadPassword(tty *os.File, prompt string) (string, error) {
	if _, err := tty.WriteString(prompt); err != nil {
		return "", fmt.Errorf("prompt on /dev/tty: %w", err)
	}
	b, err := term.ReadPassword(int(tty.Fd()))
	tty.WriteString("\n")
	if err != nil {
		return "", fmt.Errorf("read from /dev/tty: %w", err)
	}
	return string(b), nil
}
