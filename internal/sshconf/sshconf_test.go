package sshconf

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/jumpgate/jumpgate/internal/cfgfile"
)

func memOptions(conf string) Options {
	return Options{
		FS:         fstest.MapFS{"cfg": &fstest.MapFile{Data: []byte(conf), Mode: 0o644}},
		ConfigFile: "/cfg",
		LocalUser:  "me",
		HomeDir:    "/home/me",
		LocalHost:  "box.example.test",
		Getenv:     func(k string) string { return map[string]string{"V": "val"}[k] },
	}
}

func TestMatchPattern(t *testing.T) {
	t.Parallel()
	tests := []struct {
		s, p string
		want bool
	}{
		{"foo", "foo", true},
		{"foo", "f*", true},
		{"foo", "*o", true},
		{"foo", "f?o", true},
		{"foo", "f?", false},
		{"", "*", true},
		{"foo.example.com", "*.example.com", true},
		{"example.com", "*.example.com", false},
		{"FOO", "foo", false},
		{"abc", "a*b*c", true},
		{"abd", "a*b*c", false},
	}
	for _, tt := range tests {
		t.Run(tt.s+"~"+tt.p, func(t *testing.T) {
			t.Parallel()
			if got := matchPattern(tt.s, tt.p); got != tt.want {
				t.Errorf("matchPattern(%q, %q) = %v, want %v", tt.s, tt.p, got, tt.want)
			}
		})
	}
}

func TestMatchHostLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		host     string
		patterns []string
		want     bool
	}{
		{"positive", "db1", []string{"db*"}, true},
		{"negation wins", "db2", []string{"db*", "!db2"}, false},
		{"negation first", "db2", []string{"!db2", "db*"}, false},
		{"only negations never match", "web", []string{"!db"}, false},
		{"second pattern", "b", []string{"a", "b"}, true},
		{"no match", "c", []string{"a", "b"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := matchHostLine(tt.host, tt.patterns); got != tt.want {
				t.Errorf("matchHostLine(%q, %q) = %v, want %v", tt.host, tt.patterns, got, tt.want)
			}
		})
	}
}

func TestMatchPatternList(t *testing.T) {
	t.Parallel()
	tests := []struct {
		s, list string
		want    int
	}{
		{"alice", "alice,bob", 1},
		{"carol", "alice,bob", 0},
		{"alice", "*,!alice", -1},
		{"bob", "*,!alice", 1},
	}
	for _, tt := range tests {
		t.Run(tt.s+"~"+tt.list, func(t *testing.T) {
			t.Parallel()
			if got := matchPatternList(tt.s, tt.list, false); got != tt.want {
				t.Errorf("matchPatternList(%q, %q) = %d, want %d", tt.s, tt.list, got, tt.want)
			}
		})
	}
}

func TestTokens(t *testing.T) {
	t.Parallel()
	h, err := Resolve("Alias", memOptions("Host Alias\n HostName Real.%h.example\n User bob\n Port 2022\n"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{"%h", "real.alias.example", false},
		{"%n", "Alias", false},
		{"%p-%r-%u", "2022-bob-me", false},
		{"%L/%l", "box/box.example.test", false},
		{"%d %i %%", "/home/me 0 %", false},
		{"%k", "real.alias.example", false},
		{"~/x", "/home/me/x", false},
		{"${V}/%T", "val/NONE", false},
		{"%C", connectionHash("box.example.test", "real.alias.example", "2022", "bob"), false},
		{"%q", "", true},
		{"%", "", true},
		{"${UNSET}", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := h.Expand(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Expand(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("Expand(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestResolveFirstWinsAndMatch(t *testing.T) {
	t.Parallel()
	conf := `Host web
    User first
    IdentityFile ~/.ssh/a
Match user first host web
    Port 2200
    User ignored
Match exec "check %h"
    Compression yes
Match localuser me
    SendEnv LANG
Host *
    User last
    IdentityFile ~/.ssh/b
    UserKnownHostsFile ~/kh1 ~/kh2
`
	tests := []struct {
		name, host, key string
		exec            bool
		cmdline         []Option
		want            []string
	}{
		{"first user wins", "web", "User", false, nil, []string{"first"}},
		{"fallback", "db", "user", false, nil, []string{"last"}},
		{"match user and host", "web", "Port", false, nil, []string{"2200"}},
		{"match fails", "db", "port", false, nil, []string{"22"}},
		{"identity files accumulate", "web", "IdentityFile", false, nil, []string{"~/.ssh/a", "~/.ssh/b"}},
		{"exec true", "web", "compression", true, nil, []string{"yes"}},
		{"exec false", "web", "compression", false, nil, []string{"no"}},
		{"localuser", "db", "sendenv", false, nil, []string{"LANG"}},
		{"one-line list split", "db", "userknownhostsfile", false, nil, []string{"/home/me/kh1", "/home/me/kh2"}},
		{"command line wins", "web", "user", false, []Option{{Key: "User", Value: "cli"}}, []string{"cli"}},
		{"raw -o", "web", "port", false, []Option{{Value: "Port=9"}}, []string{"9"}},
		{"permitremoteopen none is kept", "db", "permitremoteopen", false,
			[]Option{{Key: "PermitRemoteOpen", Value: "none"}}, []string{"none"}},
		{"setenv first value of a variable wins", "db", "setenv", false,
			[]Option{{Key: "SetEnv", Value: "A=1 A=11 B=2"}}, []string{"A=1", "B=2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := memOptions(conf)
			o.CommandLine = tt.cmdline
			o.Exec = func(cmd string) bool {
				if cmd != "check "+tt.host {
					t.Errorf("exec got %q", cmd)
				}
				return tt.exec
			}
			h, err := Resolve(tt.host, o)
			if err != nil {
				t.Fatal(err)
			}
			if got := h.GetAll(tt.key); strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("GetAll(%q) = %q, want %q", tt.key, got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, conf string
		line       int
		msg        string
	}{
		{"unknown keyword", "User a\nBogus x\n", 2, "Bad configuration option: bogus"},
		{"bad flag", "BatchMode perhaps\n", 1, "unsupported option"},
		{"missing argument", "User a\n\nPort\n", 3, "no argument after keyword"},
		{"bad match", "Match nosuch x\n", 1, "Unsupported Match attribute nosuch"},
		{"extra args", "Port 22 23\n", 1, "extra arguments"},
		{"quotes", "User \"a\n", 1, "invalid quotes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Resolve("h", memOptions(tt.conf))
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want *ParseError", err)
			}
			if pe.File != "/cfg" || pe.Line != tt.line || !strings.Contains(pe.Error(), tt.msg) {
				t.Errorf("err = %q (file %q line %d), want /cfg line %d containing %q", err, pe.File, pe.Line, tt.line, tt.msg)
			}
		})
	}
}

func TestIgnoreUnknownAndWarnings(t *testing.T) {
	t.Parallel()
	h, err := Resolve("h", memOptions("IgnoreUnknown usekeychain\nUseKeychain yes\nCompressionLevel 9\n"))
	if err != nil {
		t.Fatal(err)
	}
	if w := h.Warnings(); len(w) != 1 || !strings.Contains(w[0], "Unsupported option \"compressionlevel\"") {
		t.Errorf("Warnings() = %q", w)
	}
}

// TestUnhonoured: a setting the caller cannot act on warns as ssh(1)
// warns of an option it lacks, on the command line and in a file, and
// still shows in -G; an inactive line does not warn.
func TestUnhonoured(t *testing.T) {
	t.Parallel()
	o := memOptions("Host other\n    RekeyLimit 2G\nHost *\n    RekeyLimit 1G\n    VisualHostKey no\n")
	o.CommandLine = []Option{{Value: "UpdateHostKeys=yes"}}
	o.Unhonoured = func(k, v string) bool { return k == "updatehostkeys" || k == "rekeylimit" }
	h, err := Resolve("h", o)
	if err != nil {
		t.Fatal(err)
	}
	w := h.Warnings()
	if len(w) != 2 || w[0] != `command-line line 0: Unsupported option "updatehostkeys"` ||
		!strings.HasSuffix(w[1], `line 4: Unsupported option "rekeylimit"`) {
		t.Errorf("Warnings() = %q", w)
	}
	if got := h.Get("rekeylimit"); got != "1073741824 0" {
		t.Errorf("rekeylimit = %q, still shown as set", got)
	}
}

func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "configs", "*.conf"))
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(data))
	}
	f.Add("Host *\n\tUser=\"x y\" # c\nMatch all\n")
	f.Fuzz(func(t *testing.T, conf string) {
		if len(conf) > 1<<14 {
			return
		}
		o := memOptions(conf)
		o.Exec = func(string) bool { return true }
		h, err := Resolve("fuzz.example", o)
		var pe *ParseError
		if errors.As(err, &pe) && pe.File == "/cfg" {
			n := strings.Count(conf, "\n") + 1
			if pe.Line < 1 || pe.Line > n {
				t.Fatalf("error %q has line %d outside 1..%d", err, pe.Line, n)
			}
		}
		if err == nil {
			var b strings.Builder
			if err := h.WriteG(&b); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func BenchmarkResolve(b *testing.B) {
	var conf strings.Builder
	conf.WriteString("IgnoreUnknown UseKeychain\nUseKeychain yes\n")
	for i := range 24 {
		fmt.Fprintf(&conf, "Host web%d web%d.example.com\n    HostName 10.0.%d.1\n    User deploy%d\n"+
			"    Port %d\n    IdentityFile ~/.ssh/web%d\n    LocalForward %d localhost:80\n"+
			"    ControlPath ~/.ssh/cm-%%C\n\n", i, i, i, i, 2200+i, i, 8000+i)
	}
	conf.WriteString("Match host 10.0.19.* user deploy19\n    Compression yes\n    Ciphers +aes128-cbc\n\n")
	conf.WriteString("Host *\n    ServerAliveInterval 30\n    SendEnv LANG LC_*\n    ForwardAgent no\n" +
		"    HashKnownHosts yes\n    KexAlgorithms -diffie-hellman-group14-sha256\n")
	if n := strings.Count(conf.String(), "\n"); n < 180 {
		b.Fatalf("benchmark config has %d lines", n)
	}
	o := memOptions(conf.String())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Resolve("web19", o); err != nil {
			b.Fatal(err)
		}
	}
}

func TestIsSet(t *testing.T) {
	fsys := fstest.MapFS{"etc/cfg": {Data: []byte("Host a\n\tControlMaster no\nHost b\n\tControlPath none\n")}}
	tests := []struct {
		host, key string
		want      bool
	}{
		{"a", "ControlMaster", true},
		{"a", "controlpath", false},
		{"b", "ControlPath", true},
		{"b", "controlmaster", false},
		{"c", "ControlMaster", false},
	}
	for _, tt := range tests {
		t.Run(tt.host+"/"+tt.key, func(t *testing.T) {
			h, err := Resolve(tt.host, Options{FS: fsys, ConfigFile: "/etc/cfg", HomeDir: "/root", LocalUser: "root"})
			if err != nil {
				t.Fatal(err)
			}
			if got := h.IsSet(tt.key); got != tt.want {
				t.Fatalf("IsSet(%q) = %v, want %v (value %q)", tt.key, got, tt.want, h.Get(tt.key))
			}
		})
	}
	h, err := Resolve("c", Options{FS: fsys, ConfigFile: "/etc/cfg", HomeDir: "/root", LocalUser: "root",
		CommandLine: []Option{{Value: "ControlMaster=no"}}})
	if err != nil {
		t.Fatal(err)
	}
	if !h.IsSet("controlmaster") {
		t.Fatal("a -o option does not count as set")
	}
}

// TestFileSizeLimit checks that a configuration file, included or not,
// fails on the size limit with an error naming it, as a 50 MB file once
// took gigabytes to parse.
func TestFileSizeLimit(t *testing.T) {
	t.Parallel()
	big := &fstest.MapFile{Data: []byte(strings.Repeat("# padding\n", cfgfile.Limit/10+1)), Mode: 0o644}
	for _, tc := range []struct{ name, conf, file string }{
		{"config", "", "/cfg"},
		{"include", "Include /big\n", "/big"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := memOptions(tc.conf)
			fsys := o.FS.(fstest.MapFS)
			fsys["big"] = big
			if tc.conf == "" {
				fsys["cfg"] = big
			}
			_, err := Resolve("h", o)
			var tl *cfgfile.TooLargeError
			if !errors.As(err, &tl) || tl.Name != tc.file {
				t.Fatalf("err = %v, want the size limit on %s", err, tc.file)
			}
		})
	}
}

// TestNULEndsLine checks that a NUL cuts a line where it stands, as
// ssh(1)'s C strings do: the rest is not read, not even as arguments.
func TestNULEndsLine(t *testing.T) {
	t.Parallel()
	h, err := Resolve("x", memOptions("Host x\n  User bob\x00evil\n  Hostname h\x00 extra args\n  Port 22\x00\n\x00Port 99\n"))
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"user": "bob", "hostname": "h", "port": "22"} {
		if got := h.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
}

// TestTotalSizeLimit checks that Includes of many files, each under the
// limit of one file, stop at the limit of the whole.
func TestTotalSizeLimit(t *testing.T) {
	t.Parallel()
	o := memOptions("Include /inc/*\n")
	fsys := o.FS.(fstest.MapFS)
	part := &fstest.MapFile{Data: []byte(strings.Repeat("# padding\n", cfgfile.Limit/10-1)), Mode: 0o644}
	for i := range maxTotalRead/cfgfile.Limit + 1 {
		fsys[fmt.Sprintf("inc/%02d", i)] = part
	}
	_, err := Resolve("h", o)
	if err == nil || !strings.Contains(err.Error(), "add up to more than 16 MiB") {
		t.Fatalf("err = %v, want the limit of the whole", err)
	}
}

func TestHosts(t *testing.T) {
	fsys := fstest.MapFS{
		"cfg": {Data: []byte("Host *\n  User root\nHost gw1 gw2 !bad\n  Port 2222\nHost h?? web*\nHost hyper1\n  Include /inc\nMatch host x\n  Port 1\nHost gw1\n")},
		"inc": {Data: []byte("Host vm1 *.lab\n")},
	}
	got, err := Hosts(Options{FS: fsys, WorkDir: "/", ConfigFile: "/cfg", HomeDir: "/home/u"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"gw1", "gw2", "hyper1", "vm1"}
	if !slices.Equal(got, want) {
		t.Errorf("Hosts = %q, want %q", got, want)
	}
}
