package sshconn

import (
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestSplitWords(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want []string
		err  bool
	}{
		{"", nil, false},
		{"  /bin/cmd  a\tb ", []string{"/bin/cmd", "a", "b"}, false},
		{`/x '%t' "%K" '%u'`, []string{"/x", "%t", "%K", "%u"}, false},
		{`a\ b c`, []string{"a b", "c"}, false},
		{`'it\'s' "q\"" \\ \n`, []string{"it's", `q"`, `\`, `\n`}, false},
		{`a"b c"d`, []string{"ab cd"}, false},
		{`'open`, nil, true},
	} {
		got, err := splitWords(tc.in)
		if (err != nil) != tc.err || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("splitWords(%q) = %q, %v; want %q (error %v)", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestKeyTokens(t *testing.T) {
	t.Parallel()
	// The host's expansion (here: %% to %, as sshconf does) must leave
	// the key tokens, and a literal %%t, for expandKeyTokens.
	hostExpand := func(s string) string { return strings.ReplaceAll(s, "%%", "%") }
	got := expandKeyTokens(hostExpand(protectKeyTokens("%t/%K/%%t/%H")), map[byte]string{'t': "ssh-ed25519", 'K': "AAAA", 'H': "h"})
	if want := "ssh-ed25519/AAAA/%t/h"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// TestKnownHostsCommand runs a KnownHostsCommand that checks the tokens
// it was given and prints the host's key: the key is accepted; a command
// that prints it but fails, or prints nothing, adds nothing.
func TestKnownHostsCommand(t *testing.T) {
	t.Parallel()
	key := testSigner(t, "host").PublicKey()
	dir := t.TempDir()
	script := filepath.Join(dir, "khc")
	for _, tc := range []struct {
		name, body string
		ok         bool
	}{
		{"prints the key", `[ "$1" = ssh-ed25519 ] && [ "$3" = HOSTNAME ] && [ "$4" = example.test ] || exit 3; echo "$5 $1 $2"`, true},
		{"fails", `echo "$5 $1 $2"; exit 1`, false},
		{"prints nothing", `exit 0`, false},
	} {
		if err := os.WriteFile(script, []byte("#!/bin/sh\n"+tc.body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		h := pctHost{newMapHost(dir, "knownhostscommand", script+" %t %K %I %H 'example.test'")}
		cmd, err := newKnownHostsCommand(settings{h})
		if err != nil {
			t.Fatal(err)
		}
		var warn strings.Builder
		p := &hostKeyPolicy{hostName: "example.test", port: 22, strict: "yes", out: &output{w: &warn}, command: cmd, fpHash: "sha256"}
		err = p.callback("example.test:22", &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 22}, key)
		if (err == nil) != tc.ok {
			t.Errorf("%s: callback = %v (warnings %q); want ok=%v", tc.name, err, warn.String(), tc.ok)
		}
	}
}

// pctHost expands %% as sshconf does.
type pctHost struct{ *mapHost }

func (h pctHost) Expand(s string) (string, error) { return strings.ReplaceAll(s, "%%", "%"), nil }

// FuzzSplitWords: no panic, and words quoted back re-split to themselves.
func FuzzSplitWords(f *testing.F) {
	for _, s := range []string{`/x '%t' "%K" '%u'`, `a\ b c`, `'it\'s' "q\"" \\ \n`, `'open`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		words, err := splitWords(s)
		if err != nil {
			return
		}
		var b strings.Builder
		for _, w := range words {
			b.WriteString(" '" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(w) + "'")
		}
		again, err := splitWords(b.String())
		if err != nil || len(again) != len(words) {
			t.Fatalf("%q: re-split %q = %q, %v", s, b.String(), again, err)
		}
		for i := range words {
			if again[i] != words[i] {
				t.Fatalf("%q: word %d %q became %q", s, i, words[i], again[i])
			}
		}
	})
}
