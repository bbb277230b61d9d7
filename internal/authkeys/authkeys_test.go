package authkeys

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

func testKeyText(t testing.TB) string {
	t.Helper()
	pub, err := ssh.NewPublicKey(ed25519.PublicKey(bytes.Repeat([]byte{7}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub)))
}

// summary renders parse results for the golden file.
func summary(entries []Entry, errs []error) string {
	var b strings.Builder
	for _, e := range entries {
		p, err := Compile(e.Options)
		fmt.Fprintf(&b, "line %d: %s comment=%q perms=%+v err=%v\n", e.Line, e.Key.Type(), e.Comment, *p, err)
	}
	for _, err := range errs {
		fmt.Fprintf(&b, "error: %v\n", err)
	}
	return b.String()
}

func TestParseGolden(t *testing.T) {
	data, err := os.ReadFile("testdata/authorized_keys")
	if err != nil {
		t.Fatal(err)
	}
	got := summary(Parse(data))
	golden := filepath.Join("testdata", "authorized_keys.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("parse result differs from %s (run with -update if intended):\n got:\n%s\nwant:\n%s", golden, got, want)
	}
}

func TestParseLine(t *testing.T) {
	key := testKeyText(t)
	tests := []struct {
		name    string
		line    string
		perms   Perms
		comment string
		err     string // substring; "" means success
	}{
		{name: "bare key", line: key, perms: Perms{}},
		{name: "comment", line: key + "  user@host  ", comment: "user@host"},
		{name: "leading blanks", line: " \t" + key},
		{name: "tab separated", line: "no-pty\t" + key + "\tc", perms: Perms{NoPTY: true}, comment: "c"},
		{name: "restrict", line: "restrict " + key, perms: Perms{NoPTY: true, NoPortForwarding: true, NoAgentForwarding: true, NoX11Forwarding: true, NoUserRC: true}},
		{name: "restrict then pty", line: "restrict,pty " + key, perms: Perms{NoPortForwarding: true, NoAgentForwarding: true, NoX11Forwarding: true, NoUserRC: true}},
		{name: "restrict then port-forwarding", line: "restrict,port-forwarding " + key, perms: Perms{NoPTY: true, NoAgentForwarding: true, NoX11Forwarding: true, NoUserRC: true}},
		{name: "case-insensitive names", line: "No-PTY,NO-X11-FORWARDING " + key, perms: Perms{NoPTY: true, NoX11Forwarding: true}},
		{name: "no-port-forwarding", line: "no-port-forwarding " + key, perms: Perms{NoPortForwarding: true}},
		{name: "no-agent-forwarding", line: "no-agent-forwarding " + key, perms: Perms{NoAgentForwarding: true}},
		{name: "agent-forwarding after restrict", line: "restrict,agent-forwarding,x11-forwarding,user-rc " + key, perms: Perms{NoPTY: true, NoPortForwarding: true}},
		{name: "command", line: `command="echo hi" ` + key, perms: Perms{Command: "echo hi", HasCommand: true}},
		{name: "command with quote", line: `command="echo \"a,b c\"" ` + key, perms: Perms{Command: `echo "a,b c"`, HasCommand: true}},
		{name: "command keeps other backslashes", line: `command="a\\b\n" ` + key, perms: Perms{Command: `a\\b\n`, HasCommand: true}},
		{name: "empty command", line: `command="" ` + key, perms: Perms{HasCommand: true}},
		{name: "environment", line: `environment="A=1",environment="B=x y" ` + key, perms: Perms{Environment: []string{"A=1", "B=x y"}}},
		{name: "from", line: `from="10.0.0.0/8,!10.1.2.3,*.lab" ` + key, perms: Perms{From: []string{"10.0.0.0/8", "!10.1.2.3", "*.lab"}}},
		{name: "permitopen", line: `permitopen="h:22",permitopen="[::1]:*" ` + key, perms: Perms{PermitOpen: []string{"h:22", "[::1]:*"}}},
		{name: "permitlisten", line: `permitlisten="8080",permitlisten="localhost:*" ` + key, perms: Perms{PermitListen: []string{"8080", "localhost:*"}}},
		{name: "unknown option", line: "no-such-thing " + key, err: `unknown option "no-such-thing"`},
		{name: "cert-authority", line: "cert-authority " + key, perms: Perms{CertAuthority: true}},
		{name: "principals", line: `cert-authority,principals="alice,ops" ` + key, perms: Perms{CertAuthority: true, Principals: []string{"alice", "ops"}, HasPrincipals: true}},
		{name: "last principals counts", line: `principals="a",cert-authority,principals="b" ` + key, perms: Perms{CertAuthority: true, Principals: []string{"b"}, HasPrincipals: true}},
		{name: "principals without cert-authority", line: `principals="alice" ` + key, err: "needs cert-authority"},
		{name: "expiry-time UTC", line: `expiry-time="20300102Z" ` + key, perms: Perms{Expiry: time.Date(2030, 1, 2, 0, 0, 0, 0, time.UTC)}},
		{name: "expiry-time earliest counts", line: `expiry-time="203001021530z",EXPIRY-TIME="20291231235959UTC" ` + key, perms: Perms{Expiry: time.Date(2029, 12, 31, 23, 59, 59, 0, time.UTC)}},
		{name: "bad expiry-time", line: `expiry-time="2030-01-02" ` + key, err: "want YYYYMMDD"},
		{name: "expiry-time out of range", line: `expiry-time="20301302Z" ` + key, err: "not a valid time"},
		{name: "tunnel refused aloud", line: `tunnel="0" ` + key, err: `unknown option "tunnel"`},
		{name: "unquoted value", line: "command=ls " + key, err: "double quotes"},
		{name: "missing close quote", line: `command="ls ` + key, err: "missing closing quote"},
		{name: "value on flag", line: `no-pty="1" ` + key, err: "takes no value"},
		{name: "flag without value", line: `command ` + key, err: "needs a quoted value"},
		{name: "bad environment", line: `environment="NOEQUALS" ` + key, err: "want NAME=value"},
		{name: "bad cidr", line: `from="10.0.0.0/33" ` + key, err: "bad CIDR"},
		{name: "bad permitopen port", line: `permitopen="h:http" ` + key, err: "bad port"},
		{name: "permitopen without port", line: `permitopen="h" ` + key, err: "missing port"},
		{name: "two commands", line: `command="a",command="b" ` + key, err: "twice"},
		{name: "options only", line: "no-pty", err: "not followed by a key"},
		{name: "empty option", line: ",no-pty " + key, err: "empty option name"},
		{name: "garbage after quote", line: `command="a"x ` + key, err: "unexpected"},
		{name: "bad base64", line: "ssh-ed25519 !!!!", err: "decode"},
		{name: "type mismatch", line: "ssh-rsa " + strings.Fields(key)[1], err: "does not match"},
		{name: "missing key data", line: "ssh-ed25519", err: "missing key"},
		{name: "blank", line: "   ", err: ErrNoKey.Error()},
		{name: "comment line", line: "# ssh-ed25519 AAAA", err: ErrNoKey.Error()},
		{name: "newline inside", line: key + "\nmore", err: "newline"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, err := ParseLine(tt.line)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseLine(%q) error = %v, want one containing %q", tt.line, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseLine(%q): %v", tt.line, err)
			}
			p, err := Compile(e.Options)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*p, tt.perms) {
				t.Errorf("perms = %+v, want %+v", *p, tt.perms)
			}
			if e.Comment != tt.comment {
				t.Errorf("comment = %q, want %q", e.Comment, tt.comment)
			}
			again, err := ParseLine(e.String())
			if err != nil || !sameEntry(e, again) {
				t.Errorf("round trip of %q via %q: %+v, %v", tt.line, e.String(), again, err)
			}
		})
	}
}

func TestParseReportsLines(t *testing.T) {
	key := testKeyText(t)
	entries, errs := Parse([]byte("# c\n" + key + "\nbogus " + key + "\r\n\n" + "no-pty " + key + "\r\n"))
	if len(entries) != 2 || entries[0].Line != 2 || entries[1].Line != 5 {
		t.Fatalf("entries = %+v", entries)
	}
	var le *LineError
	if len(errs) != 1 || !errors.As(errs[0], &le) || le.Line != 3 {
		t.Fatalf("errs = %v, want one error for line 3", errs)
	}
}

func TestMatchFrom(t *testing.T) {
	tests := []struct {
		name     string
		patterns []string
		addr     string
		host     string
		want     bool
	}{
		{"exact ip", []string{"192.0.2.1"}, "192.0.2.1", "", true},
		{"other ip", []string{"192.0.2.1"}, "192.0.2.2", "", false},
		{"wildcard ip", []string{"192.0.2.*"}, "192.0.2.77", "", true},
		{"question mark", []string{"192.0.2.?"}, "192.0.2.7", "", true},
		{"question mark one char", []string{"192.0.2.?"}, "192.0.2.17", "", false},
		{"cidr v4", []string{"10.0.0.0/8"}, "10.200.3.4", "", true},
		{"cidr v4 outside", []string{"10.0.0.0/8"}, "11.0.0.1", "", false},
		{"cidr v6", []string{"2001:db8::/32"}, "2001:db8::5", "", true},
		{"v4-mapped v6 client", []string{"127.0.0.0/8"}, "::ffff:127.0.0.1", "", true},
		{"negation wins", []string{"10.0.0.0/8", "!10.0.0.66"}, "10.0.0.66", "", false},
		{"negation first", []string{"!10.0.0.66", "10.0.0.0/8"}, "10.0.0.66", "", false},
		{"negation other", []string{"10.0.0.0/8", "!10.0.0.66"}, "10.0.0.65", "", true},
		{"only negation", []string{"!10.0.0.66"}, "10.0.0.65", "", false},
		{"host name", []string{"*.lab"}, "198.18.0.1", "vm1.LAB", true},
		{"host name no dns", []string{"*.lab"}, "198.18.0.1", "", false},
		{"negated host", []string{"*", "!bad.lab"}, "198.18.0.1", "bad.lab", false},
		{"star", []string{"*"}, "198.18.0.1", "", true},
		{"bad cidr refuses", []string{"10.0.0.0/99", "*"}, "10.0.0.1", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := MatchFrom(tt.patterns, netip.MustParseAddr(tt.addr), tt.host); got != tt.want {
				t.Errorf("MatchFrom(%q, %s, %q) = %v, want %v", tt.patterns, tt.addr, tt.host, got, tt.want)
			}
		})
	}
}

func TestWildcard(t *testing.T) {
	tests := []struct {
		pat, s string
		want   bool
	}{
		{"", "", true}, {"*", "", true}, {"a*", "abc", true}, {"*c", "abc", true}, {"a*c", "ac", true},
		{"a*b*c", "axxbyyc", true}, {"a*b*c", "axxbyy", false}, {"?", "", false}, {"LC_*", "lc_all", true},
		{"*a*a*a*a*b", strings.Repeat("a", 40), false},
	}
	for _, tt := range tests {
		t.Run(tt.pat+"~"+tt.s, func(t *testing.T) {
			if got := Wildcard(tt.pat, tt.s); got != tt.want {
				t.Errorf("Wildcard(%q, %q) = %v, want %v", tt.pat, tt.s, got, tt.want)
			}
		})
	}
}

func TestAllowsOpenAndListen(t *testing.T) {
	p := &Perms{PermitOpen: []string{"127.0.0.1:22", "db.lab:*", "[::1]:80"}, PermitListen: []string{"8080", "localhost:9000", "*.lab:*"}}
	open := []struct {
		host string
		port int
		want bool
	}{
		{"127.0.0.1", 22, true}, {"127.0.0.1", 23, false}, {"DB.lab", 5432, true}, {"::1", 80, true}, {"10.0.0.1", 22, false},
	}
	for _, tt := range open {
		if got := p.AllowsOpen(tt.host, tt.port); got != tt.want {
			t.Errorf("AllowsOpen(%s, %d) = %v, want %v", tt.host, tt.port, got, tt.want)
		}
	}
	listen := []struct {
		host string
		port int
		want bool
	}{
		{"", 8080, true}, {"0.0.0.0", 8080, true}, {"", 9000, true}, {"localhost", 9000, true}, {"127.0.0.1", 9000, false},
		{"x.lab", 1, true}, {"", 8081, false},
	}
	for _, tt := range listen {
		if got := p.AllowsListen(tt.host, tt.port); got != tt.want {
			t.Errorf("AllowsListen(%q, %d) = %v, want %v", tt.host, tt.port, got, tt.want)
		}
	}
	off := &Perms{NoPortForwarding: true}
	if off.AllowsOpen("127.0.0.1", 22) || off.AllowsListen("", 8080) {
		t.Error("no-port-forwarding still allows forwarding")
	}
	if !(&Perms{}).AllowsOpen("anything", 1) || !(&Perms{}).AllowsListen("", 1) {
		t.Error("no options should allow forwarding")
	}
}

func sameEntry(a, b Entry) bool {
	return reflect.DeepEqual(a.Options, b.Options) && a.Comment == b.Comment &&
		bytes.Equal(a.Key.Marshal(), b.Key.Marshal())
}

func FuzzAuthorizedKeys(f *testing.F) {
	data, err := os.ReadFile("testdata/authorized_keys")
	if err != nil {
		f.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		f.Add(l)
	}
	f.Fuzz(func(t *testing.T, line string) {
		e, err := ParseLine(line)
		Parse([]byte(line)) // the whole-file path must not panic either
		if err != nil {
			return
		}
		printed := e.String()
		again, err := ParseLine(printed)
		if err != nil {
			t.Fatalf("ParseLine(%q) ok, but its print %q fails: %v", line, printed, err)
		}
		if !sameEntry(e, again) {
			t.Fatalf("round trip changed the entry:\n in  %q\n out %q", line, printed)
		}
		if _, err := Compile(e.Options); err != nil {
			t.Fatalf("accepted line has options that do not compile: %v", err)
		}
	})
}
