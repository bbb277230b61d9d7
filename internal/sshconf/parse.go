package sshconf

// Reading files: one line at a time, as readconf.c's
// process_config_line, with Host/Match activity and Include recursion.

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"

	"github.com/jumpgate/jumpgate/internal/cfgfile"
)

const maxIncludeDepth = 16

// parser holds what one pass over the configuration needs.
type parser struct {
	opts         *Options
	st           *state
	host         string    // what Host lines match
	originalHost string    // %n, Match originalhost
	final        bool      // the final pass (Match final/canonical true)
	wantFinal    bool      // a Match final was seen
	read         int       // bytes of configuration read, Includes and passes included
	hosts        *[]string // when set, collects the concrete Host patterns ([Hosts])
}

// maxTotalRead bounds what one resolution reads: Include globs may name
// many files, each under [cfgfile.Limit].
const maxTotalRead = 4 * cfgfile.Limit

type fileFlags struct {
	user       bool // user config: "~" and relative paths live in ~/.ssh
	neverMatch bool // inside an Include from an inactive block
	checkPerm  bool
}

// msgError is an error whose text is OpenSSH's own message, capital letter
// and all, so that output can be compared with ssh(1)'s.
type msgError string

func (e msgError) Error() string { return string(e) }

func errorf(format string, args ...any) error { return msgError(fmt.Sprintf(format, args...)) }

// readFile parses one file. A missing file is not an error.
func (p *parser) readFile(name string, flags fileFlags, active *bool, depth int) (bool, error) {
	if depth > maxIncludeDepth {
		return false, &ParseError{File: name, Err: msgError("Too many recursive configuration includes")}
	}
	fsys := p.opts.fsys()
	abs := name
	if !path.IsAbs(abs) {
		abs = path.Join(p.opts.workDir(), abs)
	}
	rel := strings.TrimPrefix(path.Clean(abs), "/")
	info, err := fs.Stat(fsys, rel)
	if err != nil {
		return false, nil
	}
	if info.IsDir() {
		return true, nil
	}
	if flags.checkPerm && info.Mode().Perm()&0o22 != 0 {
		return false, &ParseError{File: name, Err: errorf("Bad owner or permissions on %s", name)}
	}
	data, err := readAll(fsys, rel, name)
	if p.read += len(data); p.read > maxTotalRead {
		return false, &ParseError{File: name, Err: errorf("%s: the configuration files read add up to more than %d MiB, the most jumpgate reads; "+
			"include fewer or smaller files", name, maxTotalRead>>20)}
	}
	var big *cfgfile.TooLargeError
	switch {
	case errors.As(err, &big):
		return false, &ParseError{File: name, Err: err}
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return false, err
	case err != nil:
		return false, nil
	}
	lines := strings.SplitAfter(string(data), "\n")
	var bad []*ParseError
	for i, line := range lines {
		// ssh(1) keeps lines as C strings: a NUL ends the line there.
		if j := strings.IndexByte(line, 0); j >= 0 {
			line = line[:j]
		}
		err := p.processLine(line, name, i+1, active, flags, depth)
		var pe *ParseError
		if errors.As(err, &pe) && pe.File == name && pe.Line == i+1 {
			bad = append(bad, pe) // as ssh(1): on to the next line
			continue
		}
		if err != nil {
			return false, err // an included file's, or no line's
		}
	}
	if len(bad) > 0 {
		return false, &BadOptionsError{File: name, Errs: bad}
	}
	return true, nil
}

// readAll reads a file up to [cfgfile.Limit].
func readAll(fsys fs.FS, rel, name string) ([]byte, error) {
	f, err := fsys.Open(rel)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return cfgfile.ReadAll(f, name)
}

// processLine applies one line. active is nil for a command-line option.
func (p *parser) processLine(line, file string, lineno int, active *bool, flags fileFlags, depth int) error {
	cmdline := active == nil
	if cmdline {
		t := true
		active = &t
	}
	fail := func(format string, args ...any) error {
		return &ParseError{File: file, Line: lineno, Err: errorf(format, args...)}
	}
	line = strings.TrimRight(line, whitespace+"\f")
	if line == "" {
		return nil
	}
	keyword, str, ok, more := delim(line, true)
	if ok && keyword == "" && more {
		keyword, str, ok, more = delim(str, true)
	}
	if !ok || keyword == "" || keyword[0] == '#' {
		return nil
	}
	_ = more
	keyword = lower(keyword)
	str = strings.TrimLeft(str, whitespace)
	if str == "" {
		return fail("no argument after keyword %q", keyword)
	}
	kw, known := lookup(keyword)
	if !known {
		if ig, ok := p.st.str("ignoreunknown"); ok && matchPatternList(keyword, ig, true) == 1 {
			return nil
		}
		return fail("Bad configuration option: %s", keyword)
	}
	args, err := splitArgs(str)
	if err != nil {
		return fail("invalid quotes")
	}
	on := *active
	unsupported := func() {
		where := file
		if where == "" {
			where = "command-line" // -o, as ssh(1) names it
		}
		p.st.warnings = append(p.st.warnings, fmt.Sprintf("%s line %d: Unsupported option %q", where, lineno, keyword))
	}
	if on && kw.kind != kUnsupported && p.opts.Unhonoured != nil && p.opts.Unhonoured(kw.name, str) {
		unsupported()
	}
	next := func() (string, bool) {
		if len(args) == 0 {
			return "", false
		}
		a := args[0]
		args = args[1:]
		return a, true
	}
	consumeAll := func() { args = nil }

	switch kw.kind {
	case kIgnore, kDeprecated:
		consumeAll()
	case kUnsupported:
		unsupported()
		consumeAll()
	case kMulti:
		a, _ := next()
		v, ok := lookupMulti(kw.table, a)
		if !ok {
			if a == "" {
				return fail("missing argument.")
			}
			return fail("unsupported option %q.", a)
		}
		if on {
			p.st.setInt(kw.name, v)
		}
	case kInt:
		a, _ := next()
		v, err := atoiErr(a)
		if err != "" {
			return fail("integer value %s.", err)
		}
		if on {
			p.st.setInt(kw.name, v)
		}
	case kTime:
		a, _ := next()
		if a == "" {
			return fail("missing time value.")
		}
		if a == "none" {
			break
		}
		v := convtime(a)
		if v < 0 {
			return fail("invalid time value.")
		}
		if on {
			p.st.setInt(kw.name, v)
		}
	case kString:
		a, _ := next()
		if a == "" {
			return fail("Missing argument.")
		}
		if on {
			p.st.setStr(kw.name, a)
		}
	case kCommand:
		if kw.name == "proxycommand" && p.st.jumpSet && p.st.jumpHost != "none" {
			consumeAll()
			break
		}
		v := strings.TrimLeft(str, whitespace+"=")
		if on {
			p.st.setStr(kw.name, v)
		}
		consumeAll()
	case kAlgos:
		a, _ := next()
		if a == "" {
			return fail("Missing argument.")
		}
		if !validAlgos(kw.algos, a) {
			switch kw.algos {
			case algoCiphers:
				return fail("Bad SSH2 cipher spec '%s'.", a)
			case algoMACs:
				return fail("Bad SSH2 MAC spec '%s'.", a)
			case algoKex:
				return fail("Bad SSH2 KexAlgorithms '%s'.", a)
			case algoGSSKex:
				return fail("Bad GSSAPI KexAlgorithms '%s'.", a)
			default:
				return fail("Bad key types '%s'.", a)
			}
		}
		if on {
			p.st.setStr(kw.name, a)
		}
	case kStrArray:
		_, set := p.st.arrays[kw.name]
		var vals []string
		for i, a := range args {
			if a == "" {
				return fail("keyword %s empty argument", keyword)
			}
			if strings.EqualFold(a, "none") && (i > 0 || len(args) > 1) {
				return fail("keyword %s \"none\" argument must appear alone.", keyword)
			}
			vals = append(vals, a)
		}
		consumeAll()
		if on && !set && len(vals) > 0 {
			p.st.arrays[kw.name] = vals
		}
	case kSpecial:
		rest, err := p.special(kw.name, keyword, str, args, file, lineno, active, flags, depth, cmdline)
		if err != nil {
			return err
		}
		args = rest
	}
	if len(args) > 0 {
		return fail("keyword %s extra arguments at end of line", keyword)
	}
	return nil
}

func lookupMulti(t []multi, a string) (int, bool) {
	if a == "" {
		return 0, false
	}
	for _, m := range t {
		if strings.EqualFold(a, m.word) {
			return m.value, true
		}
	}
	return 0, false
}

func formatMulti(t []multi, v int) string {
	for _, m := range t {
		if m.value == v {
			return m.word
		}
	}
	return "UNKNOWN"
}

// atoiErr is strtonum(s, 0, INT_MAX) with its error words.
func atoiErr(s string) (int, string) {
	if s == "" {
		return 0, "invalid"
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && ne.Err == strconv.ErrRange {
			if strings.HasPrefix(s, "-") {
				return 0, "too small"
			}
			return 0, "too large"
		}
		return 0, "invalid"
	}
	if v < 0 {
		return 0, "too small"
	}
	if v > 1<<31-1 {
		return 0, "too large"
	}
	return int(v), ""
}

// convtime parses an sshd_config(5) TIME FORMAT value into seconds, -1 on
// error.
func convtime(s string) int {
	if s == "" {
		return -1
	}
	total := int64(0)
	for s != "" {
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == 0 {
			return -1
		}
		n, err := strconv.ParseInt(s[:i], 10, 64)
		if err != nil || n > 1<<31-1 {
			return -1
		}
		mult := int64(1)
		s = s[i:]
		if s != "" {
			switch s[0] {
			case 's', 'S':
			case 'm', 'M':
				mult = 60
			case 'h', 'H':
				mult = 3600
			case 'd', 'D':
				mult = 86400
			case 'w', 'W':
				mult = 604800
			default:
				return -1
			}
			s = s[1:]
		}
		total += n * mult
		if total > 1<<31-1 {
			return -1
		}
	}
	return int(total)
}

// a2port is OpenSSH's a2port: 0..65535, -1 when invalid.
func a2port(s string) int {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 || v > 65535 {
		return -1
	}
	return int(v)
}
