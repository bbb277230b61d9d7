package lab_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/jumpgate/jumpgate/internal/lab"
	"github.com/jumpgate/jumpgate/internal/lab/labtest"
	"github.com/jumpgate/jumpgate/internal/nstest"
)

// snapshot is the system state a lab may touch.
type snapshot struct {
	netns  []string
	links  []string
	mounts []string
}

func takeSnapshot(t *testing.T, name string) snapshot {
	t.Helper()
	var s snapshot
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		t.Fatalf("ip netns list: %v", err)
	}
	for l := range strings.Lines(string(out)) {
		if f := strings.Fields(l); len(f) > 0 && strings.HasPrefix(f[0], name+"-") {
			s.netns = append(s.netns, f[0])
		}
	}
	out, err = exec.Command("ip", "-o", "link").Output()
	if err != nil {
		t.Fatalf("ip -o link: %v", err)
	}
	for l := range strings.Lines(string(out)) {
		// "3: eth0@if2: <...> ... link/ether ..."; the index and name.
		if f := strings.Fields(l); len(f) > 1 {
			s.links = append(s.links, f[0]+f[1])
		}
	}
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for l := range strings.Lines(string(b)) {
		if strings.Contains(l, "/"+name+"-") || strings.Contains(l, "/"+name+" ") {
			s.mounts = append(s.mounts, strings.TrimSpace(l))
		}
	}
	return s
}

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

func TestUpDownLeavesNothing(t *testing.T) {
	nstest.RequireRoot(t)
	t.Parallel()
	name := labtest.UniqueName()
	before := takeSnapshot(t, name)

	ctx := context.Background()
	l, err := lab.Up(ctx, lab.Options{Name: name, Server: lab.OpenSSH, StateDir: filepath.Join(lab.BaseDir, name), Log: tlog{t}})
	if err != nil {
		t.Fatalf("up: %v", err)
	}
	downed := false
	t.Cleanup(func() {
		if !downed {
			l.Down(ctx)
		}
	})

	during := takeSnapshot(t, name)
	if want := []string{name + "-hyper1", name + "-hyper2", name + "-lan1", name + "-laptop", name + "-vm1", name + "-vm2"}; !slices.Equal(sorted(during.netns), want) {
		t.Errorf("namespaces while up = %v, want %v", during.netns, want)
	}
	if !slices.Equal(during.links, before.links) {
		t.Errorf("lab changed the root namespace's links:\nbefore %v\nduring %v", before.links, during.links)
	}
	var pids []int
	for _, h := range l.Hosts() {
		if h == "laptop" {
			if l.ServerPID(h) != 0 {
				t.Errorf("laptop has a server")
			}
			continue
		}
		pid := l.ServerPID(h)
		if pid == 0 || !l.ServerAlive(h) {
			t.Errorf("server of %s: pid %d not alive", h, pid)
		}
		pids = append(pids, pid)
	}
	for _, f := range []string{l.SSHConfig(), l.KnownHosts(), l.IdentityFile(), l.IdentityFile() + ".pub", filepath.Join(l.Dir(), "manifest.json")} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("state file: %v", err)
		}
	}
	fi, err := os.Stat(l.Dir())
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("state dir %s: mode %v, err %v; want 0700", l.Dir(), fi.Mode(), err)
	}

	// A second handle from the manifest sees the same lab and takes it down.
	o, err := lab.Open(name, l.Dir())
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	if !slices.Equal(o.Hosts(), l.Hosts()) || o.Addr("vm1") != "198.18.6.11" || o.ServerPID("vm1") != l.ServerPID("vm1") {
		t.Errorf("Open: hosts %v vm1 %s pid %d; want %v 198.18.6.11 %d", o.Hosts(), o.Addr("vm1"), o.ServerPID("vm1"), l.Hosts(), l.ServerPID("vm1"))
	}
	if err := l.Down(ctx); err != nil {
		t.Fatalf("down: %v", err)
	}
	downed = true
	if err := o.Down(ctx); err != nil {
		t.Errorf("second down (idempotent): %v", err)
	}

	after := takeSnapshot(t, name)
	if len(after.netns) != 0 {
		t.Errorf("namespaces left: %v", after.netns)
	}
	if len(after.mounts) != 0 {
		t.Errorf("mounts left: %v", after.mounts)
	}
	if !slices.Equal(after.links, before.links) {
		t.Errorf("root links changed:\nbefore %v\nafter  %v", before.links, after.links)
	}
	for _, pid := range pids {
		if alive(pid) {
			t.Errorf("server pid %d still alive", pid)
		}
	}
	if _, err := os.Stat(l.Dir()); !os.IsNotExist(err) {
		t.Errorf("state dir %s left: %v", l.Dir(), err)
	}
}

func TestCommandRunsInHost(t *testing.T) {
	l := labtest.New(t, lab.Options{Server: lab.OpenSSH})
	t.Parallel()
	tests := []struct {
		host, script, want string
	}{
		{"vm1", "hostname; echo $HOME; ls -A /root | wc -l", "vm1\n/root\n0\n"},
		{"hyper2", "hostname", "hyper2\n"},
		{"laptop", "ip -o -4 addr show dev eth0 | awk '{print $4}'", "198.18.1.1/24\n"},
		{"lan1", "ip -4 route", "198.18.3.0/24 dev eth0 proto kernel scope link src 198.18.3.11 \n"},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			var out, errOut bytes.Buffer
			cmd := l.Command(context.Background(), tt.host, "/bin/sh", "-c", tt.script)
			cmd.Stdout, cmd.Stderr = &out, &errOut
			if err := cmd.Run(); err != nil {
				t.Fatalf("run: %v\n%s", err, errOut.String())
			}
			if out.String() != tt.want {
				t.Errorf("output %q, want %q", out.String(), tt.want)
			}
		})
	}
	t.Run("unknown host", func(t *testing.T) {
		err := l.Command(context.Background(), "nosuch", "true").Run()
		if err == nil || !strings.Contains(err.Error(), "no host") {
			t.Errorf("err = %v, want no host", err)
		}
	})
}

type tlog struct{ t testing.TB }

func (w tlog) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
