package libvirt

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// script answers virsh command lines as a hypervisor would; the real
// virsh is exercised by the lab test (lab_linux_test.go).
type script map[string]struct {
	out    string
	status int
	stderr string
}

func (s script) run(calls *[]string) Runner {
	return func(ctx context.Context, cmd string) ([]byte, error) {
		*calls = append(*calls, cmd)
		for suffix, r := range s {
			if strings.HasSuffix(cmd, suffix) {
				if r.status != 0 {
					return nil, &CommandError{Cmd: cmd, Status: r.status, Stderr: r.stderr}
				}
				return []byte(r.out), nil
			}
		}
		return nil, &CommandError{Cmd: cmd, Status: 1, Stderr: "error: unexpected command"}
	}
}

func TestAddress(t *testing.T) {
	t.Parallel()
	list := string(readTestdata(t, "list-all.txt"))
	noAgent := struct {
		out    string
		status int
		stderr string
	}{"", 1, "error: Guest agent is not responding: QEMU guest agent is not connected"}
	tests := []struct {
		name    string
		s       script
		domain  string
		want    string
		wantErr string
		calls   int
	}{
		{"agent first", script{
			"--source agent --domain guest": {out: string(readTestdata(t, "domifaddr-agent.txt"))},
		}, "guest", "198.18.6.45", "", 1},
		{"lease after agent", script{
			"--source agent --domain guest": noAgent,
			"--source lease --domain guest": {out: string(readTestdata(t, "domifaddr-lease.txt"))},
		}, "guest", "192.168.122.45", "", 2},
		{"arp after empty lease", script{
			"--source agent --domain guest": noAgent,
			"--source lease --domain guest": {out: string(readTestdata(t, "domifaddr-empty.txt"))},
			"--source arp --domain guest":   {out: " vnet0 52:54:00:a1:b2:c3 ipv4 192.168.122.46/0\n"},
		}, "guest", "192.168.122.46", "", 3},
		{"unknown domain", script{
			"--domain nope": {status: 1, stderr: "error: failed to get domain 'nope'"},
			"list --all":    {out: list},
		}, "nope", "", `no libvirt domain "nope" on hyper2; domains there: guest (running), build box (paused), old (shut off), windows 11 (in shutdown)`, 4},
		{"stopped domain", script{
			"--domain old": {status: 1, stderr: "error: Requested operation is not valid: domain is not running"},
			"list --all":   {out: list},
		}, "old", "", `libvirt domain "old" on hyper2 is shut off; domains there: guest`, 4},
		{"no virsh", script{
			"--domain guest": {status: 127, stderr: "env: 'virsh': No such file or directory"},
		}, "guest", "", "virsh not found (install libvirt-clients there)", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var calls []string
			c := &Client{Run: tt.s.run(&calls), Host: "hyper2"}
			a, err := c.Address(context.Background(), tt.domain)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
			} else if err != nil || a.String() != tt.want {
				t.Fatalf("Address = %v, %v; want %s", a, err, tt.want)
			}
			if len(calls) != tt.calls {
				t.Errorf("%d virsh calls, want %d: %q", len(calls), tt.calls, calls)
			}
			for _, c := range calls {
				if !strings.HasPrefix(c, "env LC_ALL=C virsh -q -c qemu:///system ") {
					t.Errorf("command %q", c)
				}
			}
		})
	}
}

func TestDomainErrorIsTyped(t *testing.T) {
	t.Parallel()
	var calls []string
	c := &Client{Run: script{
		"--domain old": {status: 1, stderr: "error: domain is not running"},
		"list --all":   {out: " -  old  shut off\n"},
	}.run(&calls), Host: "h"}
	_, err := c.Address(context.Background(), "old")
	var de *DomainError
	if !errors.As(err, &de) || de.State != "shut off" || len(de.Domains) != 1 {
		t.Fatalf("error %#v", err)
	}
}

func TestResolverCache(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "libvirt")
	now := time.Unix(1_700_000_000, 0)
	r := &Resolver{Cache: &Cache{Dir: dir, Now: func() time.Time { return now }}}
	connects := 0
	connect := func(context.Context) (Runner, error) {
		connects++
		var calls []string
		return script{"--source agent --domain guest": {out: string(readTestdata(t, "domifaddr-lease.txt"))}}.run(&calls), nil
	}
	resolve := func() netip.Addr {
		t.Helper()
		a, err := r.Resolve(context.Background(), "hyper2", "root@198.18.0.2:22", "guest", connect)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	t.Run("miss asks libvirt", func(t *testing.T) {
		if a := resolve(); a.String() != "192.168.122.45" || connects != 1 {
			t.Fatalf("got %v after %d connects", a, connects)
		}
	})
	t.Run("file is private", func(t *testing.T) {
		fi, err := os.Stat(dir)
		if err != nil || fi.Mode().Perm() != 0o700 {
			t.Fatalf("dir %v %v", fi.Mode(), err)
		}
		ents, _ := os.ReadDir(dir)
		if len(ents) != 1 {
			t.Fatalf("%d files", len(ents))
		}
		fi, _ = os.Stat(filepath.Join(dir, ents[0].Name()))
		if fi.Mode().Perm() != 0o600 {
			t.Fatalf("file mode %v", fi.Mode())
		}
	})
	t.Run("hit does not connect", func(t *testing.T) {
		now = now.Add(DefaultTTL - time.Second)
		if a := resolve(); a.String() != "192.168.122.45" || connects != 1 {
			t.Fatalf("got %v after %d connects", a, connects)
		}
	})
	t.Run("expired asks again", func(t *testing.T) {
		now = now.Add(2 * time.Second)
		if resolve(); connects != 2 {
			t.Fatalf("%d connects", connects)
		}
	})
	t.Run("forget", func(t *testing.T) {
		r.Cache.Forget("root@198.18.0.2:22 " + " guest")
		if _, ok := r.Cache.Get("root@198.18.0.2:22  guest"); ok {
			t.Fatal("still cached")
		}
	})
}
