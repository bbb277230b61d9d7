package cli

// What the VPN lab tests send across a tunnel besides TCP: ping (ICMP),
// UDP (iperf3 -u, counting what the far end received) and DHCP (dnsmasq on
// lan1's side of the far bridge, busybox udhcpc on the laptop).

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jumpgate/jumpgate/internal/shquote"
)

var pingSummary = regexp.MustCompile(`(\d+) packets transmitted, (\d+) received`)

// ping pings addr from host (with extra ping flags) and fails the test
// unless every echo came back.
func (v *vpnLab) ping(t testing.TB, host, addr string, flags ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	argv := append([]string{"ping", "-n", "-q", "-c", "3", "-i", "0.2", "-W", "2"}, flags...)
	out, err := v.l.Command(ctx, host, append(argv, addr)...).CombinedOutput()
	m := pingSummary.FindStringSubmatch(string(out))
	if err != nil || m == nil || m[1] != m[2] {
		t.Errorf("ping %s %s from %s: %v\n%s", strings.Join(flags, " "), addr, host, err, out)
	}
}

// udp sends a second of UDP from the laptop to addr (where iperf3 -s
// listens) and fails the test unless the far end received nearly all of it.
func (v *vpnLab) udp(t testing.TB, addr string) {
	t.Helper()
	out, err := v.iperfClient(t, addr, "-u", "-t", "1", "-b", "8M", "-l", "1200")
	if err != nil {
		t.Errorf("iperf3 -u to %s: %v\n%s", addr, err, out)
		return
	}
	var r struct {
		End struct {
			Sum struct {
				Packets     int     `json:"packets"`
				LostPackets int     `json:"lost_packets"`
				LostPercent float64 `json:"lost_percent"`
			} `json:"sum"`
		} `json:"end"`
	}
	if err := json.Unmarshal(out, &r); err != nil {
		t.Errorf("iperf3 -u output: %v\n%s", err, out)
		return
	}
	s := r.End.Sum
	// A busy 2-core machine drops some; none arriving, or most lost, is
	// a broken tunnel.
	if s.Packets == 0 || s.LostPercent > 20 {
		t.Errorf("UDP across the tunnel to %s: %d datagrams, %d lost (%.1f%%); iperf3 said:\n%s", addr, s.Packets, s.LostPackets, s.LostPercent, out)
	}
}

// tcpBulk copies 16 MiB each way over an SSH session to host's sshd
// reached at addr across the tunnel (OpenSSH's client, with host's key),
// and fails the test unless all of it arrived: through peer mode these
// are 64 KiB TCP segments the far kernel cuts up (TSO) with checksums it
// completes, and SSH's MAC catches any byte they got wrong.
func (v *vpnLab) tcpBulk(t testing.TB, host, addr string) {
	t.Helper()
	const n = 16 << 20
	ssh := []string{"ssh", "-F", v.cfg, "-o", "HostName=" + addr, "-o", "HostKeyAlias=" + host, "-o", "Port=22",
		"-o", "ProxyJump=none", "-o", "ControlMaster=no", "-o", "ControlPath=none", "-o", "BatchMode=yes", host}
	for _, tc := range []struct{ name, sh string }{
		{"upload", fmt.Sprintf("head -c %d /dev/zero | %s 'wc -c'", n, shquote.Join(ssh))},
		{"download", fmt.Sprintf("%s 'head -c %d /dev/zero' | wc -c", shquote.Join(ssh), n)},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		cmd := v.l.Command(ctx, "laptop", "sh", "-c", tc.sh)
		// A stalled copy ends with the whole pipeline, not just sh: ssh
		// would hold the output open and the test would wait forever.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
		cmd.WaitDelay = 5 * time.Second
		out, err := cmd.CombinedOutput()
		cancel()
		if err != nil || strings.TrimSpace(string(out)) != strconv.Itoa(n) {
			t.Errorf("TCP %s of %d bytes across the tunnel to %s (%s): %v\n%s", tc.name, n, addr, host, err, out)
		}
	}
}

// dhcpServer runs dnsmasq as a DHCP server only (no DNS) on lan1's eth0,
// handing out 198.18.3.100-149 on the wire segment, until the test ends.
// It returns the lease file; its log is v.dhcpLog.
func (v *vpnLab) dhcpServer(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("/run", "jumpgate-test-dhcp-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	leases := filepath.Join(dir, "leases")
	v.dhcpLog = filepath.Join(dir, "log")
	v.startOn(t, "lan1", "/usr/sbin/dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--port=0",
		"--interface=eth0", "--bind-interfaces", "--user=root", "--group=root", "--no-resolv", "--no-hosts",
		"--dhcp-range=198.18.3.100,198.18.3.149,255.255.255.0,10m", "--dhcp-authoritative",
		"--dhcp-leasefile="+leases, "--log-dhcp", "--log-facility="+v.dhcpLog, "--pid-file="+filepath.Join(dir, "pid"))
	return leases
}

// dhcp runs busybox's udhcpc on the laptop's iface until it has a lease,
// puts the leased address on iface (its script does only that) and returns
// it.
func (v *vpnLab) dhcp(t testing.TB, iface string) string {
	t.Helper()
	dir := t.TempDir()
	script := filepath.Join(dir, "udhcpc.script")
	lease := filepath.Join(dir, "lease")
	body := fmt.Sprintf("#!/bin/sh\n[ \"$1\" = bound ] || exit 0\nip addr add \"$ip/$mask\" dev \"$interface\"\necho \"$ip/$mask\" > %s\n", lease)
	if err := os.WriteFile(script, []byte(body), 0o700); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := v.l.Command(ctx, "laptop", "busybox", "udhcpc", "-f", "-q", "-n", "-i", iface,
		"-t", "5", "-T", "1", "-s", script).CombinedOutput()
	if err != nil {
		log, _ := os.ReadFile(v.dhcpLog)
		t.Fatalf("udhcpc on %s: %v\n%s\ndnsmasq's log:\n%s", iface, err, out, log)
	}
	b, err := os.ReadFile(lease)
	if err != nil {
		t.Fatalf("udhcpc on %s bound no address:\n%s", iface, out)
	}
	addr := strings.TrimSpace(string(b))
	ip, _, _ := strings.Cut(addr, "/")
	if n, _ := strconv.Atoi(ip[strings.LastIndexByte(ip, '.')+1:]); !strings.HasPrefix(ip, "198.18.3.") || n < 100 || n > 149 {
		t.Errorf("udhcpc leased %q, want an address of dnsmasq's range 198.18.3.100-149", addr)
	}
	return ip
}
