package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jumpgate/jumpgate/internal/iostreams"
	"github.com/jumpgate/jumpgate/internal/vlog"
)

// TestSSHOverlongValueExcerpt checks that an error quotes a short
// excerpt of an overlong value, keeping ssh(1)'s words at both ends.
func TestSSHOverlongValueExcerpt(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("9", 100000)
	cfg := filepath.Join(t.TempDir(), "cfg")
	if err := os.WriteFile(cfg, []byte("Host x\n Port "+long+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args       []string
		start, end string
	}{
		{[]string{"-G", "-p", long, "x"}, "Bad port '999", "999'\n"},
		{[]string{"-G", "-o", "Bogus" + long + "=x", "x"}, "command-line: line 0: Bad configuration option: bogus999", "999\r\n"},
		{[]string{"-G", "-F", cfg, "x"}, cfg + " line 2: Bad port '999", "999'.\r\n" + cfg + ": terminating, 1 bad configuration options\r\n"},
		{[]string{"-Q", long}, "Unsupported query \"999", "999\"\r\n"},
	} {
		t.Run(tc.start, func(t *testing.T) {
			t.Parallel()
			ios, _, stderr := iostreams.Test("")
			if code := Main(context.Background(), append([]string{"ssh"}, tc.args...), ios); code != 255 {
				t.Errorf("exit %d, want 255", code)
			}
			got := stderr.String()
			long := false
			for _, l := range strings.Split(got, "\n") {
				long = long || len(l) > vlog.MaxMessage+1
			}
			if long || !strings.HasPrefix(got, tc.start) || !strings.HasSuffix(got, tc.end) {
				t.Errorf("stderr (%d bytes) = %q", len(got), got)
			}
		})
	}
}
