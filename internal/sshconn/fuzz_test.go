package sshconn

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzKnownHosts feeds arbitrary known_hosts files and host names to the
// parser and matcher: no panic, and every entry kept must re-parse from its
// own line to the same key.
func FuzzKnownHosts(f *testing.F) {
	seed, err := os.ReadFile(filepath.Join("testdata", "known_hosts.seed"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed, "example.test")
	f.Add(seed, "[example.test]:2222")
	f.Add([]byte("*?*?*?*?*?*?*?*?*?a ssh-ed25519 AAAA\n"), strings.Repeat("b", 64))
	f.Fuzz(func(t *testing.T, data []byte, name string) {
		entries := parseKnownHosts(data, "fuzz", nil)
		src := strings.Split(string(data), "\n")
		for _, e := range entries {
			if e.Line < 1 || e.Line > len(src) {
				t.Fatalf("line %d out of range", e.Line)
			}
			again, ok, err := parseKnownHostsLine([]byte(src[e.Line-1]))
			if err != nil || !ok || !keysEqual(again.Key, e.Key) || again.Hosts != e.Hosts {
				t.Fatalf("line %d does not re-parse: %v", e.Line, err)
			}
			matchHostField(e.Hosts, name)
		}
		kh := &knownHosts{entries: entries}
		for _, e := range kh.forHost(name) {
			check([]khEntry{e}, e.Key)
		}
	})
}

func TestWildcardMatch(t *testing.T) {
	t.Parallel()
	cases := []struct {
		pat, s string
		want   bool
	}{
		{"*", "anything", true},
		{"*.test", "a.b.test", true},
		{"*.test", "test", false},
		{"h?st", "host", true},
		{"h?st", "hst", false},
		{"[*.test]:*", "[a.test]:2222", true},
		{"a*b*c", "aXXbYYc", true},
		{"a*b*c", "aXXbYY", false},
		{"", "", true},
	}
	for _, tc := range cases {
		t.Run(tc.pat+"~"+tc.s, func(t *testing.T) {
			if got := wildcardMatch(tc.pat, tc.s); got != tc.want {
				t.Errorf("wildcardMatch(%q, %q) = %v", tc.pat, tc.s, got)
			}
		})
	}
}

func TestMatchHostField(t *testing.T) {
	t.Parallel()
	cases := []struct {
		field, name string
		want        bool
	}{
		{"a.test,b.test", "b.test", true},
		{"*.test,!bad.test", "bad.test", false},
		{"*.test,!bad.test", "good.test", true},
		{"A.TEST", "a.test", true},
		{"|1|F1E1KeoE/eEWhi10WpGv4OdiO6Y=|3988QV0VE8wmZL7suNrYQLITLCg=", "example.test", false},
	}
	for _, tc := range cases {
		t.Run(tc.field+"~"+tc.name, func(t *testing.T) {
			if got := matchHostField(tc.field, tc.name); got != tc.want {
				t.Errorf("matchHostField(%q, %q) = %v", tc.field, tc.name, got)
			}
		})
	}
}

func TestParseKnownHostsSkipsBadLines(t *testing.T) {
	t.Parallel()
	seed, err := os.ReadFile(filepath.Join("testdata", "known_hosts.seed"))
	if err != nil {
		t.Fatal(err)
	}
	es := parseKnownHosts(seed, "seed", nil)
	var got []int
	for _, e := range es {
		got = append(got, e.Line)
	}
	want := []int{2, 3, 4, 5, 6}
	if len(got) != len(want) {
		t.Fatalf("lines kept = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("lines kept = %v, want %v", got, want)
		}
	}
}
