package sshconn

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/jumpgate/jumpgate/internal/vlog"
)

// output sends user-facing lines (OpenSSH's error() and logit()) to Warn,
// honouring the log level as ssh(1) does: -q (LogLevel QUIET) hides even
// the changed-host-key banner. Lines end in "\r\n" as ssh(1)'s do.
type output struct {
	log *vlog.Logger
	w   io.Writer
}

func (o *output) write(level vlog.Level, text string) {
	if o.log != nil && !o.log.Enabled(level) {
		return
	}
	for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		switch {
		case o.w != nil:
			fmt.Fprintf(o.w, "%s\r\n", line)
		case o.log != nil:
			o.log.Logf(level, "%s", line)
		}
	}
}

func (o *output) errorf(format string, args ...any) {
	o.write(vlog.Error, fmt.Sprintf(format, args...))
}

func (o *output) infof(format string, args ...any) {
	o.write(vlog.Info, fmt.Sprintf(format, args...))
}

// hostConfig is the seam to the resolved ssh_config: *sshconf.Host
// implements it, tests use a map.
type hostConfig interface {
	Get(key string) string
	GetAll(key string) []string
	Expand(s string) (string, error)
}

// settings reads typed values from a hostConfig, applying OpenSSH's
// defaults where the value is empty (ssh -G omits some unset keywords).
type settings struct{ h hostConfig }

func (s settings) str(key, def string) string {
	if v := strings.TrimSpace(s.h.Get(key)); v != "" {
		return v
	}
	return def
}

// flag reads a yes/no keyword; ssh -G prints some as true/false.
func (s settings) flag(key string, def bool) bool {
	switch strings.ToLower(s.str(key, "")) {
	case "yes", "true":
		return true
	case "no", "false":
		return false
	}
	return def
}

func (s settings) int(key string, def int) int {
	if n, err := strconv.Atoi(s.str(key, "")); err == nil {
		return n
	}
	return def
}

// list reads a comma-separated keyword (algorithms, PreferredAuthentications).
func (s settings) list(key, def string) []string {
	var out []string
	for _, f := range strings.Split(s.str(key, def), ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// paths reads a keyword whose values are paths, possibly several per value
// (UserKnownHostsFile prints as one space-separated line in ssh -G),
// expanding ~. "none" means no files.
func (s settings) paths(key string, def []string) ([]string, error) {
	vals := s.h.GetAll(key)
	if len(vals) == 0 {
		vals = def
	}
	var out []string
	for _, v := range vals {
		for _, f := range strings.Fields(v) {
			if strings.EqualFold(f, "none") {
				continue
			}
			// Only ~ is left to expand: sshconf has expanded the tokens
			// of UserKnownHostsFile, and ssh(1) expands none in
			// GlobalKnownHostsFile. Expanding again would read a
			// literal %% as a token.
			if strings.HasPrefix(f, "~") {
				e, err := s.h.Expand(f)
				if err != nil {
					return nil, fmt.Errorf("expand %s %q: %w", key, f, err)
				}
				f = e
			}
			out = append(out, f)
		}
	}
	return out, nil
}
