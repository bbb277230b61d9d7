package fleet

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParseHostsFile(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
		err      string
	}{
		{"plain", "gw1\nroot@h2\n\n  h3  \n", []string{"gw1", "root@h2", "h3"}, ""},
		{"comments and duplicates", "# fleet\nh1 # office\nh1\ngw1+vm1\n", []string{"h1", "gw1+vm1"}, ""},
		{"two on a line", "h1 h2\n", nil, "line 1: one host per line"},
		{"option", "h1\n-oProxyCommand=x\n", nil, "line 2: host \"-oProxyCommand=x\" starts with '-'"},
		{"empty", "", nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseHostsFile([]byte(tc.in))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("= %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func FuzzParseHostsFile(f *testing.F) {
	f.Add([]byte("gw1\nroot@h2 # c\n\n"))
	f.Add([]byte("a b\n-x\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		hosts, err := ParseHostsFile(b)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, h := range hosts {
			if h == "" || strings.ContainsAny(h, " \t\n#") || strings.HasPrefix(h, "-") || seen[h] {
				t.Fatalf("bad host %q in %q", h, hosts)
			}
			seen[h] = true
		}
	})
}

// TestTargets: named hosts first, then the file's, then ssh_config's; a
// missing file is named in the error.
func TestTargets(t *testing.T) {
	file := filepath.Join(t.TempDir(), "hosts")
	if err := os.WriteFile(file, []byte("h2\n# a comment\nh3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := Targets(t.Context(), []string{"h1"}, file, func() ([]string, error) { return []string{"h4"}, nil })
	if err != nil || !slices.Equal(got, []string{"h1", "h2", "h3", "h4"}) {
		t.Errorf("Targets = %q, %v", got, err)
	}
	if _, err := Targets(t.Context(), nil, file+".missing", nil); err == nil || !strings.Contains(err.Error(), "--hosts-file "+file+".missing") {
		t.Errorf("missing file: %v", err)
	}
}
