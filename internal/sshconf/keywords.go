package sshconf

// The keyword table of Debian's OpenSSH 9.2p1 client (readconf.c plus
// Debian's GSSAPI key exchange patch), with the parser each keyword uses.

type kind int

const (
	kFlag        kind = iota // yes/no/true/false
	kMulti                   // one of a fixed table of words
	kInt                     // decimal integer
	kTime                    // time interval, "none" means unset
	kString                  // one word, first wins
	kCommand                 // rest of the line, first wins
	kAlgos                   // algorithm list with +/-/^ prefixes
	kStrArray                // list on one line, first line wins
	kIgnore                  // silently ignored (Protocol)
	kDeprecated              // ignored, debug message
	kUnsupported             // ignored with an "Unsupported option" warning
	kSpecial                 // handled by name in processLine
)

type keyword struct {
	name  string // canonical lower-case name as `ssh -G` prints it
	kind  kind
	table []multi // for kMulti
	algos algoSet // for kAlgos
}

type multi struct {
	word  string
	value int
}

var (
	tFlag       = []multi{{"true", 1}, {"false", 0}, {"yes", 1}, {"no", 0}}
	tYesNoAsk   = []multi{{"true", 1}, {"false", 0}, {"yes", 1}, {"no", 0}, {"ask", 2}}
	tStrictHost = []multi{{"true", 2}, {"false", 0}, {"yes", 2}, {"no", 0}, {"ask", 3}, {"off", 0}, {"accept-new", 1}}
	tConfirm    = []multi{{"true", 1}, {"false", 0}, {"yes", 1}, {"no", 0}, {"ask", 2}, {"confirm", 3}}
	tFamily     = []multi{{"inet", 2}, {"inet6", 10}, {"any", 0}}
	tMaster     = []multi{{"true", 1}, {"yes", 1}, {"false", 0}, {"no", 0}, {"auto", 2}, {"ask", 3}, {"autoask", 4}}
	tTunnel     = []multi{{"ethernet", 2}, {"point-to-point", 1}, {"true", 1}, {"yes", 1}, {"false", 0}, {"no", 0}}
	tTTY        = []multi{{"true", 1}, {"yes", 1}, {"false", 0}, {"no", 0}, {"force", 3}, {"auto", 2}}
	tSession    = []multi{{"none", 0}, {"subsystem", 1}, {"default", 2}}
	tCanon      = []multi{{"true", 1}, {"false", 0}, {"yes", 1}, {"no", 0}, {"always", 2}}
	tPubkey     = []multi{{"true", 3}, {"false", 0}, {"yes", 3}, {"no", 0}, {"unbound", 1}, {"host-bound", 2}}
	tCompress   = []multi{{"yes", 1}, {"no", 0}}
)

func kw(name string, k kind) keyword { return keyword{name: name, kind: k} }

func km(name string, t []multi) keyword { return keyword{name: name, kind: kMulti, table: t} }

func ka(name string, a algoSet) keyword { return keyword{name: name, kind: kAlgos, algos: a} }

// lookup returns the parser of a lower-case keyword (aliases included)
// and the canonical name under which its value is kept. A switch, not a
// map: a map literal is built when the process starts, whatever the
// command (docs/perf.md, "Start-up").
func lookup(name string) (keyword, bool) {
	switch name {
	case "protocol":
		return kw(name, kIgnore), true
	case "cipher", "fallbacktorsh", "globalknownhostsfile2", "rhostsauthentication",
		"userknownhostsfile2", "useroaming", "usersh", "useprivilegedport", "useblacklistedkeys":
		return kw(name, kDeprecated), true
	case "afstokenpassing", "kerberosauthentication", "kerberostgtpassing",
		"rsaauthentication", "rhostsrsaauthentication", "compressionlevel":
		return kw(name, kUnsupported), true
	case "gssapiauthentication", "gssapikeyexchange", "gssapidelegatecredentials",
		"gssapitrustdns", "gssapirenewalforcesrekey", "forwardx11", "forwardx11trusted",
		"exitonforwardfailure", "gatewayports", "passwordauthentication", "kbdinteractiveauthentication",
		"hostbasedauthentication", "identitiesonly", "batchmode", "checkhostip", "tcpkeepalive",
		"clearallforwardings", "enablesshkeysign", "nohostauthenticationforlocalhost", "hashknownhosts",
		"permitlocalcommand", "visualhostkey", "stdinnull", "forkafterauthentication", "proxyusefdpass",
		"canonicalizefallbacklocal", "streamlocalbindunlink", "enableescapecommandline":
		return km(name, tFlag), true
	case "challengeresponseauthentication", "skeyauthentication", "tisauthentication":
		return km("kbdinteractiveauthentication", tFlag), true
	case "keepalive":
		return km("tcpkeepalive", tFlag), true
	case "pubkeyauthentication", "dsaauthentication":
		return km("pubkeyauthentication", tPubkey), true
	case "verifyhostkeydns", "updatehostkeys":
		return km(name, tYesNoAsk), true
	case "stricthostkeychecking":
		return km(name, tStrictHost), true
	case "compression":
		return km(name, tCompress), true
	case "addressfamily":
		return km(name, tFamily), true
	case "controlmaster":
		return km(name, tMaster), true
	case "tunnel":
		return km(name, tTunnel), true
	case "requesttty":
		return km(name, tTTY), true
	case "sessiontype":
		return km(name, tSession), true
	case "canonicalizehostname":
		return km(name, tCanon), true
	case "numberofpasswordprompts", "connectionattempts", "serveralivecountmax",
		"canonicalizemaxdots", "requiredrsasize":
		return kw(name, kInt), true
	case "connecttimeout", "serveraliveinterval", "forwardx11timeout":
		return kw(name, kTime), true
	case "protocolkeepalives", "setuptimeout":
		return kw("serveraliveinterval", kTime), true
	case "kbdinteractivedevices", "xauthlocation", "user", "hostname", "hostkeyalias",
		"preferredauthentications", "bindaddress", "bindinterface", "pkcs11provider", "securitykeyprovider",
		"controlpath", "ignoreunknown", "revokedhostkeys", "gssapiclientidentity", "gssapiserveridentity":
		return kw(name, kString), true
	case "smartcarddevice":
		return kw("pkcs11provider", kString), true
	case "proxycommand", "knownhostscommand", "localcommand", "remotecommand":
		return kw(name, kCommand), true
	case "ciphers":
		return ka(name, algoCiphers), true
	case "macs":
		return ka(name, algoMACs), true
	case "kexalgorithms":
		return ka(name, algoKex), true
	case "hostkeyalgorithms", "casignaturealgorithms":
		return ka(name, algoKeys), true
	case "hostbasedacceptedalgorithms", "hostbasedkeytypes":
		return ka("hostbasedacceptedalgorithms", algoKeys), true
	case "pubkeyacceptedalgorithms", "pubkeyacceptedkeytypes":
		return ka("pubkeyacceptedalgorithms", algoKeys), true
	case "gssapikexalgorithms":
		return ka(name, algoGSSKex), true
	case "globalknownhostsfile", "userknownhostsfile":
		return kw(name, kStrArray), true
	case "host", "match", "include", "identityfile", "certificatefile", "localforward",
		"remoteforward", "dynamicforward", "permitremoteopen", "escapechar", "sendenv", "setenv",
		"controlpersist", "tunneldevice", "ipqos", "canonicaldomains", "canonicalizepermittedcnames",
		"streamlocalbindmask", "fingerprinthash", "addkeystoagent", "identityagent", "forwardagent",
		"port", "proxyjump", "rekeylimit", "loglevel", "syslogfacility", "logverbose":
		return kw(name, kSpecial), true
	case "identityfile2":
		return kw("identityfile", kSpecial), true
	}
	return keyword{}, false
}

// KnownKeyword reports whether name (any case) is a keyword OpenSSH 9.2
// accepts in ssh_config, and returns its canonical lower-case name.
func KnownKeyword(name string) (string, bool) {
	k, ok := lookup(lower(name))
	return k.name, ok
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
