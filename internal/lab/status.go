package lab

import (
	"fmt"
	"io"
)

// Status is a lab as `lab status --json` shows it; its fields only ever
// grow.
type Status struct {
	Name     string            `json:"name"`
	Server   string            `json:"server"`
	StateDir string            `json:"state_dir"`
	SSHConf  string            `json:"ssh_config"`
	Hosts    []HostStatus      `json:"hosts"`
	Files    map[string]string `json:"files"`
	Guest    *Guest            `json:"guest,omitempty"`
}

// HostStatus is one host of a [Status].
type HostStatus struct {
	Name        string `json:"name"`
	Addr        string `json:"addr"`
	Netns       string `json:"netns"`
	ServerPID   int    `json:"server_pid,omitempty"`
	ServerAlive bool   `json:"server_alive"`
}

// Status describes the lab and its hosts.
func (l *Lab) Status() Status {
	st := Status{Name: l.Name(), Server: l.Server().String(), StateDir: l.Dir(), SSHConf: l.SSHConfig(), Guest: l.m.Guest,
		Files: map[string]string{"ssh_config": l.SSHConfig(), "known_hosts": l.KnownHosts(), "identity": l.IdentityFile()}}
	for _, h := range l.Hosts() {
		st.Hosts = append(st.Hosts, HostStatus{Name: h, Addr: l.Addr(h), Netns: l.Netns(h),
			ServerPID: l.ServerPID(h), ServerAlive: l.ServerAlive(h)})
	}
	return st
}

// WriteHosts writes the lab's hosts as a table.
func (l *Lab) WriteHosts(w io.Writer) {
	fmt.Fprintf(w, "  %-7s %-12s %-16s %s\n", "HOST", "ADDRESS", "NETNS", "SERVER")
	for _, h := range l.Hosts() {
		srv := "-"
		if pid := l.ServerPID(h); pid != 0 {
			state := "dead"
			if l.ServerAlive(h) {
				state = "alive"
			}
			srv = fmt.Sprintf("%s pid %d %s", l.Server(), pid, state)
		}
		fmt.Fprintf(w, "  %-7s %-12s %-16s %s\n", h, l.Addr(h), l.Netns(h), srv)
	}
	if g := l.m.Guest; g != nil {
		fmt.Fprintf(w, "  %-7s %-12s %-16s libvirt domain on %s (%s), jumpgate serve; reach it as %s\n",
			g.Domain, g.Addr, "-", g.Host, g.Virt, g.Target())
	}
}
