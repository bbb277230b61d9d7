package sshconn

// Host key verification, following check_host_key() in OpenSSH 9.2's
// sshconnect.c: look the key up under the host name (or HostKeyAlias) and,
// with CheckHostIP, under the address; then act on StrictHostKeyChecking.
//
//	known, matches   → accept (and add the IP with CheckHostIP)
//	unknown          → yes: refuse; ask: prompt; accept-new, no: add
//	changed, revoked → banner; refuse unless "no", which continues with
//	                   password, keyboard-interactive and forwarding off

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/jumpgate/jumpgate/internal/vlog"
)

// hostKeyPolicy is everything check_host_key needs, resolved from config.
type hostKeyPolicy struct {
	hostName string // HostName, without port
	port     int
	alias    string // HostKeyAlias, used as is (no port) when set
	proxied  bool   // ProxyCommand/ProxyJump: no meaningful IP

	userFiles, globalFiles []string
	strict                 string // yes, ask, accept-new, no
	checkHostIP            bool
	hashNew                bool
	batch                  bool
	noAuthLocalhost        bool
	fpHash                 string // sha256 or md5

	// What "no" disables on a changed key; only to say so, as OpenSSH.
	password, kbdInteractive, forwardAgent bool

	prompter Prompter
	out      *output
	unsafe   *atomic.Bool // set when continuing past a changed/revoked key

	command     *knownHostsCommand // KnownHostsCommand; nil if none
	revokedFile string             // RevokedHostKeys, expanded; "" if none

	// trusted: known_hosts (or a CA in it) vouched for the key, which
	// UpdateHostKeys needs; ipName is the address's known_hosts name
	// when CheckHostIP looked it up.
	trusted atomic.Bool
	ipName  atomic.Pointer[string]
}

// errHostKeyRefused is the cause inside a HostKeyError when the user said
// no or strict checking refused; the message was already shown.
var errHostKeyRefused = errors.New("host key verification failed")

// name is the known_hosts name of the host: the alias, or [host]:port.
func (p *hostKeyPolicy) name() string {
	if p.alias != "" {
		return p.alias
	}
	return knownHostsName(p.hostName, p.port)
}

func (p *hostKeyPolicy) fingerprint(k ssh.PublicKey) string {
	if strings.EqualFold(p.fpHash, "md5") {
		return "MD5:" + ssh.FingerprintLegacyMD5(k)
	}
	return ssh.FingerprintSHA256(k)
}

func (p *hostKeyPolicy) fail(reason error) error {
	return &HostKeyError{Host: p.name(), Err: reason}
}

// callback is the ssh.HostKeyCallback for the hop.
func (p *hostKeyPolicy) callback(_ string, remote net.Addr, key ssh.PublicKey) error {
	log := p.out.log
	log.Debugf("Server host key: %s %s", key.Type(), p.fingerprint(key))
	if p.revokedFile != "" {
		switch err := checkRevoked(p.revokedFile, key); {
		case errors.Is(err, errKeyRevoked):
			p.out.errorf("Host key %s %s revoked by file %s", keyTypeName(key), p.fingerprint(key), p.revokedFile)
			return p.fail(errHostKeyRefused)
		case err != nil:
			p.out.errorf("Error checking host key %s %s in revoked keys file %s: %v", keyTypeName(key), p.fingerprint(key), p.revokedFile, err)
			return p.fail(errHostKeyRefused)
		}
	}

	var ip net.IP
	if ta, ok := remote.(*net.TCPAddr); ok && !p.proxied {
		ip = ta.IP
	}
	local := ip != nil && ip.IsLoopback()
	if p.noAuthLocalhost && local && p.alias == "" {
		log.Debugf("Forcing accepting of host key for loopback/localhost.")
		return nil
	}
	host := p.name()
	if p.alias != "" {
		log.Debugf("using hostkeyalias: %s", p.alias)
	}
	ipName := "<no hostip for proxy command>"
	if ip != nil {
		ipName = knownHostsName(ip.String(), p.port)
	}
	checkIP := p.checkHostIP && ip != nil && !local && p.hostName != ip.String()

	kh := readKnownHosts(append(append([]string(nil), p.userFiles...), p.globalFiles...), log)
	kh.entries = append(kh.entries, p.command.entries(p, "HOSTNAME", host, key)...)
	if checkIP {
		kh.entries = append(kh.entries, p.command.entries(p, "ADDRESS", ipName, key)...)
	}
	hostEntries := kh.forHost(host)

	if cert, ok := key.(*ssh.Certificate); ok {
		st, found := check(hostEntries, key)
		switch st {
		case hostRevoked:
			return p.revoked(host, key)
		case hostOK:
			principal := p.hostName
			if p.alias != "" {
				principal = p.alias
			}
			cc := &ssh.CertChecker{}
			err := error(nil)
			if cert.CertType != ssh.HostCert {
				err = errors.New("certificate is not a host certificate")
			} else {
				err = checkHostCert(cc, principal, cert)
			}
			if err == nil {
				p.trusted.Store(true)
				log.Debugf("Host '%s' is known and matches the %s host certificate.", host, keyTypeName(key))
				log.Debugf("Found CA key in %s:%d", found.File, found.Line)
				return nil
			}
			p.out.errorf("Certificate invalid: %v", err)
		}
		log.Debugf("No matching CA found. Retry with plain key")
		key = cert.Key
	}

	status, found := check(hostEntries, key)
	ipStatus, ipFound := status, found
	if checkIP {
		ipStatus, ipFound = check(kh.forHost(ipName), key)
	}
	typ := keyTypeName(key)

	switch status {
	case hostOK:
		p.trusted.Store(true)
		if checkIP {
			p.ipName.Store(&ipName)
		}
		log.Debugf("Host '%s' is known and matches the %s host key.", host, typ)
		log.Debugf("Found key in %s:%d", found.File, found.Line)
		if checkIP && ipStatus == hostNew {
			if err := p.add([]string{ipName}, key); err != nil {
				p.out.infof("Failed to add the %s host key for IP address '%s' to the list of known hosts (%s).", typ, ipName, p.firstUserFile())
				log.Debugf("add known host: %v", err)
			} else {
				p.out.infof("Warning: Permanently added the %s host key for IP address '%s' to the list of known hosts.", typ, ipName)
			}
		}

	case hostNew:
		switch p.strict {
		case "yes":
			p.out.errorf("No %s host key is known for %s and you have requested strict checking.", typ, host)
			return p.fail(errHostKeyRefused)
		case "ask":
			if p.batch || p.prompter == nil {
				return p.fail(errHostKeyRefused)
			}
			fp := p.fingerprint(key)
			msg := fmt.Sprintf("The authenticity of host '%s (%s)' can't be established.\n%s key fingerprint is %s.\n%s\nAre you sure you want to continue connecting (yes/no/[fingerprint])? ",
				host, ipName, typ, fp, otherNames(kh, key))
			ok, err := p.confirm(msg, fp)
			if err != nil {
				log.Debugf("host key prompt: %v", err)
			}
			if !ok {
				return p.fail(errHostKeyRefused)
			}
		}
		names := []string{host}
		shown := host
		if checkIP && ipStatus == hostNew {
			names = append(names, ipName)
			shown = host + "," + ipName
		}
		if err := p.add(names, key); err != nil {
			p.out.errorf("Failed to add the host to the list of known hosts (%s).", p.firstUserFile())
			log.Debugf("add known host: %v", err)
		} else {
			p.out.infof("Warning: Permanently added '%s' (%s) to the list of known hosts.", shown, typ)
		}

	case hostRevoked:
		return p.revoked(host, key)

	case hostChanged:
		if checkIP && (ipStatus != hostChanged || (ipFound != nil && !keysEqual(ipFound.Key, found.Key))) {
			keyMsg := "has a different value"
			switch ipStatus {
			case hostNew:
				keyMsg = "is unknown"
			case hostOK:
				keyMsg = "is unchanged"
			}
			p.out.errorf("@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@")
			p.out.errorf("@       WARNING: POSSIBLE DNS SPOOFING DETECTED!          @")
			p.out.errorf("@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@")
			p.out.errorf("The %s host key for %s has changed,", typ, host)
			p.out.errorf("and the key for the corresponding IP address %s", ipName)
			p.out.errorf("%s. This could either mean that", keyMsg)
			p.out.errorf("DNS SPOOFING is happening or the IP address for the host")
			p.out.errorf("and its host key have changed at the same time.")
			if ipStatus != hostNew && ipFound != nil {
				p.out.errorf("Offending key for IP in %s:%d", ipFound.File, ipFound.Line)
			}
		}
		p.out.write(vlog.Error, changedKeyBanner(key, p.fingerprint(key), p.firstUserFile(), found, host))
		if p.strict != "no" {
			p.out.errorf("Host key for %s has changed and you have requested strict checking.", host)
			return p.fail(errHostKeyRefused)
		}
		p.continueUnsafe()
	}

	if checkIP && status != hostChanged && ipStatus == hostChanged {
		msg := fmt.Sprintf("Warning: the %s host key for '%s' differs from the key for the IP address '%s'\nOffending key for IP in %s:%d",
			typ, host, ipName, ipFound.File, ipFound.Line)
		if status == hostOK {
			msg += fmt.Sprintf("\nMatching host key in %s:%d", found.File, found.Line)
		}
		switch p.strict {
		case "ask":
			if p.batch || p.prompter == nil {
				return p.fail(errHostKeyRefused)
			}
			if ok, _ := p.confirm(msg+"\nAre you sure you want to continue connecting (yes/no)? ", ""); !ok {
				return p.fail(errHostKeyRefused)
			}
		case "no":
			p.out.infof("%s", msg)
		default:
			p.out.infof("%s", msg)
			p.out.errorf("Exiting, you have requested strict checking.")
			return p.fail(errHostKeyRefused)
		}
	}
	return nil
}

// revoked shows OpenSSH's revoked-key banner and refuses unless strict
// checking is off.
func (p *hostKeyPolicy) revoked(host string, key ssh.PublicKey) error {
	typ := keyTypeName(key)
	p.out.errorf("@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@")
	p.out.errorf("@       WARNING: REVOKED HOST KEY DETECTED!               @")
	p.out.errorf("@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@")
	p.out.errorf("The %s host key for %s is marked as revoked.", typ, host)
	p.out.errorf("This could mean that a stolen key is being used to")
	p.out.errorf("impersonate this host.")
	if p.strict != "no" {
		p.out.errorf("%s host key for %s was revoked and you have requested strict checking.", typ, host)
		return p.fail(errHostKeyRefused)
	}
	p.continueUnsafe()
	return nil
}

// continueUnsafe is OpenSSH's continue_unsafe: StrictHostKeyChecking=no
// lets the connection go on, without the methods a man in the middle could
// harvest (password, keyboard-interactive) and without agent forwarding.
func (p *hostKeyPolicy) continueUnsafe() {
	p.unsafe.Store(true)
	if p.password {
		p.out.errorf("Password authentication is disabled to avoid man-in-the-middle attacks.")
	}
	if p.kbdInteractive {
		p.out.errorf("Keyboard-interactive authentication is disabled to avoid man-in-the-middle attacks.")
	}
	if p.forwardAgent {
		p.out.errorf("Agent forwarding is disabled to avoid man-in-the-middle attacks.")
	}
}

// changedKeyBanner is the text ssh(1) prints for a changed host key, up to
// (not including) the strict-checking verdict.
func changedKeyBanner(key ssh.PublicKey, fp, userFile string, found *khEntry, host string) string {
	var b strings.Builder
	b.WriteString("@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n")
	b.WriteString("@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\n")
	b.WriteString("@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n")
	b.WriteString("IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!\n")
	b.WriteString("Someone could be eavesdropping on you right now (man-in-the-middle attack)!\n")
	b.WriteString("It is also possible that a host key has just been changed.\n")
	fmt.Fprintf(&b, "The fingerprint for the %s key sent by the remote host is\n%s.\n", keyTypeName(key), fp)
	b.WriteString("Please contact your system administrator.\n")
	fmt.Fprintf(&b, "Add correct host key in %s to get rid of this message.\n", userFile)
	fmt.Fprintf(&b, "Offending %s key in %s:%d\n", keyTypeName(found.Key), found.File, found.Line)
	b.WriteString("  remove with:\n")
	fmt.Fprintf(&b, "  ssh-keygen -f \"%s\" -R \"%s\"\n", found.File, host)
	return b.String()
}

// otherNames is the line(s) of the ask prompt saying under which other
// names the key is already known.
func otherNames(kh *knownHosts, key ssh.PublicKey) string {
	es := kh.withKey(key)
	if len(es) == 0 {
		return "This key is not known by any other names."
	}
	var b strings.Builder
	b.WriteString("This host key is known by the following other names/addresses:")
	const max = 8
	for i, e := range es {
		if i == max {
			fmt.Fprintf(&b, "\n    (%d additional names omitted)", len(es)-max)
			break
		}
		h := e.Hosts
		if strings.HasPrefix(h, "|") {
			h = "[hashed name]"
		}
		fmt.Fprintf(&b, "\n    %s:%d: %s", e.File, e.Line, h)
	}
	return b.String()
}

// confirm is OpenSSH's confirm(): yes, no (or empty), or the fingerprint.
func (p *hostKeyPolicy) confirm(prompt, fp string) (bool, error) {
	again := "Please type 'yes' or 'no': "
	if fp != "" {
		again = "Please type 'yes', 'no' or the fingerprint: "
	}
	for msg := prompt; ; msg = again {
		ans, err := p.prompter.Prompt(msg, true)
		if err != nil {
			return false, err
		}
		ans = strings.TrimRight(ans, "\r\n")
		switch {
		case ans == "" || strings.EqualFold(ans, "no"):
			return false, nil
		case strings.EqualFold(ans, "yes") || (fp != "" && ans == fp):
			return true, nil
		}
	}
}

func (p *hostKeyPolicy) firstUserFile() string {
	if len(p.userFiles) == 0 {
		return "(none)"
	}
	return p.userFiles[0]
}

// add appends key for names to the first user known_hosts file: one line
// "name1,name2 key", or with HashKnownHosts one hashed line per name.
func (p *hostKeyPolicy) add(names []string, key ssh.PublicKey) error {
	if len(p.userFiles) == 0 {
		return errors.New("no UserKnownHostsFile")
	}
	var lines []string
	keyText := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(key)))
	if p.hashNew {
		for _, n := range names {
			lines = append(lines, knownhosts.HashHostname(n)+" "+keyText+"\n")
		}
	} else {
		lines = append(lines, strings.Join(names, ",")+" "+keyText+"\n")
	}
	return appendKnownHosts(p.userFiles[0], strings.Join(lines, ""))
}

// appendKnownHosts appends text to file, creating it (and, like ssh(1),
// its directory, 0700) if needed, and starting on a fresh line.
func appendKnownHosts(file, text string) error {
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(file, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	if st, err := f.Stat(); err == nil && st.Size() > 0 {
		last := make([]byte, 1)
		if _, err := f.ReadAt(last, st.Size()-1); err == nil && last[0] != '\n' {
			text = "\n" + text
		}
	}
	if _, err := io.WriteString(f, text); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// checkHostCert is CertChecker.CheckCert for a host certificate, except
// that one naming no principals is valid for every host, as in ssh(1)
// (x/crypto refuses it): the other checks are made here.
func checkHostCert(cc *ssh.CertChecker, principal string, cert *ssh.Certificate) error {
	if len(cert.ValidPrincipals) > 0 {
		return cc.CheckCert(principal, cert)
	}
	if len(cert.CriticalOptions) > 0 {
		return errors.New("host certificate has critical options")
	}
	now := time.Now().Unix()
	if after := int64(cert.ValidAfter); after < 0 || now < after {
		return errors.New("cert is not yet valid")
	}
	if before := int64(cert.ValidBefore); cert.ValidBefore != ssh.CertTimeInfinity && (now >= before || before < 0) {
		return errors.New("cert has expired")
	}
	return verifyCertSignature(cert)
}

// verifyCertSignature checks the CA's signature over the certificate
// (PROTOCOL.certkeys: everything up to the signature field).
func verifyCertSignature(cert *ssh.Certificate) error {
	if cert.SignatureKey == nil || cert.Signature == nil {
		return errors.New("certificate is not signed")
	}
	all := cert.Marshal()
	sig := ssh.Marshal(cert.Signature)
	if len(all) < 4+len(sig) {
		return errors.New("certificate is malformed")
	}
	return cert.SignatureKey.Verify(all[:len(all)-4-len(sig)], cert.Signature)
}
