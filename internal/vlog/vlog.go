// Package vlog is the leveled logger behind ssh(1)-style -v, -q and
// LogLevel: lines go to one writer (stderr, or the -E log file) with
// OpenSSH's "debug1: " style prefixes.
package vlog

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"
)

// Level is an OpenSSH LogLevel.
type Level int

// The levels of ssh_config(5) LogLevel, quietest first.
const (
	Quiet Level = iota
	Fatal
	Error
	Info
	Verbose
	Debug1
	Debug2
	Debug3
)

var levelNames = []string{"QUIET", "FATAL", "ERROR", "INFO", "VERBOSE", "DEBUG1", "DEBUG2", "DEBUG3"}

// String returns the ssh_config spelling of l.
func (l Level) String() string {
	if l < 0 || int(l) >= len(levelNames) {
		return fmt.Sprintf("Level(%d)", int(l))
	}
	return levelNames[l]
}

// ParseLevel parses an ssh_config LogLevel value (DEBUG is DEBUG1).
func ParseLevel(s string) (Level, error) {
	u := strings.ToUpper(s)
	switch u {
	case "DEBUG":
		return Debug1, nil
	case "SILENT": // how ssh -G prints QUIET
		return Quiet, nil
	}
	for i, n := range levelNames {
		if n == u {
			return Level(i), nil
		}
	}
	return 0, fmt.Errorf("unsupported log level %q", s)
}

// Logger writes lines at or below its level. A nil *Logger discards all.
type Logger struct {
	mu    sync.Mutex
	w     io.Writer
	level atomic.Int32
}

// New returns a logger writing lines at level or quieter to w.
func New(w io.Writer, level Level) *Logger {
	lg := &Logger{w: w}
	lg.level.Store(int32(level))
	return lg
}

// Enabled reports whether lines at l are written.
func (lg *Logger) Enabled(l Level) bool { return lg != nil && l <= lg.Level() }

// Level returns the logger's level (Quiet for nil).
func (lg *Logger) Level() Level {
	if lg == nil {
		return Quiet
	}
	return Level(lg.level.Load())
}

// SetLevel changes the level, as ssh(1)'s ~v and ~V escapes do.
func (lg *Logger) SetLevel(l Level) {
	if lg != nil {
		lg.level.Store(int32(l))
	}
}

// Logf writes one line at level l, prefixed as OpenSSH does for debug levels.
func (lg *Logger) Logf(l Level, format string, args ...any) {
	if !lg.Enabled(l) {
		return
	}
	prefix := ""
	switch l {
	case Debug1:
		prefix = "debug1: "
	case Debug2:
		prefix = "debug2: "
	case Debug3:
		prefix = "debug3: "
	}
	msg := strings.TrimRight(fmt.Sprintf(format, args...), "\n")
	if l < Debug1 {
		msg = Clip(msg) // debug lines may list every algorithm, as ssh(1)'s
	}
	lg.mu.Lock()
	defer lg.mu.Unlock()
	fmt.Fprintf(lg.w, "%s%s\r\n", prefix, msg)
}

// Debugf logs at Debug1.
func (lg *Logger) Debugf(format string, args ...any) { lg.Logf(Debug1, format, args...) }

// Debug2f logs at Debug2.
func (lg *Logger) Debug2f(format string, args ...any) { lg.Logf(Debug2, format, args...) }

// Debug3f logs at Debug3.
func (lg *Logger) Debug3f(format string, args ...any) { lg.Logf(Debug3, format, args...) }

// Verbosef logs at Verbose.
func (lg *Logger) Verbosef(format string, args ...any) { lg.Logf(Verbose, format, args...) }

// Infof logs at Info.
func (lg *Logger) Infof(format string, args ...any) { lg.Logf(Info, format, args...) }

// Errorf logs at Error.
func (lg *Logger) Errorf(format string, args ...any) { lg.Logf(Error, format, args...) }

// Clip limits a message to [MaxMessage] bytes by cutting out its middle:
// a value pasted by mistake (a megabyte on one line) is quoted as a short
// excerpt, and the words around it (ssh(1)'s, at both ends) stay whole.
// A message of several lines has each clipped.
func Clip(msg string) string {
	if len(msg) <= MaxMessage {
		return msg
	}
	if strings.Contains(msg, "\n") {
		lines := strings.Split(msg, "\n")
		for i, l := range lines {
			lines[i] = Clip(l)
		}
		return strings.Join(lines, "\n")
	}
	head, tail := msg[:clipHead], msg[len(msg)-clipTail:]
	for !utf8.ValidString(head) && len(head) > 0 {
		head = head[:len(head)-1]
	}
	for !utf8.ValidString(tail) && len(tail) > 0 {
		tail = tail[1:]
	}
	return fmt.Sprintf("%s[...%d bytes...]%s", head, len(msg)-len(head)-len(tail), tail)
}

// MaxMessage is the longest message [Clip] leaves whole: under OpenSSH's
// 1 KiB log buffer, and a few lines of a terminal.
const (
	MaxMessage = 320
	clipHead   = 200
	clipTail   = 80
)
