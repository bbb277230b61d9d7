package lab

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseStat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file      string
		wantStart uint64
		wantState byte
	}{
		{"stat-paren.txt", 987654, 'S'}, // a command name with spaces and ')'
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			start, state, err := parseStat(b)
			if err != nil || start != tt.wantStart || state != tt.wantState {
				t.Errorf("parseStat = %d %c %v, want %d %c", start, state, err, tt.wantStart, tt.wantState)
			}
		})
	}
	for _, bad := range []string{"", "1 (x", "1 (x) S 1 2", "1 (x) S" + strings.Repeat(" z", 25)} {
		if _, _, err := parseStat([]byte(bad)); err == nil {
			t.Errorf("parseStat(%q) did not fail", bad)
		}
	}
	if start, _, err := procStart(os.Getpid()); err != nil || start == 0 || !sameProcess(os.Getpid(), start) || sameProcess(os.Getpid(), start+1) {
		t.Errorf("procStart(self) = %d, %v; sameProcess disagrees", start, err)
	}
}

func FuzzParseStat(f *testing.F) {
	ents, _ := os.ReadDir("testdata")
	for _, e := range ents {
		if b, err := os.ReadFile(filepath.Join("testdata", e.Name())); err == nil && strings.HasPrefix(e.Name(), "stat-") {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		parseStat(b) // must not panic
	})
}

func FuzzParseServerKind(f *testing.F) {
	for _, s := range []string{"openssh", "jumpgate", "sshd", "", "OpenSSH"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParseServerKind(s)
		if err != nil {
			return
		}
		if back, err := ParseServerKind(k.String()); err != nil || back != k {
			t.Errorf("round trip %q → %v → %v, %v", s, k, back, err)
		}
	})
}

// TestSSHConfig checks the generated client configuration against a
// golden file (regenerate with -update).
func TestSSHConfig(t *testing.T) {
	t.Parallel()
	l := &Lab{dir: "/run/jumpgate/lab/jg", m: manifest{Name: "jg"}}
	got := l.sshConfig() + "\n# known by the lab:\n# " + strings.ReplaceAll(strings.TrimSpace(l.sshdConfig("vm1", true)), "\n", "\n# ") + "\n"
	golden := filepath.Join("testdata", "ssh_config.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if got != string(want) {
		t.Errorf("ssh_config differs from %s (run go test -update):\n%s", golden, got)
	}
}
