package sshconf

// Resolution follows ssh.c's main(): command line, config files, hostname
// and canonicalisation, an optional final pass, defaults, then the token
// expansions `ssh -G` shows.

import (
	"io/fs"
	"net/netip"
	"os"
	"path"
	"strconv"
	"strings"
)

func (o *Options) fsys() fs.FS {
	if o.FS != nil {
		return o.FS
	}
	return os.DirFS("/")
}

func (o *Options) workDir() string {
	if o.WorkDir != "" {
		return o.WorkDir
	}
	if o.FS == nil {
		if wd, err := os.Getwd(); err == nil {
			return wd
		}
	}
	return "/"
}

func (o *Options) getenv(name string) string {
	if o.Getenv == nil {
		return ""
	}
	return o.Getenv(name)
}

func (p *parser) tilde(s string) string {
	t, err := tildeExpand(s, p.opts.HomeDir, p.opts.LocalUser, p.opts.UserHome)
	if err != nil {
		return s
	}
	return t
}

func (p *parser) glob(pat string) ([]string, error) {
	rel := strings.TrimPrefix(path.Clean(pat), "/")
	m, err := fs.Glob(p.opts.fsys(), rel)
	if err != nil {
		return nil, err
	}
	for i := range m {
		m[i] = "/" + m[i]
	}
	return m, nil
}

func (p *parser) readFiles() error {
	o := p.opts
	user := fileFlags{user: true}
	switch o.ConfigFile {
	case "none":
		return nil
	case "":
		uf := o.UserFile
		if uf == "" {
			uf = strings.TrimSuffix(o.HomeDir, "/") + "/.ssh/config"
		}
		active := true
		f := user
		f.checkPerm = true
		if _, err := p.readFile(uf, f, &active, 0); err != nil {
			return err
		}
		sf := o.SystemFile
		if sf == "" {
			sf = "/etc/ssh/ssh_config"
		}
		active = true
		_, err := p.readFile(sf, fileFlags{}, &active, 0)
		return err
	default:
		active := true
		ok, err := p.readFile(o.ConfigFile, user, &active, 0)
		if err != nil {
			return err
		}
		if !ok {
			return &ParseError{File: o.ConfigFile, Err: errorf("Can't open user config file %s: No such file or directory", o.ConfigFile)}
		}
		return nil
	}
}

func isAddr(h string) bool {
	if i := strings.IndexByte(h, '%'); i >= 0 {
		h = h[:i]
	}
	_, err := netip.ParseAddr(h)
	return err == nil
}

// Hosts lists the concrete entries of the configuration's Host lines
// (patterns without wildcards or negation), in file order, each once, as
// reading it for a host no pattern names finds them (an Include inside a
// Host block is read as for that host).
func Hosts(opts Options) ([]string, error) {
	hosts := []string{}
	p := &parser{opts: &opts, st: newState(), host: "\x00", originalHost: "\x00", hosts: &hosts}
	if err := p.readFiles(); err != nil {
		return nil, err
	}
	return hosts, nil
}

// Resolve returns the effective configuration for the destination host.
func Resolve(host string, opts Options) (*Host, error) {
	st := newState()
	p := &parser{opts: &opts, st: st, host: host, originalHost: host}
	for _, o := range opts.CommandLine {
		line := o.Key + " " + o.Value
		if o.Key == "" {
			line = o.Value
		}
		file, lineno := o.File, o.Line
		if err := p.processLine(line, file, lineno, nil, fileFlags{user: true}, 0); err != nil {
			return nil, err
		}
	}
	if opts.UserFromDestination != "" {
		st.setStr("user", opts.UserFromDestination)
	}
	if opts.PortFromDestination > 0 {
		st.setInt("port", opts.PortFromDestination)
	}
	if err := p.readFiles(); err != nil {
		return nil, err
	}
	st.setInt("canonicalizemaxdots", 1)
	st.setInt("canonicalizefallbacklocal", 1)
	st.setInt("canonicalizehostname", 0)

	name := host
	if hn, ok := st.str("hostname"); ok {
		h, err := percentExpand(hn, map[byte]string{'h': host}, nil)
		if err != nil {
			return nil, errorf("percent_expand: %v", err)
		}
		name = h
		st.strs["hostname"] = h
	}
	wasAddr := isAddr(name)
	if !wasAddr {
		name = strings.ToLower(name)
	}
	resolved := false
	if st.ints["canonicalizehostname"] != 0 && !wasAddr {
		n, ok, err := p.canonicalize(name)
		if err != nil {
			return nil, err
		}
		name, resolved = n, ok
	}
	pc, _ := st.str("proxycommand")
	direct := (pc == "" || strings.EqualFold(pc, "none")) && !st.jumpSet
	if !resolved && len(st.cnames) > 0 && !(len(st.cnames) == 1 && strings.EqualFold(st.cnames[0].source, "none")) &&
		(direct || st.ints["canonicalizehostname"] == 2) {
		if (opts.LookupHost == nil || !opts.LookupHost(name)) && direct {
			return nil, errorf("Could not resolve hostname %s: Name or service not known", name)
		}
	}
	want := p.wantFinal || st.ints["canonicalizehostname"] != 0
	if want {
		st.strs["hostname"] = name
		p.final = true
		p.host = name
		if err := p.readFiles(); err != nil {
			return nil, err
		}
	}
	return finish(st, &opts, host, name)
}

// canonicalize is resolve_canonicalize without address lookups: names are
// tried with each CanonicalDomains suffix through Options.LookupHost.
func (p *parser) canonicalize(name string) (string, bool, error) {
	st := p.st
	mode := st.ints["canonicalizehostname"]
	pc, _ := st.str("proxycommand")
	direct := (pc == "" || strings.EqualFold(pc, "none")) && !st.jumpSet
	if !direct && mode != 2 {
		return name, false, nil
	}
	look := func(full string) bool { return p.opts.LookupHost != nil && p.opts.LookupHost(full) }
	notFound := func() (string, bool, error) {
		if st.ints["canonicalizefallbacklocal"] == 0 {
			return "", false, errorf("Could not resolve host %q", name)
		}
		return name, false, nil
	}
	if strings.HasSuffix(name, ".") {
		if look(name) {
			return strings.TrimSuffix(name, "."), true, nil
		}
		return notFound()
	}
	if strings.Count(name, ".") > st.ints["canonicalizemaxdots"] {
		return name, false, nil
	}
	for _, d := range st.arrays["canonicaldomains"] {
		if strings.EqualFold(d, "none") {
			break
		}
		full := name + "." + d + "."
		if look(full) {
			return strings.TrimSuffix(full, "."), true, nil
		}
	}
	return notFound()
}

// finish fills defaults and applies ssh.c's post-processing.
func finish(st *state, o *Options, hostArg, host string) (*Host, error) {
	set := map[string]bool{}
	for k := range st.ints {
		set[k] = true
	}
	for k := range st.strs {
		set[k] = true
	}
	for k := range st.arrays {
		set[k] = true
	}
	stdio := o.StdioForward
	b2i := func(b bool) int {
		if b {
			return 1
		}
		return 0
	}
	st.setInt("exitonforwardfailure", b2i(stdio))
	st.setInt("clearallforwardings", b2i(stdio))
	if st.ints["clearallforwardings"] == 1 {
		st.localFwds, st.remoteFwds = nil, nil
		st.ints["tunnel"] = 0
	}
	if len(st.identityFiles) == 0 {
		for _, n := range []string{"id_rsa", "id_ecdsa", "id_ecdsa_sk", "id_ed25519", "id_ed25519_sk", "id_xmss", "id_dsa"} {
			st.identityFiles = append(st.identityFiles, fileEntry{"~/.ssh/" + n, false})
		}
	}
	if _, ok := st.arrays["globalknownhostsfile"]; !ok {
		st.arrays["globalknownhostsfile"] = []string{"/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2"}
	}
	if _, ok := st.ints["updatehostkeys"]; !ok {
		uk := st.arrays["userknownhostsfile"]
		v := 0
		if st.int("verifyhostkeydns", -1) <= 0 && (len(uk) == 0 || (len(uk) == 1 && uk[0] == "~/.ssh/known_hosts")) {
			v = 1
		}
		st.ints["updatehostkeys"] = v
	}
	if _, ok := st.arrays["userknownhostsfile"]; !ok {
		st.arrays["userknownhostsfile"] = []string{"~/.ssh/known_hosts", "~/.ssh/known_hosts2"}
	}
	if st.ints["batchmode"] == 1 {
		// ssh(1): in batch mode a dead server is noticed within minutes.
		st.setInt("serveraliveinterval", 300)
	}
	for _, d := range defaultInts {
		st.setInt(d.key, d.val)
	}
	if st.logLevel == "" {
		st.logLevel = "INFO"
	}
	if st.logFacility == "" {
		st.logFacility = "USER"
	}
	if st.rekeyLimit == -1 {
		st.rekeyLimit = 0
	}
	if st.streamLocalBindMask == -1 {
		st.streamLocalBindMask = 0o177
	}
	if st.addKeysLifespan == -1 {
		st.addKeysLifespan = 0
	}
	if st.ipqosInteractive == -1 {
		st.ipqosInteractive, st.ipqosBulk = 0x10, 0x08
	}
	st.setStr("xauthlocation", "/usr/bin/xauth")
	st.setStr("securitykeyprovider", "internal")
	st.setStr("fingerprinthash", "SHA256")
	for _, a := range []struct{ key, def, all string }{
		{"ciphers", defCiphers, allCiphers},
		{"macs", defMACs, allMACs},
		{"kexalgorithms", defKex, allKex},
		{"hostbasedacceptedalgorithms", defKeys, allKeys},
		{"pubkeyacceptedalgorithms", defKeys, allKeys},
		{"casignaturealgorithms", defSigs, allSigs},
		{"hostkeyalgorithms", defKeys, allKeys},
	} {
		v, err := assembleAlgos(st.strs[a.key], a.def, a.all)
		if err != nil {
			return nil, errorf("%s: %v", a.key, err)
		}
		st.strs[a.key] = v
	}
	st.setStr("gssapikexalgorithms", defGSSKex)
	for _, k := range []string{"localcommand", "remotecommand", "proxycommand", "controlpath",
		"revokedhostkeys", "pkcs11provider", "securitykeyprovider", "knownhostscommand"} {
		if v, ok := st.strs[k]; ok && strings.EqualFold(v, "none") {
			delete(st.strs, k)
		}
	}
	if st.jumpSet && st.jumpHost == "none" && st.jumpPort == 0 && st.jumpUser == "" {
		st.jumpSet = false
		st.jumpHost = ""
	}
	if len(st.cnames) == 1 && strings.EqualFold(st.cnames[0].source, "none") && st.cnames[0].target == "" {
		st.cnames = nil
	}
	if _, ok := st.strs["user"]; !ok {
		st.strs["user"] = o.LocalUser
	}
	port := st.int("port", 0)
	if st.jumpSet {
		jport, jp := st.jumpPort, port
		if jport <= 0 {
			jport = 22
		}
		if jp <= 0 {
			jp = 22
		}
		ju := st.jumpUser
		if ju == "" {
			ju = st.strs["user"]
		}
		if st.jumpHost == host && jport == jp && ju == st.strs["user"] {
			return nil, errorf("jumphost loop via %s", st.jumpHost)
		}
	}
	if port <= 0 {
		st.ints["port"] = 22
	}
	if a, ok := st.strs["hostkeyalias"]; ok {
		st.strs["hostkeyalias"] = strings.ToLower(a)
	}
	if st.ints["connectionattempts"] <= 0 {
		return nil, errorf("Invalid number of ConnectionAttempts")
	}

	h := &Host{original: hostArg, host: host, st: st, opts: *o, set: set}
	keys := h.tokens()
	var err error
	pexp := func(s string, dollar bool) string {
		if err != nil {
			return s
		}
		var ge func(string) string
		if dollar {
			ge = o.getenv
		}
		v, e := percentExpand(s, keys, ge)
		if e != nil {
			err = errorf("percent_expand: %v", e)
		}
		return v
	}
	tl := func(s string) string {
		t, e := tildeExpand(s, o.HomeDir, o.LocalUser, o.UserHome)
		if e != nil && err == nil {
			err = e
		}
		return t
	}
	if v, ok := st.strs["remotecommand"]; ok {
		st.strs["remotecommand"] = pexp(v, false)
	}
	for _, k := range []string{"controlpath", "identityagent"} {
		if v, ok := st.strs[k]; ok {
			st.strs[k] = pexp(tl(v), true)
		}
	}
	if st.forwardAgentPath != "" {
		st.forwardAgentPath = pexp(tl(st.forwardAgentPath), true)
		rel := strings.TrimPrefix(path.Clean(st.forwardAgentPath), "/")
		if _, e := fs.Stat(o.fsys(), rel); e != nil && st.ints["exitonforwardfailure"] == 1 && err == nil {
			err = errorf("Cannot forward agent socket path \"%s\": No such file or directory", st.forwardAgentPath)
		}
	}
	for _, k := range []string{"globalknownhostsfile", "userknownhostsfile"} {
		v := st.arrays[k]
		if len(v) > 0 && strings.EqualFold(v[0], "none") {
			st.arrays[k] = nil
		}
	}
	uk := st.arrays["userknownhostsfile"]
	for i := range uk {
		uk[i] = pexp(tl(uk[i]), true)
	}
	for _, fl := range [][]forward{st.localFwds, st.remoteFwds} {
		for i := range fl {
			if fl[i].listenPath != "" {
				fl[i].listenPath = pexp(fl[i].listenPath, false)
			}
			if fl[i].connectPath != "" {
				fl[i].connectPath = pexp(fl[i].connectPath, false)
			}
		}
	}
	if err != nil {
		return nil, err
	}
	h.index()
	return h, nil
}

// defaultInts are OpenSSH's defaults of the integer keywords: a slice, not
// a map, which would be built at start-up for every command.
var defaultInts = []struct {
	key string
	val int
}{
	{"forwardagent", 0}, {"forwardx11", 0}, {"forwardx11trusted", 1}, {"forwardx11timeout", 1200},
	{"gatewayports", 0}, {"streamlocalbindunlink", 0}, {"pubkeyauthentication", 3}, {"gssapiauthentication", 0},
	{"gssapikeyexchange", 0}, {"gssapidelegatecredentials", 0}, {"gssapitrustdns", 0},
	{"gssapirenewalforcesrekey", 0}, {"passwordauthentication", 1}, {"kbdinteractiveauthentication", 1},
	{"hostbasedauthentication", 0}, {"batchmode", 0}, {"checkhostip", 0}, {"stricthostkeychecking", 3},
	{"compression", 0}, {"tcpkeepalive", 1}, {"addressfamily", 0}, {"connectionattempts", 1},
	{"numberofpasswordprompts", 3}, {"addkeystoagent", 0}, {"nohostauthenticationforlocalhost", 0},
	{"identitiesonly", 0}, {"enablesshkeysign", 0}, {"rekeyinterval", 0}, {"verifyhostkeydns", 0},
	{"serveraliveinterval", 0}, {"serveralivecountmax", 3}, {"controlmaster", 0}, {"controlpersist", 0},
	{"hashknownhosts", 0}, {"tunnel", 0}, {"permitlocalcommand", 0}, {"visualhostkey", 0}, {"requesttty", 2},
	{"sessiontype", 2}, {"stdinnull", 0}, {"forkafterauthentication", 0}, {"proxyusefdpass", 0},
	{"canonicalizemaxdots", 1}, {"canonicalizefallbacklocal", 1}, {"canonicalizehostname", 0},
	{"escapechar", '~'}, {"requiredrsasize", 1024}, {"enableescapecommandline", 0},
}

// tokens returns the %-tokens of ssh_config(5) TOKENS for this host.
func (h *Host) tokens() map[byte]string {
	st, o := h.st, &h.opts
	port := strconv.Itoa(st.ints["port"])
	user := st.strs["user"]
	alias, ok := st.strs["hostkeyalias"]
	if !ok {
		alias = h.host
	}
	return map[byte]string{
		'C': connectionHash(o.LocalHost, h.host, port, user),
		'L': shortHost(o.LocalHost),
		'i': strconv.Itoa(o.UID),
		'k': alias,
		'l': o.LocalHost,
		'n': h.original,
		'p': port,
		'd': o.HomeDir,
		'h': h.host,
		'r': user,
		'u': o.LocalUser,
	}
}
