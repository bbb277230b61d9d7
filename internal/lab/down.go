package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/jumpgate/jumpgate/internal/procstat"
)

// Down removes everything Up made, and only that: it ends the servers and
// any other process still inside the lab's namespaces, removes the
// namespaces (and with them every link and bridge) and the state
// directory. It is idempotent: what is already gone is skipped.
func (l *Lab) Down(ctx context.Context) error {
	err := l.teardown(ctx)
	if rerr := os.RemoveAll(l.dir); rerr != nil {
		err = errors.Join(err, fmt.Errorf("remove state dir: %w", rerr))
	}
	removeEmpty(l.m.Dirs)
	if err != nil {
		return fmt.Errorf("lab %s down: %w", l.m.Name, err)
	}
	l.logf("lab %s: down", l.m.Name)
	return nil
}

// victim is a process to end, named by PID and start time.
type victim struct {
	pid   int
	start uint64
}

// teardown ends the lab's processes and removes its namespaces.
func (l *Lab) teardown(ctx context.Context) error {
	inodes := map[uint64]bool{}
	for _, h := range l.m.Hosts {
		if ino, err := netnsInode(h.NetnsPath); err == nil {
			inodes[ino] = true
		}
	}
	seen := map[int]bool{}
	var vs []victim
	for _, s := range l.m.Servers {
		if sameProcess(s.PID, s.Start) {
			vs = append(vs, victim{s.PID, s.Start})
			seen[s.PID] = true
		}
	}
	for _, pid := range pidsInNetns(inodes) {
		if seen[pid] {
			continue
		}
		if st, err := procstat.Read(pid); err == nil {
			vs = append(vs, victim{pid, st.StartTime})
		}
	}
	if len(vs) > 0 {
		l.logf("lab %s: ending %d processes", l.m.Name, len(vs))
	}
	err := l.end(ctx, vs)
	for _, h := range l.m.Hosts {
		if rerr := removeNetns(h.NetnsPath); rerr != nil {
			err = errors.Join(err, fmt.Errorf("remove namespace %s: %w", h.Netns, rerr))
		}
	}
	return err
}

// end sends SIGTERM to vs, then SIGKILL to what is left after a grace
// period, and waits until all of them are gone.
func (l *Lab) end(ctx context.Context, vs []victim) error {
	if len(vs) == 0 {
		return nil
	}
	signal := func(sig syscall.Signal) {
		for _, v := range vs {
			if sameProcess(v.pid, v.start) {
				syscall.Kill(v.pid, sig)
			}
		}
	}
	signal(syscall.SIGTERM)
	if l.waitGone(ctx, vs, 2*time.Second) {
		return nil
	}
	signal(syscall.SIGKILL)
	if l.waitGone(ctx, vs, 5*time.Second) {
		return nil
	}
	var left []int
	for _, v := range vs {
		if sameProcess(v.pid, v.start) {
			left = append(left, v.pid)
		}
	}
	return fmt.Errorf("processes %v did not end", left)
}

// waitGone waits until none of vs is running (and this process's own
// children among them are reaped).
func (l *Lab) waitGone(ctx context.Context, vs []victim, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		gone := true
		for _, v := range vs {
			l.mu.Lock()
			done, mine := l.exited[v.pid]
			l.mu.Unlock()
			if mine {
				select {
				case <-done:
					continue
				default:
					gone = false
				}
			} else if sameProcess(v.pid, v.start) {
				gone = false
			}
		}
		if gone {
			return true
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
}
