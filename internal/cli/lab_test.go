package cli

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/jumpgate/jumpgate/internal/iostreams"
	"github.com/jumpgate/jumpgate/internal/lab"
	"github.com/jumpgate/jumpgate/internal/lab/labtest"
	"github.com/jumpgate/jumpgate/internal/nstest"
)

func runJumpgate(args ...string) (code int, stdout, stderr string) {
	ios, out, errOut := iostreams.Test("")
	code = Main(context.Background(), append([]string{"jumpgate"}, args...), ios)
	return code, out.String(), errOut.String()
}

func TestLabUsage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		code    int
		wantErr string
	}{
		{"no command", []string{"lab"}, exitUsage, "Usage: jumpgate lab COMMAND"},
		{"unknown command", []string{"lab", "frob"}, exitUsage, `unknown lab command "frob"`},
		{"bad flag", []string{"lab", "up", "--nope"}, exitUsage, "unknown flag: --nope"},
		{"bad server", []string{"lab", "up", "--server", "telnet"}, exitUsage, `unknown server "telnet"`},
		{"bad client", []string{"lab", "demo", "--client", "putty"}, exitUsage, `unknown client "putty"`},
		{"exec without command", []string{"lab", "exec", "laptop"}, exitUsage, "needs a host and a command"},
		{"up with arguments", []string{"lab", "up", "extra"}, exitUsage, "takes no arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, _, errOut := runJumpgate(tt.args...)
			if code != tt.code || !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errOut, tt.code, tt.wantErr)
			}
		})
	}
	t.Run("help", func(t *testing.T) {
		t.Parallel()
		code, out, _ := runJumpgate("lab", "up", "--help")
		if code != 0 || !strings.Contains(out, "--server") {
			t.Errorf("exit %d, stdout %q; want flags", code, out)
		}
	})
}

// TestLabLifecycle drives up, status, exec and down as a user would.
func TestLabLifecycle(t *testing.T) {
	nstest.RequireRoot(t)
	t.Parallel()
	name := labtest.UniqueName()
	code, out, errOut := runJumpgate("lab", "up", "--name", name)
	t.Cleanup(func() { runJumpgate("lab", "down", "--name", name) })
	if code != 0 {
		t.Fatalf("lab up: exit %d\n%s", code, errOut)
	}
	for _, w := range []string{"vm1     198.18.6.11", name + "-laptop", "lab exec --name " + name + " laptop -- ssh -F", "ssh_config vm1 hostname"} {
		if !strings.Contains(out, w) {
			t.Errorf("lab up output lacks %q:\n%s", w, out)
		}
	}

	code, out, _ = runJumpgate("lab", "status", "--name", name, "--json")
	var st lab.Status
	if err := json.Unmarshal([]byte(out), &st); code != 0 || err != nil {
		t.Fatalf("lab status --json: exit %d, %v\n%s", code, err, out)
	}
	if len(st.Hosts) != 6 || st.Hosts[3].Name != "vm1" || !st.Hosts[3].ServerAlive || st.Hosts[0].ServerAlive {
		t.Errorf("status: %+v", st.Hosts)
	}

	tests := []struct {
		name string
		argv []string
		code int
		out  string
	}{
		{"hostname", []string{"vm2", "--", "hostname"}, 0, "vm2\n"},
		{"exit status passes through", []string{"hyper1", "--", "sh", "-c", "exit 7"}, 7, ""},
		{"without --", []string{"laptop", "ip", "-4", "-o", "route"}, 0, "198.18.1.0/24 dev eth0 proto kernel scope link src 198.18.1.1 \n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runJumpgate(append([]string{"lab", "exec", "--name", name}, tt.argv...)...)
			if code != tt.code || out != tt.out {
				t.Errorf("exit %d stdout %q (stderr %q); want %d %q", code, out, errOut, tt.code, tt.out)
			}
		})
	}

	if code, _, errOut := runJumpgate("lab", "down", "--name", name); code != 0 {
		t.Fatalf("lab down: exit %d\n%s", code, errOut)
	}
	if code, _, errOut := runJumpgate("lab", "status", "--name", name); code == 0 || !strings.Contains(errOut, "is up") {
		t.Errorf("status after down: exit %d, %q; want no lab", code, errOut)
	}
}
