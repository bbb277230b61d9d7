package lab

// Starting the SSH servers. Each runs in its host's network namespace and
// in mount and UTS namespaces of its own, where its hostname is the host's
// name and /root is an empty directory of the lab's state: otherwise every
// lab host would share the machine's /root/.bashrc and hostname.
//
//	nsenter --net=/run/netns/LAB-HOST -- unshare --mount --uts --propagation slave --
//	    /bin/sh -c 'mount --bind HOME /root && hostname HOST && exec SERVER…'
//
// Every step execs, so the PID we start is the server's.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/jumpgate/jumpgate/internal/procstat"
)

// serverScript enters the server's own root and hostname, then execs it.
const serverScript = `mount --bind "$1" /root && hostname "$2" && shift 2 && exec "$@"`

// readyTimeout bounds how long a server may take to accept connections.
const readyTimeout = 15 * time.Second

// serverArgv is the command line of host's server.
func (l *Lab) serverArgv(host string, kind ServerKind, binary string) ([]string, error) {
	switch kind {
	case OpenSSH:
		sshd, err := exec.LookPath("sshd")
		if err != nil {
			sshd = "/usr/sbin/sshd"
			if _, err := os.Stat(sshd); err != nil {
				return nil, fmt.Errorf("find sshd: %w (install openssh-server, or use jumpgate servers)", err)
			}
		}
		strict := true
		if d := insecureAncestor(l.dir); d != "" {
			strict = false
			l.logf("lab: %s is group- or world-writable: sshd runs with StrictModes no", d)
		}
		conf := filepath.Join(l.hostDir(host), "sshd_config")
		if err := os.WriteFile(conf, []byte(l.sshdConfig(host, strict)), 0o600); err != nil {
			return nil, fmt.Errorf("write sshd_config: %w", err)
		}
		if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
			return nil, fmt.Errorf("create sshd privilege separation directory: %w", err)
		}
		return []string{sshd, "-D", "-e", "-f", conf}, nil
	case Jumpgate:
		bin, err := filepath.Abs(binary)
		if err != nil {
			return nil, fmt.Errorf("jumpgate binary %s: %w", binary, err)
		}
		return []string{bin, "serve",
			"--listen", "0.0.0.0:22",
			"--host-key", l.hostKey(host),
			"--authorized-keys", l.authorizedKeys(),
			"--pid-file", filepath.Join(l.hostDir(host), "server.pid"),
			"--log", l.LogFile(host),
		}, nil
	}
	return nil, fmt.Errorf("unknown server kind %v", kind)
}

// startServers starts a server on every host that has one and waits until
// all of them accept connections.
func (l *Lab) startServers(ctx context.Context, kind ServerKind, binary string) error {
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		return fmt.Errorf("find unshare (util-linux): %w", err)
	}
	for _, h := range l.m.Hosts {
		if !hostHasServer(h.Name) {
			continue
		}
		argv, err := l.serverArgv(h.Name, kind, binary)
		if err != nil {
			return err
		}
		if err := l.startServer(h, unshare, argv); err != nil {
			return err
		}
	}
	errs := make(chan error, len(l.m.Servers))
	for _, s := range l.m.Servers {
		go func() { errs <- l.waitReady(ctx, s) }()
	}
	var all []error
	for range l.m.Servers {
		if err := <-errs; err != nil {
			all = append(all, err)
		}
	}
	return errors.Join(all...)
}

func hostHasServer(name string) bool {
	for _, h := range topology() {
		if h.name == name {
			return h.server
		}
	}
	return false
}

func (l *Lab) startServer(h hostRecord, unshare string, argv []string) error {
	logf, err := os.OpenFile(l.LogFile(h.Name), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("server log for %s: %w", h.Name, err)
	}
	defer logf.Close()
	args := []string{"--net=" + h.NetnsPath, "--",
		unshare, "--mount", "--uts", "--propagation", "slave", "--",
		"/bin/sh", "-c", serverScript, "sh", filepath.Join(l.hostDir(h.Name), "home"), h.Name}
	cmd := exec.Command(nsenterPath(), append(args, argv...)...)
	cmd.Env = []string{labPath, "HOME=/root", "LANG=C.UTF-8"}
	cmd.Dir = "/"
	cmd.Stdout = logf
	cmd.Stderr = logf
	// Its own session: a Ctrl-C meant for `jumpgate lab up` or a test does
	// not reach the servers, and they outlive `lab up`. Down ends them.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start server on %s: %w", h.Name, err)
	}
	pid := cmd.Process.Pid
	done := make(chan struct{})
	l.mu.Lock()
	l.exited[pid] = done
	l.mu.Unlock()
	go func() {
		cmd.Wait()
		close(done)
	}()
	// If it exited at once, st is zero: it is recorded anyway so that
	// waitReady reports the log.
	st, _ := procstat.Read(pid)
	start := st.StartTime
	l.m.Servers = append(l.m.Servers, serverRecord{Host: h.Name, PID: pid, Start: start, Log: l.LogFile(h.Name)})
	return l.save()
}

// waitReady dials the server from its own host until it accepts.
func (l *Lab) waitReady(ctx context.Context, s serverRecord) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	addr := net.JoinHostPort(l.Addr(s.Host), "22")
	l.mu.Lock()
	done := l.exited[s.PID]
	l.mu.Unlock()
	for delay := 2 * time.Millisecond; ; delay = min(delay*2, 50*time.Millisecond) {
		dctx, dcancel := context.WithTimeout(ctx, time.Second)
		c, err := l.DialContext(dctx, s.Host, "tcp", addr)
		dcancel()
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-done:
			return fmt.Errorf("server on %s exited before accepting connections:\n%s", s.Host, tail(s.Log, 20))
		case <-ctx.Done():
			return fmt.Errorf("server on %s not accepting on %s: %w (last: %v)\n%s", s.Host, addr, ctx.Err(), err, tail(s.Log, 20))
		case <-time.After(delay):
		}
	}
}

// tail returns the last n lines of a file, indented, for error messages.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "    (no log: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "    " + strings.Join(lines, "\n    ")
}
