package sshconf

// Keywords whose parsing does not fit a generic kind.

import (
	"slices"
	"strconv"
	"strings"
)

func (p *parser) special(name, keyword, str string, args []string, file string, lineno int,
	active *bool, flags fileFlags, depth int, cmdline bool) ([]string, error) {
	fail := func(format string, a ...any) ([]string, error) {
		return nil, &ParseError{File: file, Line: lineno, Err: errorf(format, a...)}
	}
	on := *active
	next := func() (string, bool) {
		if len(args) == 0 {
			return "", false
		}
		a := args[0]
		args = args[1:]
		return a, true
	}
	st := p.st
	switch name {
	case "host":
		if cmdline {
			return nil, errorf("Host directive not supported as a command-line option") // ssh(1) says it without file and line
		}
		*active = false
		for _, a := range args {
			if a == "" {
				return fail("keyword %s empty argument", keyword)
			}
		}
		if !flags.neverMatch {
			*active = matchHostLine(p.host, args)
		}
		if p.hosts != nil {
			for _, a := range args {
				if !strings.ContainsAny(a, "*?!") && !slices.Contains(*p.hosts, a) {
					*p.hosts = append(*p.hosts, a)
				}
			}
		}
		return nil, nil
	case "match":
		if cmdline {
			return nil, errorf("Host directive not supported as a command-line option") // ssh(1) says it without file and line
		}
		v, rest, err := p.matchLine(str, file, lineno)
		if err != nil {
			return nil, err
		}
		*active = v && !flags.neverMatch
		if rest != "" {
			return []string{rest}, nil
		}
		return nil, nil
	case "include":
		if cmdline {
			return nil, errorf("Include directive not supported as a command-line option")
		}
		for _, a := range args {
			if a == "" {
				return fail("keyword %s empty argument", keyword)
			}
			if a[0] == '~' && !flags.user {
				return fail("bad include path %s.", a)
			}
			pat := a
			if !strings.HasPrefix(a, "/") && a[0] != '~' {
				if flags.user {
					pat = "~/.ssh/" + a
				} else {
					pat = "/etc/ssh/" + a
				}
			}
			pat = p.tilde(pat)
			matches, err := p.glob(pat)
			if err != nil {
				return fail("glob failed for %s.", pat)
			}
			oactive := *active
			for _, m := range matches {
				f := flags
				f.checkPerm = true
				f.neverMatch = flags.neverMatch || !oactive
				if depth+1 > maxIncludeDepth {
					// Said at this Include line: the file it names has
					// no line to blame.
					return fail("Too many recursive configuration includes")
				}
				if _, err := p.readFile(m, f, active, depth+1); err != nil {
					return nil, err
				}
				*active = oactive
			}
		}
		return nil, nil
	case "identityfile", "certificatefile":
		a, _ := next()
		if a == "" {
			return fail("Missing argument.")
		}
		if on {
			if name == "identityfile" {
				if len(st.identityFiles) >= 100 {
					return fail("Too many identity files specified (max 100).")
				}
				st.identityFiles = addFile(st.identityFiles, a, flags.user)
			} else {
				if len(st.certFiles) >= 100 {
					return fail("Too many certificate files specified (max 100).")
				}
				st.certFiles = addFile(st.certFiles, a, flags.user)
			}
		}
	case "localforward", "remoteforward", "dynamicforward":
		a, _ := next()
		if a == "" {
			return fail("Missing argument.")
		}
		remote := name == "remoteforward"
		dynamic := name == "dynamicforward"
		spec := a
		if !dynamic {
			b, _ := next()
			if b == "" {
				if remote {
					dynamic = true
				} else {
					return fail("Missing target argument.")
				}
			} else {
				spec = a + ":" + b
			}
		}
		fwd, ok := parseForward(spec, dynamic, remote, p.opts.getenv)
		if !ok {
			return fail("Bad forwarding specification.")
		}
		if on {
			if remote {
				st.remoteFwds = addForward(st.remoteFwds, fwd)
			} else {
				st.localFwds = addForward(st.localFwds, fwd)
			}
		}
	case "permitremoteopen":
		a, _ := next()
		if a == "" {
			return fail("missing %s specification", name)
		}
		_, set := st.arrays[name]
		if a == "any" || a == "none" {
			if on && !set {
				st.arrays[name] = []string{a}
			}
			break
		}
		vals := []string{}
		for _, x := range append([]string{a}, args...) {
			host, port, ok := hpdelim(x)
			if !ok || host == "" {
				return fail("missing host in %s", name)
			}
			if port == "" || (port != "*" && a2port(port) <= 0) {
				return fail("bad port number in %s", name)
			}
			vals = append(vals, x)
		}
		args = nil
		if on && !set {
			st.arrays[name] = vals
		}
	case "escapechar":
		a, _ := next()
		if a == "" {
			return fail("Missing argument.")
		}
		var v int
		switch {
		case a == "none":
			v = -2
		case len(a) == 1:
			v = int(a[0])
		case len(a) == 2 && a[0] == '^' && a[1] >= 64 && a[1] < 128:
			v = int(a[1]) & 31
		default:
			return fail("Bad escape character.")
		}
		if on {
			st.setInt(name, v)
		}
	case "sendenv":
		for _, a := range args {
			if a == "" || strings.Contains(a, "=") {
				return fail("Invalid environment name.")
			}
			if !on {
				continue
			}
			if strings.HasPrefix(a, "-") {
				kept := st.sendEnv[:0:0]
				for _, e := range st.sendEnv {
					if !matchPattern(e, a[1:]) {
						kept = append(kept, e)
					}
				}
				st.sendEnv = kept
				continue
			}
			st.sendEnv = append(st.sendEnv, a)
		}
		args = nil
	case "setenv":
		had := len(st.setEnv) != 0
		for _, a := range args {
			if !strings.Contains(a, "=") {
				return fail("Invalid SetEnv.")
			}
			if !on || had || setEnvHas(st.setEnv, a) {
				continue
			}
			st.setEnv = append(st.setEnv, a)
		}
		args = nil
	case "controlpersist":
		a, _ := next()
		if a == "" {
			return fail("Missing ControlPersist argument.")
		}
		v, t := 0, 0
		switch a {
		case "no", "false":
		case "yes", "true":
			v = 1
		default:
			if t = convtime(a); t < 0 {
				return fail("Bad ControlPersist argument.")
			}
			v = 1
		}
		if _, set := st.ints[name]; on && !set {
			st.ints[name] = v
			st.controlPersistTimeout = t
		}
	case "tunneldevice":
		a, _ := next()
		if a == "" {
			return fail("Missing argument.")
		}
		l, r, ok := a2tun(a)
		if !ok {
			return fail("Bad tun device.")
		}
		if on && st.tunLocal == -1 {
			st.tunLocal, st.tunRemote = l, r
		}
	case "ipqos":
		a, _ := next()
		v := parseIPQoS(a)
		if v == -1 {
			return fail("Bad IPQoS value: %s", a)
		}
		v2 := v
		if b, ok := next(); ok {
			if v2 = parseIPQoS(b); v2 == -1 {
				return fail("Bad IPQoS value: %s", b)
			}
		}
		if on && st.ipqosInteractive == -1 {
			st.ipqosInteractive, st.ipqosBulk = v, v2
		}
	case "canonicaldomains":
		set := len(st.arrays[name]) != 0
		var vals []string
		for i, a := range args {
			if a == "" {
				return fail("keyword %s empty argument", keyword)
			}
			if strings.EqualFold(a, "none") && (i > 0 || len(args) > 1) {
				return fail("keyword %s \"none\" argument must appear alone.", keyword)
			}
			d, msg := validDomain(a)
			if msg != "" {
				return fail("%s", msg)
			}
			vals = append(vals, d)
		}
		args = nil
		if on && !set {
			st.arrays[name] = vals
		}
	case "canonicalizepermittedcnames":
		set := st.cnamesSet
		var vals []cname
		for i, a := range args {
			var c cname
			switch {
			case strings.EqualFold(a, "none"):
				if i > 0 || len(args) > 1 {
					return fail("keyword %s \"none\" argument must appear alone.", keyword)
				}
				c = cname{a, ""}
			case a == "*":
				c = cname{a, a}
			default:
				a = strings.ToLower(a)
				src, dst, ok := strings.Cut(a, ":")
				if !ok || dst == "" {
					return fail("Invalid permitted CNAME %q", a)
				}
				c = cname{src, dst}
			}
			vals = append(vals, c)
		}
		args = nil
		if on && !set && len(vals) > 0 {
			st.cnames = vals
			st.cnamesSet = true
		}
	case "streamlocalbindmask":
		a, _ := next()
		if a == "" {
			return fail("Missing StreamLocalBindMask argument.")
		}
		v, ok := strtolPrefix(a, 8)
		if !ok || v < 0 || v > 0o777 {
			return fail("Bad mask.")
		}
		st.streamLocalBindMask = int(v)
	case "fingerprinthash":
		a, _ := next()
		if a == "" {
			return fail("Missing argument.")
		}
		h := ""
		for _, n := range []string{"MD5", "SHA1", "SHA256", "SHA384", "SHA512"} {
			if strings.EqualFold(a, n) {
				h = n
			}
		}
		if h == "" {
			return fail("Invalid hash algorithm %q.", a)
		}
		if on {
			st.setStr(name, h)
		}
	case "addkeystoagent":
		a, _ := next()
		b, hasB := next()
		v, ok := lookupMulti(tConfirm, a)
		life := 0
		switch {
		case ok && v == 3 && hasB:
			if life = convtime(b); life == -1 {
				return fail("invalid time value.")
			}
		case !ok && !hasB:
			if a == "" {
				return fail("missing argument.")
			}
			if life = convtime(a); life == -1 {
				return fail("unsupported option")
			}
			v = 1
		case !ok || hasB:
			return fail("unsupported option")
		}
		if _, set := st.ints[name]; on && !set {
			st.ints[name] = v
			st.addKeysLifespan = life
		}
	case "identityagent", "forwardagent":
		a, _ := next()
		if a == "" {
			return fail("Missing argument.")
		}
		if name == "forwardagent" {
			if v, ok := lookupMulti(tFlag, a); ok {
				if on {
					st.setInt(name, v)
				}
				break
			}
		}
		if _, err := dollarExpand(a, p.opts.getenv); err != nil {
			return fail("Invalid environment expansion %s.", a)
		}
		if len(a) > 1 && a[0] == '$' && a[1] != '{' && !validEnvName(a[1:]) {
			return fail("Invalid environment name %s.", a)
		}
		if name == "forwardagent" {
			if _, set := st.ints[name]; on && !set {
				st.ints[name] = 1
				st.forwardAgentPath = a
			}
		} else if on {
			st.setStr(name, a)
		}
	case "port":
		a, _ := next()
		if a == "" {
			return fail("Missing argument.")
		}
		v := a2port(a)
		if v <= 0 {
			return fail("Bad port '%s'.", a)
		}
		if on {
			st.setInt(name, v)
		}
	case "proxyjump":
		v := strings.TrimLeft(str, whitespace+"=")
		if err := p.parseJump(v, on); err != nil {
			return fail("Invalid ProxyJump %q", v)
		}
		args = nil
	case "rekeylimit":
		a, _ := next()
		if a == "" {
			return fail("Missing argument.")
		}
		var v int64
		if a != "default" {
			n, ok := scanScaled(a)
			if !ok {
				return fail("Bad number '%s': Invalid argument", a)
			}
			if n != 0 && n < 16 {
				return fail("RekeyLimit too small")
			}
			v = n
		}
		if on && st.rekeyLimit == -1 {
			st.rekeyLimit = v
		}
		if len(args) > 0 {
			b, _ := next()
			if b == "none" {
				break
			}
			t := convtime(b)
			if t < 0 {
				return fail("invalid time value.")
			}
			if on {
				st.setInt("rekeyinterval", t)
			}
		}
	case "loglevel":
		a, _ := next()
		lv := logLevelName(a)
		if lv == "" {
			return fail("unsupported log level '%s'", a)
		}
		if on && st.logLevel == "" {
			st.logLevel = lv
		}
	case "syslogfacility":
		a, _ := next()
		f := ""
		for _, n := range []string{"DAEMON", "USER", "AUTH", "AUTHPRIV", "LOCAL0", "LOCAL1", "LOCAL2",
			"LOCAL3", "LOCAL4", "LOCAL5", "LOCAL6", "LOCAL7"} {
			if strings.EqualFold(a, n) {
				f = n
			}
		}
		if f == "" {
			return fail("unsupported log facility '%s'", a)
		}
		if st.logFacility == "" {
			st.logFacility = f
		}
	case "logverbose":
		_, set := st.arrays[name]
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
		args = nil
		if on && !set && len(vals) > 0 {
			// OpenSSH 9.2 checks "still empty" inside its loop, so only the
			// first pattern of the line is kept.
			st.arrays[name] = vals[:1]
		}
	}
	return args, nil
}

func logLevelName(a string) string {
	for _, n := range []string{"QUIET", "SILENT", "FATAL", "ERROR", "INFO", "VERBOSE", "DEBUG", "DEBUG1", "DEBUG2", "DEBUG3"} {
		if strings.EqualFold(a, n) {
			switch n {
			case "DEBUG1":
				return "DEBUG"
			case "QUIET":
				return "SILENT"
			}
			return n
		}
	}
	return ""
}

var ipqosNames = []struct {
	name  string
	value int
}{
	{"none", 1<<31 - 1}, {"af11", 0x28}, {"af12", 0x30}, {"af13", 0x38}, {"af21", 0x48}, {"af22", 0x50},
	{"af23", 0x58}, {"af31", 0x68}, {"af32", 0x70}, {"af33", 0x78}, {"af41", 0x88}, {"af42", 0x90},
	{"af43", 0x98}, {"cs0", 0x00}, {"cs1", 0x20}, {"cs2", 0x40}, {"cs3", 0x60}, {"cs4", 0x80},
	{"cs5", 0xa0}, {"cs6", 0xc0}, {"cs7", 0xe0}, {"ef", 0xb8}, {"le", 0x04}, {"lowdelay", 0x10},
	{"throughput", 0x08}, {"reliability", 0x04},
}

func parseIPQoS(s string) int {
	if s == "" {
		return -1
	}
	for _, q := range ipqosNames {
		if strings.EqualFold(s, q.name) {
			return q.value
		}
	}
	v, ok := strtolPrefix(s, 0)
	if !ok || v < 0 || v > 255 {
		return -1
	}
	return int(v)
}

func iptos2str(v int) string {
	for _, q := range ipqosNames {
		if q.value == v {
			return q.name
		}
	}
	return "0x" + strconv.FormatInt(int64(v), 16)
}

// strtolPrefix parses a whole string as strtol would with the given base
// (0: C prefixes). It fails on trailing garbage.
func strtolPrefix(s string, base int) (int64, bool) {
	v, err := strconv.ParseInt(s, base, 64)
	if err != nil {
		if base == 0 && len(s) > 1 && s[0] == '0' && s[1] != 'x' && s[1] != 'X' {
			v, err = strconv.ParseInt(s[1:], 8, 64)
			return v, err == nil
		}
		return 0, false
	}
	return v, true
}

// a2tun parses "local[:remote]" tunnel device numbers; -1 is "any".
func a2tun(s string) (int, int, bool) {
	l, r, hasR := strings.Cut(s, ":")
	one := func(x string) (int, bool) {
		if x == "any" {
			return -1, true
		}
		v, err := strconv.Atoi(x)
		if err != nil || v < 0 || v > 0x7fffffff-2 {
			return 0, false
		}
		return v, true
	}
	lv, ok := one(l)
	if !ok {
		return 0, 0, false
	}
	if !hasR {
		return lv, -1, true
	}
	rv, ok := one(r)
	if !ok {
		return 0, 0, false
	}
	return lv, rv, true
}

// scanScaled parses a number with an optional K/M/G/T/P/E suffix (powers
// of 1024) like OpenBSD's scan_scaled.
func scanScaled(s string) (int64, bool) {
	i := 0
	for i < len(s) && (s[i] >= '0' && s[i] <= '9') {
		i++
	}
	if i == 0 {
		return 0, false
	}
	whole, err := strconv.ParseInt(s[:i], 10, 64)
	if err != nil {
		return 0, false
	}
	frac := ""
	rest := s[i:]
	if strings.HasPrefix(rest, ".") {
		j := 1
		for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
			j++
		}
		frac, rest = rest[1:j], rest[j:]
	}
	mult := int64(1)
	if rest != "" {
		idx := strings.IndexByte("BKMGTPE", upper(rest[0]))
		if idx < 0 || len(rest) != 1 {
			return 0, false
		}
		for ; idx > 0; idx-- {
			mult *= 1024
		}
	}
	v := whole * mult
	if frac != "" && mult > 1 {
		f, _ := strconv.ParseFloat("0."+frac, 64)
		v += int64(f * float64(mult))
	}
	return v, true
}

func upper(c byte) byte {
	if 'a' <= c && c <= 'z' {
		return c - 'a' + 'A'
	}
	return c
}

// validDomain checks a CanonicalDomains entry and lowers it.
func validDomain(name string) (string, string) {
	if name == "" {
		return "", "empty domain name"
	}
	c0 := name[0]
	if !isAlnum(c0) {
		return "", "domain name \"" + name + "\" starts with invalid character"
	}
	b := []byte(strings.ToLower(name))
	var last byte
	for _, c := range b {
		if last == '.' && c == '.' {
			return "", "domain name \"" + name + "\" contains consecutive separators"
		}
		if c != '.' && c != '-' && c != '_' && !isAlnum(c) {
			return "", "domain name \"" + name + "\" contains invalid characters"
		}
		last = c
	}
	if last == '.' {
		return "", "domain name \"" + name + "\" ends with separator"
	}
	return string(b), ""
}

func isAlnum(c byte) bool {
	return ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9')
}

func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if !isAlnum(c) && c != '_' {
			return false
		}
	}
	return true
}

// setEnvHas reports whether list already sets kv's variable: as in
// ssh(1), the first value of a variable wins within one SetEnv.
func setEnvHas(list []string, kv string) bool {
	name, _, _ := strings.Cut(kv, "=")
	for _, e := range list {
		if n, _, _ := strings.Cut(e, "="); n == name {
			return true
		}
	}
	return false
}
