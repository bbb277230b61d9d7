package client

import "strings"

// unhonoured reports the settings jumpgate parses (and `ssh -G` shows)
// but cannot act on yet: they get ssh(1)'s warning for an option it was
// built without, instead of being silently ignored. Defaults and "off"
// values need no warning. (Compression works on our engine; on x/crypto's
// it is off, with a debug line.)
func unhonoured(keyword, value string) bool {
	v := strings.ToLower(strings.Trim(strings.Fields(value + " x")[0], `"`))
	off := v == "no" || v == "false"
	switch keyword {
	case "updatehostkeys":
		// yes is honoured; ask would prompt, which we do not.
		return v == "ask"
	case "verifyhostkeydns", "proxyusefdpass", "visualhostkey", "addkeystoagent":
		return !off
	case "casignaturealgorithms", "requiredrsasize", "kbdinteractivedevices":
		return true
	}
	return false
}
