package sshconf

// `ssh -G` output: dump_client_config of Debian's OpenSSH 9.2p1, keyword
// by keyword in its order and formatting.

import (
	"strconv"
	"strings"
)

type line struct{ key, value string }

var dumpFlags = []struct {
	key   string
	table []multi
}{
	{"addressfamily", tFamily}, {"batchmode", nil}, {"canonicalizefallbacklocal", nil},
	{"canonicalizehostname", tCanon}, {"checkhostip", nil}, {"compression", nil},
	{"controlmaster", tMaster}, {"enablesshkeysign", nil}, {"clearallforwardings", nil},
	{"exitonforwardfailure", nil}, {"fingerprinthash", nil}, {"forwardx11", nil},
	{"forwardx11trusted", nil}, {"gatewayports", nil}, {"gssapiauthentication", nil},
	{"gssapikeyexchange", nil}, {"gssapidelegatecredentials", nil}, {"gssapitrustdns", nil},
	{"gssapirenewalforcesrekey", nil}, {"gssapiclientidentity", nil}, {"gssapiserveridentity", nil},
	{"gssapikexalgorithms", nil}, {"hashknownhosts", nil}, {"hostbasedauthentication", nil},
	{"identitiesonly", nil}, {"kbdinteractiveauthentication", nil},
	{"nohostauthenticationforlocalhost", nil}, {"passwordauthentication", nil},
	{"permitlocalcommand", nil}, {"proxyusefdpass", nil}, {"pubkeyauthentication", tPubkey},
	{"requesttty", tTTY}, {"sessiontype", tSession}, {"stdinnull", nil},
	{"forkafterauthentication", nil}, {"streamlocalbindunlink", nil},
	{"stricthostkeychecking", tStrictHost}, {"tcpkeepalive", nil}, {"tunnel", tTunnel},
	{"verifyhostkeydns", tYesNoAsk}, {"visualhostkey", nil}, {"updatehostkeys", tYesNoAsk},
	{"enableescapecommandline", nil},
}

var dumpIntKeys = []string{"canonicalizemaxdots", "connectionattempts", "forwardx11timeout",
	"numberofpasswordprompts", "serveralivecountmax", "serveraliveinterval", "requiredrsasize"}

var dumpStrKeys = []string{"bindaddress", "bindinterface", "ciphers", "controlpath", "hostkeyalgorithms",
	"hostkeyalias", "hostbasedacceptedalgorithms", "identityagent", "ignoreunknown",
	"kbdinteractivedevices", "kexalgorithms", "casignaturealgorithms", "localcommand", "remotecommand",
	"loglevel", "macs", "pkcs11provider", "securitykeyprovider", "preferredauthentications",
	"pubkeyacceptedalgorithms", "revokedhostkeys", "xauthlocation", "knownhostscommand"}

// dump renders the configuration as the (keyword, value) lines of -G.
func (h *Host) dump() []line {
	st := h.st
	var out []line
	add := func(k, v string) { out = append(out, line{k, v}) }
	yesno := func(v int) string {
		switch v {
		case 0:
			return "no"
		case 1:
			return "yes"
		}
		return "UNKNOWN"
	}
	oneline := func(k string, vals []string) {
		if len(vals) == 0 {
			add(k, "none")
			return
		}
		add(k, strings.Join(vals, " "))
	}
	add("host", h.original)
	add("user", st.strs["user"])
	add("hostname", h.host)
	add("port", strconv.Itoa(st.ints["port"]))
	for _, f := range dumpFlags {
		switch f.key {
		case "fingerprinthash", "gssapikexalgorithms":
			add(f.key, st.strs[f.key])
		case "gssapiclientidentity", "gssapiserveridentity":
			if v, ok := st.strs[f.key]; ok {
				add(f.key, v)
			}
		default:
			if f.table != nil {
				add(f.key, formatMulti(f.table, st.ints[f.key]))
			} else {
				add(f.key, yesno(st.ints[f.key]))
			}
		}
	}
	for _, k := range dumpIntKeys {
		add(k, strconv.Itoa(st.ints[k]))
	}
	for _, k := range dumpStrKeys {
		if k == "loglevel" {
			add(k, st.logLevel)
			continue
		}
		if v, ok := st.strs[k]; ok {
			add(k, v)
		}
	}
	// As in OpenSSH, forwards to a path are listed both as dynamic and
	// local forwards.
	for _, f := range st.localFwds {
		if f.connectPort == portStreamLocal || f.connectHost == "socks" {
			k, v, _ := strings.Cut(formatForward("dynamicforward", f), " ")
			add(k, v)
		}
	}
	for _, f := range st.localFwds {
		if f.connectHost != "socks" {
			k, v, _ := strings.Cut(formatForward("localforward", f), " ")
			add(k, v)
		}
	}
	for _, f := range st.remoteFwds {
		k, v, _ := strings.Cut(formatForward("remoteforward", f), " ")
		add(k, v)
	}
	for _, f := range st.identityFiles {
		add("identityfile", f.path)
	}
	oneline("canonicaldomains", st.arrays["canonicaldomains"])
	for _, f := range st.certFiles {
		add("certificatefile", f.path)
	}
	oneline("globalknownhostsfile", st.arrays["globalknownhostsfile"])
	oneline("userknownhostsfile", st.arrays["userknownhostsfile"])
	for _, e := range st.sendEnv {
		add("sendenv", e)
	}
	for _, e := range st.setEnv {
		add("setenv", e)
	}
	oneline("logverbose", st.arrays["logverbose"])
	if pro := st.arrays["permitremoteopen"]; len(pro) == 0 {
		add("permitremoteopen", "any")
	} else {
		oneline("permitremoteopen", pro)
	}
	if st.addKeysLifespan <= 0 {
		add("addkeystoagent", formatMulti(tConfirm, st.ints["addkeystoagent"]))
	} else if st.ints["addkeystoagent"] == 3 {
		add("addkeystoagent", "confirm "+strconv.Itoa(st.addKeysLifespan))
	} else {
		add("addkeystoagent", strconv.Itoa(st.addKeysLifespan))
	}
	if st.forwardAgentPath == "" {
		add("forwardagent", yesno(st.ints["forwardagent"]))
	} else {
		add("forwardagent", st.forwardAgentPath)
	}
	if v, ok := st.ints["connecttimeout"]; ok {
		add("connecttimeout", strconv.Itoa(v))
	} else {
		add("connecttimeout", "none")
	}
	tun := func(v int) string {
		if v == -1 {
			return "any"
		}
		return strconv.Itoa(v)
	}
	add("tunneldevice", tun(st.tunLocal)+":"+tun(st.tunRemote))
	if len(st.cnames) == 0 {
		add("canonicalizePermittedcnames", "none")
	} else {
		var parts []string
		for _, c := range st.cnames {
			parts = append(parts, c.source+":"+c.target)
		}
		add("canonicalizePermittedcnames", strings.Join(parts, " "))
	}
	if st.ints["controlpersist"] == 0 || st.controlPersistTimeout == 0 {
		add("controlpersist", yesno(st.ints["controlpersist"]))
	} else {
		add("controlpersist", strconv.Itoa(st.controlPersistTimeout))
	}
	if e := st.ints["escapechar"]; e == -2 {
		add("escapechar", "none")
	} else {
		add("escapechar", vis(byte(e)))
	}
	add("ipqos", iptos2str(st.ipqosInteractive)+" "+iptos2str(st.ipqosBulk))
	add("rekeylimit", strconv.FormatInt(st.rekeyLimit, 10)+" "+strconv.Itoa(st.ints["rekeyinterval"]))
	add("streamlocalbindmask", "0"+strconv.FormatInt(int64(st.streamLocalBindMask), 8))
	add("syslogfacility", st.logFacility)
	if !st.jumpSet {
		if v, ok := st.strs["proxycommand"]; ok {
			add("proxycommand", v)
		}
	} else {
		jh := st.jumpHost
		numeric := strings.Contains(jh, ":") || strings.Trim(jh, "1234567890.") == ""
		var b strings.Builder
		if st.jumpExtra != "" {
			b.WriteString(st.jumpExtra + ",")
		}
		if st.jumpUser != "" {
			b.WriteString(st.jumpUser + "@")
		}
		if numeric {
			b.WriteString("[" + jh + "]")
		} else {
			b.WriteString(jh)
		}
		if st.jumpPort > 0 {
			b.WriteString(":" + strconv.Itoa(st.jumpPort))
		}
		add("proxyjump", b.String())
	}
	return out
}

// vis encodes a character as OpenBSD's vis(3) with VIS_WHITE.
func vis(c byte) string {
	if c == '\\' {
		return `\\`
	}
	if c > ' ' && c < 0x7f {
		return string(c)
	}
	if c&0x7f == ' ' {
		return "\\" + strconv.FormatInt(int64(c)>>6&7, 8) + strconv.FormatInt(int64(c)>>3&7, 8) + strconv.FormatInt(int64(c)&7, 8)
	}
	s := `\`
	if c&0x80 != 0 {
		c &= 0x7f
		s += "M"
	}
	if c < ' ' || c == 0x7f {
		if c == 0x7f {
			return s + "^?"
		}
		return s + "^" + string(c+'@')
	}
	return s + "-" + string(c)
}
