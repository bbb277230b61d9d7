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

// keywords maps every lower-case keyword (aliases included) to its parser
// and the canonical name under which its value is kept.
var keywords = func() map[string]keyword {
	m := map[string]keyword{}
	add := func(alias string, k keyword) { m[alias] = k }
	for _, n := range []string{"protocol"} {
		add(n, kw(n, kIgnore))
	}
	for _, n := range []string{"cipher", "fallbacktorsh", "globalknownhostsfile2", "rhostsauthentication",
		"userknownhostsfile2", "useroaming", "usersh", "useprivilegedport", "useblacklistedkeys"} {
		add(n, kw(n, kDeprecated))
	}
	for _, n := range []string{"afstokenpassing", "kerberosauthentication", "kerberostgtpassing",
		"rsaauthentication", "rhostsrsaauthentication", "compressionlevel"} {
		add(n, kw(n, kUnsupported))
	}
	for _, n := range []string{"gssapiauthentication", "gssapikeyexchange", "gssapidelegatecredentials",
		"gssapitrustdns", "gssapirenewalforcesrekey", "forwardx11", "forwardx11trusted",
		"exitonforwardfailure", "gatewayports", "passwordauthentication", "kbdinteractiveauthentication",
		"hostbasedauthentication", "identitiesonly", "batchmode", "checkhostip", "tcpkeepalive",
		"clearallforwardings", "enablesshkeysign", "nohostauthenticationforlocalhost", "hashknownhosts",
		"permitlocalcommand", "visualhostkey", "stdinnull", "forkafterauthentication", "proxyusefdpass",
		"canonicalizefallbacklocal", "streamlocalbindunlink", "enableescapecommandline"} {
		add(n, km(n, tFlag))
	}
	add("challengeresponseauthentication", km("kbdinteractiveauthentication", tFlag))
	add("skeyauthentication", km("kbdinteractiveauthentication", tFlag))
	add("tisauthentication", km("kbdinteractiveauthentication", tFlag))
	add("keepalive", km("tcpkeepalive", tFlag))
	add("pubkeyauthentication", km("pubkeyauthentication", tPubkey))
	add("dsaauthentication", km("pubkeyauthentication", tPubkey))
	add("verifyhostkeydns", km("verifyhostkeydns", tYesNoAsk))
	add("updatehostkeys", km("updatehostkeys", tYesNoAsk))
	add("stricthostkeychecking", km("stricthostkeychecking", tStrictHost))
	add("compression", km("compression", tCompress))
	add("addressfamily", km("addressfamily", tFamily))
	add("controlmaster", km("controlmaster", tMaster))
	add("tunnel", km("tunnel", tTunnel))
	add("requesttty", km("requesttty", tTTY))
	add("sessiontype", km("sessiontype", tSession))
	add("canonicalizehostname", km("canonicalizehostname", tCanon))
	for _, n := range []string{"numberofpasswordprompts", "connectionattempts", "serveralivecountmax",
		"canonicalizemaxdots", "requiredrsasize"} {
		add(n, kw(n, kInt))
	}
	for _, n := range []string{"connecttimeout", "serveraliveinterval", "forwardx11timeout"} {
		add(n, kw(n, kTime))
	}
	add("protocolkeepalives", kw("serveraliveinterval", kTime))
	add("setuptimeout", kw("serveraliveinterval", kTime))
	for _, n := range []string{"kbdinteractivedevices", "xauthlocation", "user", "hostname", "hostkeyalias",
		"preferredauthentications", "bindaddress", "bindinterface", "pkcs11provider", "securitykeyprovider",
		"controlpath", "ignoreunknown", "revokedhostkeys", "gssapiclientidentity", "gssapiserveridentity"} {
		add(n, kw(n, kString))
	}
	add("smartcarddevice", kw("pkcs11provider", kString))
	for _, n := range []string{"proxycommand", "knownhostscommand", "localcommand", "remotecommand"} {
		add(n, kw(n, kCommand))
	}
	add("ciphers", ka("ciphers", algoCiphers))
	add("macs", ka("macs", algoMACs))
	add("kexalgorithms", ka("kexalgorithms", algoKex))
	add("hostkeyalgorithms", ka("hostkeyalgorithms", algoKeys))
	add("casignaturealgorithms", ka("casignaturealgorithms", algoKeys))
	add("hostbasedacceptedalgorithms", ka("hostbasedacceptedalgorithms", algoKeys))
	add("hostbasedkeytypes", ka("hostbasedacceptedalgorithms", algoKeys))
	add("pubkeyacceptedalgorithms", ka("pubkeyacceptedalgorithms", algoKeys))
	add("pubkeyacceptedkeytypes", ka("pubkeyacceptedalgorithms", algoKeys))
	add("gssapikexalgorithms", ka("gssapikexalgorithms", algoGSSKex))
	add("globalknownhostsfile", kw("globalknownhostsfile", kStrArray))
	add("userknownhostsfile", kw("userknownhostsfile", kStrArray))
	for _, n := range []string{"host", "match", "include", "identityfile", "certificatefile", "localforward",
		"remoteforward", "dynamicforward", "permitremoteopen", "escapechar", "sendenv", "setenv",
		"controlpersist", "tunneldevice", "ipqos", "canonicaldomains", "canonicalizepermittedcnames",
		"streamlocalbindmask", "fingerprinthash", "addkeystoagent", "identityagent", "forwardagent",
		"port", "proxyjump", "rekeylimit", "loglevel", "syslogfacility", "logverbose"} {
		add(n, kw(n, kSpecial))
	}
	add("identityfile2", kw("identityfile", kSpecial))
	return m
}()

// KnownKeyword reports whether name (any case) is a keyword OpenSSH 9.2
// accepts in ssh_config, and returns its canonical lower-case name.
func KnownKeyword(name string) (string, bool) {
	k, ok := keywords[lower(name)]
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
