package lab

// Running things inside lab hosts. A process that lives in a lab host is a
// child process entered with nsenter(1) (and, for servers, unshare(1) for
// its own mount and UTS namespaces); only short calls such as a dial switch
// a locked thread into a namespace and straight back.

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"

	"github.com/jumpgate/jumpgate/internal/nsexec"
	"github.com/jumpgate/jumpgate/internal/procstat"
)

// labPath is the PATH of everything run inside the lab.
const labPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Command returns a command that runs argv inside host's namespaces: its
// network namespace and, for a host whose server runs, that server's mount
// and UTS namespaces (its hostname, and its own empty /root as HOME). The
// command starts in "/" whatever its Dir, since entering a mount namespace
// moves it there: use absolute paths. An unknown host fails at Start.
func (l *Lab) Command(ctx context.Context, host string, argv ...string) *exec.Cmd {
	return l.command(ctx, host, argv)
}

// command builds argv run through nsenter in host's namespaces.
func (l *Lab) command(ctx context.Context, host string, argv []string) *exec.Cmd {
	h, ok := l.host(host)
	if !ok || len(argv) == 0 {
		// Fail at Start with a clear message rather than returning nil.
		cmd := exec.CommandContext(ctx, "/nonexistent/jumpgate-lab-host-"+host)
		cmd.Err = fmt.Errorf("lab %s: no host %q (hosts: %s) or no command", l.m.Name, host, strings.Join(l.Hosts(), ", "))
		return cmd
	}
	args := []string{"--net=" + h.NetnsPath}
	if s, ok := l.server(host); ok && sameProcess(s.PID, s.Start) {
		args = append(args,
			fmt.Sprintf("--mount=/proc/%d/ns/mnt", s.PID),
			fmt.Sprintf("--uts=/proc/%d/ns/uts", s.PID))
	}
	args = append(append(args, "--"), argv...)
	cmd := exec.CommandContext(ctx, nsenterPath(), args...)
	if host != "laptop" {
		cmd.Env = append(os.Environ(), "HOME=/root")
	}
	return cmd
}

func nsenterPath() string {
	if p, err := exec.LookPath("nsenter"); err == nil {
		return p
	}
	return "/usr/bin/nsenter"
}

// DialContext connects from inside host's network namespace, as a process
// on that host would. The connection works from any goroutine afterwards.
func (l *Lab) DialContext(ctx context.Context, host, network, addr string) (net.Conn, error) {
	h, ok := l.host(host)
	if !ok {
		return nil, fmt.Errorf("lab %s: no host %q", l.m.Name, host)
	}
	var c net.Conn
	err := nsexec.Do(h.NetnsPath, func() error {
		var err error
		var d net.Dialer
		c, err = d.DialContext(ctx, network, addr)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("dial %s from %s: %w", addr, host, err)
	}
	return c, nil
}

// sameProcess reports whether pid is still the live process that started
// at start.
func sameProcess(pid int, start uint64) bool {
	if pid <= 0 {
		return false
	}
	st, err := procstat.Read(pid)
	return err == nil && st.StartTime == start && st.State != 'Z' && st.State != 'X'
}

// netnsInode returns the inode that identifies the network namespace
// bind-mounted at path.
func netnsInode(path string) (uint64, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return 0, err
	}
	return st.Ino, nil
}

// pidsInNetns lists the processes whose network namespace is one of inodes
// (as `ip netns pids` does).
func pidsInNetns(inodes map[uint64]bool) []int {
	if len(inodes) == 0 {
		return nil
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	self := os.Getpid()
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		var st syscall.Stat_t
		if err := syscall.Stat("/proc/"+e.Name()+"/ns/net", &st); err != nil {
			continue
		}
		if inodes[st.Ino] {
			pids = append(pids, pid)
		}
	}
	return pids
}
