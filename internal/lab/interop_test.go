package lab_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jumpgate/jumpgate/internal/lab"
	"github.com/jumpgate/jumpgate/internal/lab/labtest"
	"github.com/jumpgate/jumpgate/internal/sshtest"
)

// TestOpenSSHThroughTwoHops runs Debian's ssh from the laptop with the
// lab's ssh_config: host keys are checked strictly, hops come from
// ProxyJump, and each host answers with its own name and an empty home.
func TestOpenSSHThroughTwoHops(t *testing.T) {
	sshtest.RequireOpenSSH(t)
	l := labtest.New(t, lab.Options{Server: lab.OpenSSH})
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"hyper1", []string{"hyper1", "hostname"}, "hyper1\n"},
		{"hyper2 via ProxyJump", []string{"hyper2", "hostname"}, "hyper2\n"},
		{"vm1 via two hops", []string{"vm1", "hostname"}, "vm1\n"},
		{"vm2 with -J", []string{"-J", "hyper1,hyper2", "vm2", "hostname"}, "vm2\n"},
		{"empty home", []string{"vm1", "echo $HOME; ls -A ~ | wc -l"}, "/root\n0\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			argv := append([]string{"ssh", "-F", l.SSHConfig(), "-o", "BatchMode=yes"}, tt.args...)
			var out, errOut bytes.Buffer
			cmd := l.Command(ctx, "laptop", argv...)
			cmd.Stdout, cmd.Stderr = &out, &errOut
			if err := cmd.Run(); err != nil {
				t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, errOut.String())
			}
			if out.String() != tt.want {
				t.Errorf("%s: output %q, want %q (stderr %q)", strings.Join(argv, " "), out.String(), tt.want, errOut.String())
			}
		})
	}
	t.Run("unknown host key refused", func(t *testing.T) {
		t.Parallel()
		// Without the lab's known_hosts, StrictHostKeyChecking refuses.
		cmd := l.Command(context.Background(), "laptop", "ssh", "-F", l.SSHConfig(),
			"-o", "BatchMode=yes", "-o", "UserKnownHostsFile=/dev/null", "hyper1", "true")
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "Host key verification failed") {
			t.Errorf("err %v, output %q; want host key verification failure", err, out)
		}
	})
}
