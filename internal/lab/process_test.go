package lab

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jumpgate/jumpgate/internal/procstat"
)

func TestSameProcess(t *testing.T) {
	t.Parallel()
	st, err := procstat.Read(os.Getpid())
	if err != nil || !sameProcess(os.Getpid(), st.StartTime) || sameProcess(os.Getpid(), st.StartTime+1) {
		t.Errorf("procstat.Read(self) = %+v, %v; sameProcess disagrees", st, err)
	}
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
