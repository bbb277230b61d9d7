package cli

// --persist across a link flap, and `jumpgate vpn status`, in the lab.

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jumpgate/jumpgate/internal/vpn"
)

// status runs `jumpgate vpn status --json` on the laptop.
func (v *vpnLab) status(t testing.TB) []vpn.Record {
	t.Helper()
	cmd := v.l.Command(context.Background(), "laptop", v.bin, "vpn", "status", "--json")
	cmd.Env = labEnv("XDG_RUNTIME_DIR=" + v.runtimeDir)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("vpn status --json: %v\n%s", err, out)
	}
	var recs []vpn.Record
	if err := json.Unmarshal(out, &recs); err != nil {
		t.Fatalf("vpn status --json: %v\n%s", err, out)
	}
	return recs
}

// waitLine waits for a line of p's stderr containing substr.
func (p *vpnProc) waitLine(t testing.TB, substr string, d time.Duration) string {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case l, ok := <-p.lines:
			if !ok {
				t.Fatalf("%v ended waiting for %q:\n%s", p.cmd.Args, substr, p.errText())
			}
			if strings.Contains(l, substr) {
				return l
			}
		case <-deadline:
			t.Fatalf("no %q from %v within %s:\n%s", substr, p.cmd.Args, d, p.errText())
		}
	}
}

// TestVPNLabPersist flaps the laptop's cable under a --persist tunnel: the
// keepalives notice, the tunnel is restored once the cable is back (after
// sshd drops the old tunnel), it carries traffic again, and neither end
// has a device more than one tunnel's. vpn status follows it throughout.
func TestVPNLabPersist(t *testing.T) {
	v := newVPNLab(t)
	laptop0, hyper0 := v.links(t, "laptop"), v.links(t, "hyper1")
	if recs := v.status(t); len(recs) != 0 {
		t.Fatalf("vpn status before any tunnel: %+v", recs)
	}

	p, _ := v.startVPN(t, "-o", "ServerAliveInterval=1", "-o", "ServerAliveCountMax=2", "hyper1", "--l3", "--persist")
	v.ping(t, "laptop", "198.19.252.2")
	recs := v.status(t)
	if len(recs) != 1 {
		t.Fatalf("vpn status with one tunnel: %+v", recs)
	}
	r := recs[0]
	if r.PID != p.cmd.Process.Pid || r.Target != "hyper1" || r.Mode != "l3" || r.State != "up" ||
		r.Transport != "tun@openssh.com" || r.Device != "jgtun0" || r.Address != "198.19.252.1/30" ||
		!strings.HasPrefix(r.RemoteDevice, "tun") || r.RemoteAddress != "198.19.252.2/30" || r.MTU != 1500 {
		t.Errorf("vpn status: %+v", r)
	}
	// The rates are live: iperf3 traffic shows within two updates.
	v.start(t, "iperf3", "-s")
	v.udp(t, "198.19.252.2")
	for i := 0; ; i++ {
		recs := v.status(t)
		if len(recs) == 1 && recs[0].TxBytes > 512<<10 && recs[0].RxBytes > 0 {
			break
		}
		if i == 30 {
			t.Errorf("vpn status after 1 MB of UDP: %+v", recs)
			break
		}
		time.Sleep(100 * time.Millisecond)
	}

	// The flap: down until the keepalives give up, then up again.
	v.hostOutput(t, "laptop", "ip", "link", "set", "eth0", "down")
	t.Cleanup(func() { v.l.Command(context.Background(), "laptop", "ip", "link", "set", "eth0", "up").Run() })
	p.waitLine(t, "lost", 20*time.Second)
	t.Logf("%s: lost", time.Now().Format(time.StampMilli))
	for i := 0; ; i++ {
		recs := v.status(t)
		if len(recs) == 1 && recs[0].State == "reconnecting" {
			break
		}
		if i == 50 {
			t.Errorf("vpn status while the cable is out: %+v", recs)
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("%s: cable back", time.Now().Format(time.StampMilli))
	v.hostOutput(t, "laptop", "ip", "link", "set", "eth0", "up")
	p.waitLine(t, "restored", 60*time.Second)

	v.ping(t, "laptop", "198.19.252.2")
	if b := v.banner(t, "198.19.252.2:22"); !strings.HasPrefix(b, "SSH-2.0-OpenSSH") {
		t.Errorf("banner across the restored tunnel: %q", b)
	}
	if got, want := v.links(t, "laptop"), sortedWith(laptop0, "jgtun0"); !slices.Equal(got, want) {
		t.Errorf("laptop links with the restored tunnel: %v, want %v", got, want)
	}
	if got := v.links(t, "hyper1"); len(got) != len(hyper0)+1 {
		t.Errorf("hyper1 links with the restored tunnel: %v, before: %v (want one tun more)", got, hyper0)
	}
	if recs := v.status(t); len(recs) != 1 || recs[0].State != "up" || recs[0].Reconnects != 1 {
		t.Errorf("vpn status after the restore: %+v", recs)
	}

	p.stop(t, syscall.SIGTERM)
	t.Logf("jumpgate vpn --persist said:\n%s", p.errText())
	v.expectLinks(t, "laptop", laptop0)
	v.expectLinks(t, "hyper1", hyper0)
	if recs := v.status(t); len(recs) != 0 {
		t.Errorf("vpn status after the tunnel ended: %+v", recs)
	}
}

func sortedWith(names []string, more ...string) []string {
	out := append(slices.Clone(names), more...)
	slices.Sort(out)
	return out
}

// TestVPNLabPersistL2 flaps the laptop's cable under a --persist layer-2
// tunnel over sshd's own tap, with both address families on the near
// bridge: the near tap and bridge stay as they are, a new far tap joins
// wire once the cable is back, lan1 answers over IPv4 and IPv6 again, and
// hyper1 is left with one tap once sshd has dropped the old one.
func TestVPNLabPersistL2(t *testing.T) {
	v := newVPNLab(t)
	v.hostOutput(t, "lan1", "ip", "addr", "add", "2001:2:3::11/64", "dev", "eth0", "nodad")
	t.Cleanup(func() {
		v.l.Command(context.Background(), "lan1", "ip", "addr", "del", "2001:2:3::11/64", "dev", "eth0").Run()
	})
	laptop0, hyper0 := v.links(t, "laptop"), v.links(t, "hyper1")

	p, line := v.startVPN(t, "-o", "ServerAliveInterval=1", "-o", "ServerAliveCountMax=2", "hyper1", "--l2",
		"--remote-bridge", "wire", "--local-bridge", "virtual", "--local-addr", "198.18.3.99/24,2001:2:3::99/64", "--persist")
	m := upLine.FindStringSubmatch(line)
	if m == nil || m[1] != "l2" || m[4] != "tun@openssh.com" {
		t.Fatalf("up line %q: want l2 over tun@openssh.com", line)
	}
	v.ping(t, "laptop", "198.18.3.11")
	v.ping(t, "laptop", "2001:2:3::11")
	recs := v.status(t)
	if len(recs) != 1 || recs[0].Mode != "l2" || recs[0].State != "up" || recs[0].Transport != "tun@openssh.com" ||
		recs[0].Device != m[2] || recs[0].Bridge != "virtual" || recs[0].RemoteDevice != m[3] || recs[0].RemoteBridge != "wire" ||
		!slices.Equal(recs[0].Addresses, []string{"198.18.3.99/24", "2001:2:3::99/64"}) {
		t.Errorf("vpn status: %+v", recs)
	}

	v.hostOutput(t, "laptop", "ip", "link", "set", "eth0", "down")
	t.Cleanup(func() { v.l.Command(context.Background(), "laptop", "ip", "link", "set", "eth0", "up").Run() })
	p.waitLine(t, "lost", 20*time.Second)
	for i := 0; ; i++ { // the line comes just before the state
		recs := v.status(t)
		if len(recs) == 1 && recs[0].State == "reconnecting" {
			break
		}
		if i == 50 {
			t.Errorf("vpn status while the cable is out: %+v", recs)
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	v.hostOutput(t, "laptop", "ip", "link", "set", "eth0", "up")
	p.waitLine(t, "restored", 60*time.Second)

	v.ping(t, "laptop", "198.18.3.11")
	v.ping(t, "laptop", "2001:2:3::11")
	if b := v.banner(t, "198.18.3.11:22"); !strings.HasPrefix(b, "SSH-2.0-OpenSSH") {
		t.Errorf("banner of lan1 across the restored tunnel: %q", b)
	}
	if got, want := v.links(t, "laptop"), sortedWith(laptop0, m[2], "virtual"); !slices.Equal(got, want) {
		t.Errorf("laptop links with the restored tunnel: %v, want %v", got, want)
	}
	// The old tap goes once sshd sees the old connection's end.
	var got []string
	for range 100 {
		if got = v.links(t, "hyper1"); len(got) == len(hyper0)+1 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if len(got) != len(hyper0)+1 {
		t.Errorf("hyper1 links with the restored tunnel: %v, before: %v (want one tap more)", got, hyper0)
	}
	if recs := v.status(t); len(recs) != 1 || recs[0].State != "up" || recs[0].Reconnects != 1 || len(recs[0].Addresses) != 2 {
		t.Errorf("vpn status after the restore: %+v", recs)
	}

	p.stop(t, syscall.SIGTERM)
	v.expectLinks(t, "laptop", laptop0)
	v.expectLinks(t, "hyper1", hyper0)
	if recs := v.status(t); len(recs) != 0 {
		t.Errorf("vpn status after the tunnel ended: %+v", recs)
	}
}
