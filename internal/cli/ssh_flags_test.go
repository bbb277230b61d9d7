package cli

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func noStat(string) error { return nil }

func TestParseSSHArgs(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		dest    string
		user    string
		command []string
		opts    []string // "Key=Value" of options(), in order
		err     string
	}{
		{name: "plain", args: []string{"h"}, dest: "h"},
		{name: "user@host", args: []string{"bob@h"}, dest: "h", user: "bob"},
		{name: "last @ splits", args: []string{"a@b@h"}, dest: "h", user: "a@b"},
		{name: "clustered flags", args: []string{"-NTv", "h"}, dest: "h",
			opts: []string{"LogLevel=DEBUG1", "SessionType=none", "RequestTTY=no"}},
		{name: "attached argument", args: []string{"-L8080:h:80", "-p2222", "h"}, dest: "h",
			opts: []string{"LocalForward=8080 [h]:80", "Port=2222"}},
		{name: "options after destination", args: []string{"h", "-p", "7", "ls", "-l"}, dest: "h",
			command: []string{"ls", "-l"}, opts: []string{"Port=7"}},
		{name: "double dash ends options", args: []string{"--", "h", "-p", "7"}, dest: "h", command: []string{"-p", "7"}},
		{name: "first -p wins", args: []string{"-p", "1", "-p", "2", "h"}, dest: "h", opts: []string{"Port=1"}},
		{name: "-tt forces", args: []string{"-tt", "h"}, dest: "h", opts: []string{"RequestTTY=force"}},
		{name: "-v thrice", args: []string{"-vvv", "h"}, dest: "h", opts: []string{"LogLevel=DEBUG3"}},
		{name: "-q then -v", args: []string{"-q", "-v", "h"}, dest: "h", opts: []string{"LogLevel=DEBUG1"}},
		{name: "-l after user@host is ignored", args: []string{"bob@h", "-l", "al"}, dest: "h", user: "bob"},
		{name: "-l before user@host stays", args: []string{"-l", "al", "bob@h"}, dest: "h", user: "bob",
			opts: []string{"User=al"}},
		{name: "uri", args: []string{"ssh://u@h:99"}, dest: "h", user: "u"},
		{name: "-W sets no tty and no session", args: []string{"-W", "v:22", "h"}, dest: "h",
			opts: []string{"RequestTTY=no", "SessionType=none"}},
		{name: "-o kept whole", args: []string{"-oUser=z", "h"}, dest: "h", opts: []string{"=User=z"}},
		{name: "unknown flag", args: []string{"-Z", "h"}, err: "unknown option -- Z"},
		{name: "missing argument", args: []string{"-l"}, err: "option requires an argument -- l"},
		{name: "no destination", args: []string{"-v"}, err: "usage"},
		{name: "empty user", args: []string{"@h"}, err: "usage"},
		{name: "bad port", args: []string{"-p", "x", "h"}, err: "Bad port 'x'"},
		{name: "bad escape", args: []string{"-e", "ab", "h"}, err: "Bad escape character 'ab'."},
		{name: "two -J", args: []string{"-J", "a", "-J", "b", "h"}, err: "Only a single -J option is permitted"},
		{name: "bad -J", args: []string{"-J", "a,,b", "h"}, err: "Invalid -J argument"},
		{name: "bad -W", args: []string{"-W", "nope", "h"}, err: "Bad stdio forwarding specification 'nope'"},
		{name: "bad -O", args: []string{"-O", "frob", "h"}, err: "Invalid multiplex command."},
		{name: "bad -w", args: []string{"-w", "x", "h"}, err: "Bad tun device 'x'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := parseSSHArgs(tt.args, "/home/u", noStat, nil)
			if tt.err != "" {
				var ae *sshArgError
				if !errors.As(err, &ae) {
					t.Fatalf("err = %v, want an sshArgError with %q", err, tt.err)
				}
				if tt.err == "usage" {
					if !ae.usage {
						t.Fatalf("err %q does not ask for the usage text", ae.msg)
					}
					return
				}
				if !strings.Contains(ae.msg, tt.err) {
					t.Fatalf("err = %q, want %q", ae.msg, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if a.Dest != tt.dest || a.DestUser != tt.user {
				t.Errorf("dest %q user %q, want %q %q", a.Dest, a.DestUser, tt.dest, tt.user)
			}
			if !reflect.DeepEqual(a.Command, tt.command) && (len(a.Command) > 0 || len(tt.command) > 0) {
				t.Errorf("command %q, want %q", a.Command, tt.command)
			}
			var got []string
			for _, o := range a.CommandLine() {
				got = append(got, o.Key+"="+o.Value)
			}
			if !reflect.DeepEqual(got, tt.opts) && (len(got) > 0 || len(tt.opts) > 0) {
				t.Errorf("options %q, want %q", got, tt.opts)
			}
		})
	}
}

func TestMissingIdentityFileWarns(t *testing.T) {
	a, err := parseSSHArgs([]string{"-i", "~/.ssh/nope", "h"}, "/home/u", func(string) error {
		return errors.New("No such file or directory")
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := "Warning: Identity file /home/u/.ssh/nope not accessible: No such file or directory."
	if len(a.warnings) != 1 || a.warnings[0] != want {
		t.Fatalf("warnings %q, want %q", a.warnings, want)
	}
	if len(a.CommandLine()) != 0 {
		t.Fatalf("a missing identity file was still passed on: %v", a.CommandLine())
	}
}

// FuzzSSHArgs: no command line panics the parser, and one that parses
// names a destination (or asks only for -V/-Q).
func FuzzSSHArgs(f *testing.F) {
	for _, s := range []string{"h", "-NTv\x00h", "-L8080:h:80\x00h\x00ls", "-W\x00[::1]:22\x00h", "ssh://u@h:1", "-J\x00a,b\x00h", "-o\x00User=x\x00h", "--\x00h", "-e\x00^A\x00h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		args := strings.Split(s, "\x00")
		a, err := parseSSHArgs(args, "/home/u", noStat, nil)
		if err != nil {
			var ae *sshArgError
			if !errors.As(err, &ae) {
				t.Fatalf("%q: error of type %T: %v", args, err, err)
			}
			if ae.msg == "" && !ae.usage {
				t.Fatalf("%q: an error with nothing to say", args)
			}
			return
		}
		if a.Dest == "" && !a.version && a.query == "" && !strings.Contains(s, "ssh://") {
			// ssh(1) accepts an empty destination string ("ssh ''").
			for _, x := range args {
				if x == "" || strings.HasSuffix(x, "@") {
					return
				}
			}
			t.Fatalf("%q parsed without a destination", args)
		}
		a.CommandLine()
	})
}
