package lab_test

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"

	"github.com/jumpgate/jumpgate/internal/lab"
	"github.com/jumpgate/jumpgate/internal/lab/labtest"
	"github.com/jumpgate/jumpgate/internal/nstest"
	"github.com/jumpgate/jumpgate/internal/sshtest"
)

func checkDemo(t *testing.T, o lab.DemoOptions) {
	t.Helper()
	var out bytes.Buffer
	o.Out = &out
	o.Name = labtest.UniqueName()
	o.Log = tlog{t}
	steps, err := lab.Demo(context.Background(), o)
	t.Logf("demo transcript:\n%s", out.String())
	if err != nil {
		t.Fatalf("demo: %v", err)
	}
	want := 5 // lab up, hyper1, hyper2, vm1, lab down
	if o.Client == "jumpgate" {
		want = 9 // and vm1 again, vm2, ctl list, topo
	}
	if len(steps) != want {
		t.Fatalf("demo had %d steps, want %d", len(steps), want)
	}
	if o.Client == "jumpgate" {
		for i, sub := range map[int]string{5: "\nvm2\n", 6: "\nhyper1 ", 7: "bridge virbr6 "} {
			if !strings.Contains(steps[i].Output, sub) {
				t.Errorf("step %q printed %q, want %q in it", steps[i].What, steps[i].Output, sub)
			}
		}
	}
	last := steps[3]
	if !strings.Contains(last.What, "-J hyper1,hyper2 vm1") || !strings.HasPrefix(last.Output, "vm1\nLinux ") {
		t.Errorf("vm1 step %q printed %q, want vm1 and the kernel", last.What, last.Output)
	}
	for _, s := range steps {
		if s.Took <= 0 {
			t.Errorf("step %q has no time", s.What)
		}
	}
	if !strings.Contains(out.String(), "done in") {
		t.Errorf("transcript does not finish: %q", out.String())
	}
	if netnsExists(o.Name + "-vm1") {
		t.Errorf("demo left its lab behind")
	}
}

// TestDemoOpenSSH runs the demo's machinery with OpenSSH at both ends,
// which works whatever state jumpgate's own client and server are in.
func TestDemoOpenSSH(t *testing.T) {
	sshtest.RequireOpenSSH(t)
	nstest.RequireRoot(t)
	t.Parallel()
	checkDemo(t, lab.DemoOptions{Server: lab.OpenSSH, Client: "openssh"})
}

// TestDemoJumpgateServe is the demo as shipped, but with Debian's ssh as
// the client: every host runs `jumpgate serve`.
func TestDemoJumpgateServe(t *testing.T) {
	sshtest.RequireOpenSSH(t)
	nstest.RequireRoot(t)
	t.Parallel()
	bin := labtest.Binary(t)
	if out, _ := exec.Command(bin, "serve", "--help").CombinedOutput(); strings.Contains(string(out), "not implemented") {
		t.Skipf("jumpgate serve is not implemented yet: %s", strings.TrimSpace(string(out)))
	}
	checkDemo(t, lab.DemoOptions{Server: lab.Jumpgate, Client: "openssh", Binary: bin})
}

// TestDemoAsShipped is `jumpgate lab demo` itself: jumpgate at both ends.
func TestDemoAsShipped(t *testing.T) {
	nstest.RequireRoot(t)
	t.Parallel()
	bin := labtest.Binary(t)
	for _, sub := range []string{"serve", "ssh"} {
		if out, _ := exec.Command(bin, sub, "--help").CombinedOutput(); strings.Contains(string(out), "not implemented") {
			t.Skipf("jumpgate %s is not implemented yet: %s", sub, strings.TrimSpace(string(out)))
		}
	}
	checkDemo(t, lab.DemoOptions{Server: lab.Jumpgate, Client: "jumpgate", Binary: bin})
}
