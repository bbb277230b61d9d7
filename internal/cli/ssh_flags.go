package cli

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/jumpgate/jumpgate/internal/client"
	"github.com/jumpgate/jumpgate/internal/dial"
	"github.com/jumpgate/jumpgate/internal/getopt"
	"github.com/jumpgate/jumpgate/internal/sshconf"
)

// sshOptstring is OpenSSH 9.2's getopt string for ssh(1).
const sshOptstring = "1246ab:c:e:fgi:kl:m:no:p:qstvxAB:CD:E:F:GI:J:KL:MNO:PQ:R:S:TVw:W:XYy"

// sshUsage is ssh(1)'s usage text, which scripts and users know.
const sshUsage = `usage: ssh [-46AaCfGgKkMNnqsTtVvXxYy] [-B bind_interface]
           [-b bind_address] [-c cipher_spec] [-D [bind_address:]port]
           [-E log_file] [-e escape_char] [-F configfile] [-I pkcs11]
           [-i identity_file] [-J [user@]host[:port]] [-L address]
           [-l login_name] [-m mac_spec] [-O ctl_cmd] [-o option] [-p port]
           [-Q query_option] [-R address] [-S ctl_path] [-W host:port]
           [-w local_tun[:remote_tun]] destination [command [argument ...]]
`

// sshDefaults follows the usage in `jumpgate ssh --help`: where jumpgate
// ssh's defaults are not ssh(1)'s, and when not to compress.
const sshDefaults = `
jumpgate ssh multiplexes by default: with no ControlPath configured, the
first command to a host starts a master (ControlMaster auto, ControlPersist
10m, a socket under $XDG_RUNTIME_DIR/jumpgate) that later commands reuse,
and jump hosts' connections are reused through their own masters. A master
keeps the server's settings from when it connected; -o ControlMaster=no
connects anew. Linked as "ssh", jumpgate has ssh(1)'s defaults instead: no
multiplexing and no reuse unless the configuration asks for it.
Leave -C off where secrets share a connection with data an attacker
controls: compressed sizes can reveal the secrets (as in CRIME).
`

// sshArgs is the command line of `jumpgate ssh`: the client's options
// and what only the command line itself acts on.
type sshArgs struct {
	client.Options

	version   bool   // -V
	query     string // -Q
	stdinNull bool   // -n (and -f)
	portSet   bool
	warnings  []string // printed before anything else, as ssh(1) does
}

// sshArgError is a command-line error that ssh(1) reports with the given
// text (and, for getopt errors, its usage) and exit status 255.
type sshArgError struct {
	msg   string
	usage bool
	// plain is a message ssh(1) writes with fprintf ("\n"); the others
	// go through its logger ("\r\n").
	plain bool
}

func (e *sshArgError) Error() string { return e.msg }

// parseSSHArgs parses args (without argv[0]) as ssh(1) does: options up to
// the destination, options again after it (unless "--" ended them), then the
// command. home expands ~ in -i and -E paths; getenv expands ${VAR} in
// forwarding specs, as ssh(1) does.
func parseSSHArgs(args []string, home string, stat func(string) error, getenv func(string) string) (*sshArgs, error) {
	a := &sshArgs{Options: client.Options{LogLevel: -1, Override: map[string]string{}}}
	verbose := 0
	terminated := false
	haveDest := false
	rest := args
	for {
		g := getopt.Parser{Args: rest, Optstring: sshOptstring}
		for {
			opt, arg, err := g.Next()
			if err != nil {
				return nil, &sshArgError{msg: err.Error(), usage: true}
			}
			if opt == 0 {
				break
			}
			if err := a.apply(opt, arg, &verbose, home, stat, getenv); err != nil {
				return nil, err
			}
		}
		if g.Terminated {
			terminated = true
		}
		rest = rest[g.Index:]
		if haveDest {
			break
		}
		if len(rest) == 0 {
			break
		}
		if err := a.setDest(rest[0]); err != nil {
			return nil, err
		}
		haveDest = true
		rest = rest[1:]
		if len(rest) == 0 || terminated {
			break
		}
	}
	a.Command = rest
	if !haveDest && !a.version && a.query == "" {
		return nil, &sshArgError{usage: true}
	}
	return a, nil
}

func (a *sshArgs) apply(opt byte, arg string, verbose *int, home string, stat func(string) error, getenv func(string) string) error {
	bad := func(format string, args ...any) error { return &sshArgError{msg: fmt.Sprintf(format, args...)} }
	badPlain := func(format string, args ...any) error {
		return &sshArgError{msg: fmt.Sprintf(format, args...), plain: true}
	}
	switch opt {
	case '1', '2', 'P', 'y', 'I':
		// -1 is an error in OpenSSH 9.2; -2 is a no-op; -P is unused;
		// -y (syslog) and -I (PKCS#11) are accepted and ignored here.
		if opt == '1' {
			return bad("SSH protocol v.1 is no longer supported")
		}
		if opt == 'I' {
			a.Set("PKCS11Provider", arg)
		}
	case '4':
		a.Set("AddressFamily", "inet")
	case '6':
		a.Set("AddressFamily", "inet6")
	case 'A':
		a.Set("ForwardAgent", "yes")
	case 'a':
		a.Set("ForwardAgent", "no")
	case 'B':
		a.Set("BindInterface", arg)
	case 'b':
		a.Set("BindAddress", arg)
	case 'C':
		a.Set("Compression", "yes")
	case 'c':
		if !validAlgList(arg, openSSHCiphers) {
			return badPlain("Unknown cipher type '%s'", arg)
		}
		a.Set("Ciphers", arg)
	case 'D':
		if _, err := sshconf.ParseForward(arg, sshconf.Dynamic, getenv); err != nil {
			return badPlain("%v", err)
		}
		a.Add("DynamicForward", arg)
	case 'E':
		a.LogFile = expandTilde(arg, home)
	case 'e':
		switch {
		case len(arg) == 2 && arg[0] == '^' && arg[1] >= 64 && arg[1] < 128, len(arg) == 1, arg == "none":
			a.Set("EscapeChar", arg)
		default:
			return badPlain("Bad escape character '%s'.", arg)
		}
	case 'F':
		a.ConfigFile = arg
	case 'f':
		a.ForkAfter, a.stdinNull = true, true
		a.Set("ForkAfterAuthentication", "yes")
		a.Set("StdinNull", "yes")
	case 'G':
		a.PrintG = true
	case 'g':
		a.Set("GatewayPorts", "yes")
	case 'i':
		p := expandTilde(arg, home)
		if err := stat(p); err != nil {
			a.warnings = append(a.warnings, fmt.Sprintf("Warning: Identity file %s not accessible: %s.", p, err))
			break
		}
		a.Add("IdentityFile", p)
	case 'J':
		// An earlier -o ProxyJump counts as a -J: ssh(1) has one slot.
		jumped := false
		for _, o := range a.Ordered {
			jumped = jumped || strings.EqualFold(client.OptionKey(o), "proxyjump")
		}
		if _, ok := a.Override["ProxyJump"]; ok || jumped {
			return bad("Only a single -J option is permitted (use commas to separate multiple jump hops)")
		}
		for _, o := range a.Ordered {
			if strings.EqualFold(client.OptionKey(o), "proxycommand") {
				return bad("Cannot specify -J with ProxyCommand")
			}
		}
		if _, err := dial.ParseJumpList(arg); err != nil {
			return bad("Invalid -J argument")
		}
		a.Set("ProxyJump", arg)
	case 'K':
		a.Set("GSSAPIAuthentication", "yes")
		a.Set("GSSAPIDelegateCredentials", "yes")
	case 'k':
		a.Set("GSSAPIDelegateCredentials", "no")
	case 'L':
		fw, err := sshconf.ParseForward(arg, sshconf.Local, getenv)
		if err != nil {
			return badPlain("%v", err)
		}
		listen, target := fw.ConfigArgs()
		a.Add("LocalForward", listen+" "+target)
	case 'l':
		a.Add("User", arg)
	case 'M':
		if a.Override["ControlMaster"] == "yes" {
			a.Set("ControlMaster", "ask")
		} else {
			a.Set("ControlMaster", "yes")
		}
	case 'm':
		if !validAlgList(arg, openSSHMACs) {
			return badPlain("Unknown mac type '%s'", arg)
		}
		a.Set("MACs", arg)
	case 'N':
		if st, ok := a.Override["SessionType"]; ok && st != "none" {
			return bad("Cannot specify -N with -s/SessionType")
		}
		a.Set("SessionType", "none")
		a.Set("RequestTTY", "no")
	case 'n':
		a.stdinNull = true
		a.Set("StdinNull", "yes")
	case 'O':
		if a.Stdio != "" {
			return bad("Cannot specify multiplexing command with -W")
		}
		switch arg {
		case "check", "forward", "exit", "stop", "cancel", "proxy":
			a.MuxCommand = arg
		default:
			return bad("Invalid multiplex command.")
		}
	case 'o':
		a.Ordered = append(a.Ordered, sshconf.Option{Value: arg})
	case 'p':
		n, err := strconv.Atoi(arg)
		if err != nil || n <= 0 || n > 65535 {
			return badPlain("Bad port '%s'", arg)
		}
		if !a.portSet {
			// ssh(1) 9.2 keeps the first -p, like the first -o Port.
			a.portSet = true
			a.Add("Port", strconv.Itoa(n))
		}
	case 'Q':
		a.query = arg
	case 'q':
		a.LogLevel = 0 // QUIET
	case 'R':
		fw, err := sshconf.ParseForward(arg, sshconf.Remote, getenv)
		if err != nil {
			return badPlain("%v", err)
		}
		listen, target := fw.ConfigArgs()
		a.Add("RemoteForward", strings.TrimSpace(listen+" "+target))
	case 'S':
		a.Set("ControlPath", arg)
	case 's':
		if st, ok := a.Override["SessionType"]; ok && st != "subsystem" {
			return bad("Cannot specify -s with -N/SessionType")
		}
		a.Set("SessionType", "subsystem")
	case 'T':
		a.Set("RequestTTY", "no")
	case 't':
		if a.Override["RequestTTY"] == "yes" {
			a.Set("RequestTTY", "force")
		} else {
			a.Set("RequestTTY", "yes")
		}
	case 'V':
		a.version = true
	case 'v':
		if *verbose == 0 {
			*verbose = 1
			a.LogLevel = 5 // DEBUG1
		} else if a.LogLevel < 7 {
			a.LogLevel++
		}
	case 'W':
		if a.Stdio != "" {
			return bad("stdio forward already specified")
		}
		if a.MuxCommand != "" {
			return bad("Cannot specify stdio forward with -O")
		}
		host, port, ok := parseStdioForward(arg)
		if !ok {
			return badPlain("Bad stdio forwarding specification '%s'", arg)
		}
		a.Stdio, a.StdioHost, a.StdioPort = arg, host, port
		a.Set("RequestTTY", "no")
		a.Set("SessionType", "none")
	case 'w':
		if !validTun(arg) {
			return badPlain("Bad tun device '%s'", arg)
		}
		a.Add("Tunnel", "yes")
		a.Set("TunnelDevice", arg)
	case 'X':
		a.Set("ForwardX11", "yes")
	case 'x':
		a.Set("ForwardX11", "no")
	case 'Y':
		a.Set("ForwardX11", "yes")
		a.Set("ForwardX11Trusted", "yes")
	}
	return nil
}

// setDest takes the destination apart: ssh://[user@]host[:port] or
// [user@]host, where only the last @ separates the user.
func (a *sshArgs) setDest(s string) error {
	a.DestAt = len(a.Ordered)
	if rest, ok := strings.CutPrefix(s, "ssh://"); ok {
		u, err := url.Parse("ssh://" + rest)
		if err != nil || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
			return &sshArgError{usage: true}
		}
		if u.User != nil {
			a.DestUser = u.User.Username()
		}
		a.Dest = u.Hostname()
		if p := u.Port(); p != "" {
			n, err := strconv.Atoi(p)
			if err != nil || n <= 0 || n > 65535 {
				return &sshArgError{usage: true}
			}
			a.DestPort = n
		}
		return nil
	}
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		if i == 0 {
			return &sshArgError{usage: true}
		}
		a.DestUser, s = s[:i], s[i+1:]
	}
	a.Dest = s
	return nil
}

// parseStdioForward parses -W host:port, [v6]:port or a Unix socket path.
func parseStdioForward(s string) (string, int, bool) {
	if strings.HasPrefix(s, "/") || strings.HasPrefix(s, "./") {
		return s, 0, true
	}
	var host, port string
	if strings.HasPrefix(s, "[") {
		end := strings.Index(s, "]:")
		if end < 0 {
			return "", 0, false
		}
		host, port = s[1:end], s[end+2:]
	} else {
		i := strings.IndexByte(s, ':')
		if i < 0 || strings.Contains(s[i+1:], ":") {
			return "", 0, false
		}
		host, port = s[:i], s[i+1:]
	}
	n, err := strconv.Atoi(port)
	if host == "" || err != nil || n <= 0 || n > 65535 {
		if err != nil && host != "" && port != "" && !strings.ContainsAny(port, "0123456789") {
			// A service name, as getservbyname would find.
			if p, ok := wellKnownPorts[port]; ok {
				return host, p, true
			}
		}
		return "", 0, false
	}
	return host, n, true
}

var wellKnownPorts = map[string]int{"ssh": 22, "http": 80, "https": 443, "telnet": 23, "smtp": 25, "domain": 53}

// validTun checks -w local_tun[:remote_tun] (numbers or "any").
func validTun(s string) bool {
	ok := func(t string) bool {
		if t == "any" {
			return true
		}
		n, err := strconv.Atoi(t)
		return err == nil && n >= 0 && n <= 0x7fffffff-2
	}
	l, r, found := strings.Cut(s, ":")
	return ok(l) && (!found || ok(r))
}

func expandTilde(p, home string) string {
	if p == "~" {
		return home
	}
	if rest, ok := strings.CutPrefix(p, "~/"); ok {
		return strings.TrimSuffix(home, "/") + "/" + rest
	}
	return p
}

// OpenSSH 9.2's cipher and MAC names (ssh -Q cipher, ssh -Q mac), which -c
// and -m accept, optionally after +, - or ^.
var (
	openSSHCiphers = []string{"3des-cbc", "aes128-cbc", "aes192-cbc", "aes256-cbc", "aes128-ctr", "aes192-ctr",
		"aes256-ctr", "aes128-gcm@openssh.com", "aes256-gcm@openssh.com", "chacha20-poly1305@openssh.com"}
	openSSHMACs = []string{"hmac-sha1", "hmac-sha1-96", "hmac-sha2-256", "hmac-sha2-512", "hmac-md5", "hmac-md5-96",
		"umac-64@openssh.com", "umac-128@openssh.com", "hmac-sha1-etm@openssh.com", "hmac-sha1-96-etm@openssh.com",
		"hmac-sha2-256-etm@openssh.com", "hmac-sha2-512-etm@openssh.com", "hmac-md5-etm@openssh.com",
		"hmac-md5-96-etm@openssh.com", "umac-64-etm@openssh.com", "umac-128-etm@openssh.com"}
)

func validAlgList(s string, known []string) bool {
	s = strings.TrimLeft(s, "+-^")
	if s == "" {
		return false
	}
	for _, name := range strings.Split(s, ",") {
		if !slices.Contains(known, name) {
			return false
		}
	}
	return true
}
