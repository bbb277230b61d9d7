package topo

// Optional discovery through external tools: Open vSwitch (`ovs-vsctl
// show`) and libvirt (`virsh list`, `domiflist`, `net-list`, `net-info`).
// Neither is needed; a missing tool leaves its part of the model out.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
)

// Runner runs a command and returns its standard output.
type Runner func(ctx context.Context, name string, args ...string) ([]byte, error)

// errNotInstalled says a tool is absent, which is not a warning.
var errNotInstalled = errors.New("not installed")

// ExecRunner runs local commands; a command not on PATH is not an error
// the topology warns about.
func ExecRunner(ctx context.Context, name string, args ...string) ([]byte, error) {
	if _, err := exec.LookPath(name); err != nil {
		return nil, fmt.Errorf("%s: %w", name, errNotInstalled)
	}
	out, err := exec.CommandContext(ctx, name, args...).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && len(ee.Stderr) > 0 {
			return nil, fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(ee.Stderr)))
		}
		return nil, fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	return out, nil
}

// libvirtDownWarning is the one line for virsh without a daemon to talk
// to: a normal state on a host with libvirt's client only.
const libvirtDownWarning = "libvirt: no daemon running; domains and networks left out"

// libvirtDown says whether virsh's error means no daemon answered.
func libvirtDown(msg string) bool {
	return strings.Contains(msg, "failed to connect to the hypervisor") ||
		strings.Contains(msg, "Failed to connect socket")
}

// discoverExtras adds OVS and libvirt to t when their tools exist.
func discoverExtras(ctx context.Context, t *Topology, run Runner) {
	warn := func(err error) {
		if !errors.Is(err, errNotInstalled) {
			t.Warnings = append(t.Warnings, err.Error())
		}
	}
	if out, err := run(ctx, "ovs-vsctl", "show"); err != nil {
		warn(err)
	} else {
		t.OVS = ParseOVSShow(string(out))
	}
	out, err := run(ctx, "virsh", "-q", "list", "--all")
	if err != nil {
		if libvirtDown(err.Error()) {
			t.Warnings = append(t.Warnings, libvirtDownWarning)
			return
		}
		warn(err)
		return
	}
	lv := &Libvirt{Domains: ParseVirshList(string(out))}
	for i := range lv.Domains {
		d := &lv.Domains[i]
		out, err := run(ctx, "virsh", "-q", "domiflist", d.Name)
		if err != nil {
			warn(err)
			continue
		}
		d.Interfaces = ParseVirshDomIfList(string(out))
	}
	if out, err := run(ctx, "virsh", "-q", "net-list", "--all"); err != nil {
		warn(err)
	} else {
		lv.Networks = ParseVirshNetList(string(out))
		for i := range lv.Networks {
			n := &lv.Networks[i]
			if out, err := run(ctx, "virsh", "net-info", n.Name); err != nil {
				warn(err)
			} else {
				n.Bridge = ParseVirshNetInfo(string(out))["Bridge"]
			}
		}
	}
	t.Libvirt = lv
}

// ParseOVSShow parses `ovs-vsctl show`.
func ParseOVSShow(s string) []OVSBridge {
	var out []OVSBridge
	var br *OVSBridge
	var port *OVSPort
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		key, val, _ := strings.Cut(line, " ")
		switch {
		case key == "Bridge":
			out = append(out, OVSBridge{Name: unquote(val), Ports: []OVSPort{}})
			br, port = &out[len(out)-1], nil
		case key == "Port" && br != nil:
			br.Ports = append(br.Ports, OVSPort{Name: unquote(val)})
			port = &br.Ports[len(br.Ports)-1]
		case port == nil:
		case key == "tag:":
			port.Tag, _ = strconv.Atoi(val)
		case key == "type:":
			port.Type = val
		case key == "options:":
			if _, peer, ok := strings.Cut(val, "peer="); ok {
				port.PeerPort = unquote(strings.TrimRight(strings.SplitN(peer, ",", 2)[0], "}"))
			}
		}
	}
	return out
}

func unquote(s string) string {
	if u, err := strconv.Unquote(s); err == nil {
		return u
	}
	return s
}

// ParseVirshList parses `virsh -q list --all`: id, name, state (which may
// hold spaces, "shut off").
func ParseVirshList(s string) []Domain {
	var out []Domain
	for line := range strings.Lines(s) {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] == "Id" || strings.HasPrefix(f[0], "--") {
			continue
		}
		out = append(out, Domain{Name: f[1], State: strings.Join(f[2:], " ")})
	}
	return out
}

// ParseVirshDomIfList parses `virsh -q domiflist DOMAIN`: interface,
// type, source, model, MAC; "-" is empty.
func ParseVirshDomIfList(s string) []DomainInterface {
	var out []DomainInterface
	for line := range strings.Lines(s) {
		f := strings.Fields(line)
		if len(f) < 5 || f[0] == "Interface" || strings.HasPrefix(f[0], "--") {
			continue
		}
		for i := range f {
			if f[i] == "-" {
				f[i] = ""
			}
		}
		out = append(out, DomainInterface{Target: f[0], Type: f[1], Source: f[2], Model: f[3], MAC: strings.ToLower(f[4])})
	}
	return out
}

// ParseVirshNetList parses `virsh -q net-list --all`: name, state,
// autostart, persistent.
func ParseVirshNetList(s string) []Network {
	var out []Network
	for line := range strings.Lines(s) {
		f := strings.Fields(line)
		if len(f) < 3 || f[0] == "Name" || strings.HasPrefix(f[0], "--") {
			continue
		}
		out = append(out, Network{Name: f[0], Active: f[1] == "active", Autostart: f[2] == "yes"})
	}
	return out
}

// ParseVirshNetInfo parses `virsh net-info NETWORK`'s "Key: value" lines.
func ParseVirshNetInfo(s string) map[string]string {
	out := map[string]string{}
	for line := range strings.Lines(s) {
		k, v, ok := strings.Cut(line, ":")
		if ok {
			out[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return out
}
