// Package procstat reads a process's /proc/PID/stat (proc(5)): its state,
// parent and start time, which together with the pid name one process
// across pid reuse, and the CPU time it and its reaped children used.
package procstat

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Stat is the part of /proc/PID/stat that we use.
type Stat struct {
	PID   int
	Comm  string // the command name, without its parentheses
	State byte   // 'R', 'S', 'D', 'Z', 'X', …
	PPID  int
	// StartTime is when the process started, in clock ticks since boot
	// (field 22): with the pid, it tells a process from a later one that
	// got the same pid.
	StartTime uint64
	// UTime and STime are the CPU time the process spent in user and
	// kernel mode, CUTime and CSTime its waited-for children's (and
	// theirs), in clock ticks (fields 14-17).
	UTime, STime, CUTime, CSTime uint64
}

// ticksPerSecond is USER_HZ, the unit of /proc's times: 100 on every
// architecture Linux reports them for.
const ticksPerSecond = 100

// CPU is the CPU time of the process and of the children it reaped.
func (s Stat) CPU() time.Duration {
	return time.Duration(s.UTime+s.STime+s.CUTime+s.CSTime) * (time.Second / ticksPerSecond)
}

// Read reads and parses /proc/pid/stat.
func Read(pid int) (Stat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return Stat{}, err
	}
	st, err := Parse(b)
	if err != nil {
		return Stat{}, fmt.Errorf("parse /proc/%d/stat: %w", pid, err)
	}
	return st, nil
}

// Parse parses the contents of a /proc/PID/stat file.
func Parse(b []byte) (Stat, error) {
	// The command name (field 2) may hold spaces and parentheses: it runs
	// from the first '(' to the last ')', and later fields are counted
	// from there.
	open := bytes.IndexByte(b, '(')
	end := bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return Stat{}, errors.New("no command name")
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b[:open])))
	if err != nil {
		return Stat{}, fmt.Errorf("pid: %w", err)
	}
	f := strings.Fields(string(b[end+1:]))
	if len(f) < 20 {
		return Stat{}, fmt.Errorf("%d fields after the command name, want at least 20", len(f))
	}
	if len(f[0]) != 1 {
		return Stat{}, fmt.Errorf("state %q is not one letter", f[0])
	}
	ppid, err := strconv.Atoi(f[1])
	if err != nil {
		return Stat{}, fmt.Errorf("parent pid: %w", err)
	}
	start, err := strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return Stat{}, fmt.Errorf("start time: %w", err)
	}
	var cpu [4]uint64
	for i := range cpu {
		if cpu[i], err = strconv.ParseUint(f[11+i], 10, 64); err != nil {
			return Stat{}, fmt.Errorf("cpu time: %w", err)
		}
	}
	return Stat{PID: pid, Comm: string(b[open+1 : end]), State: f[0][0], PPID: ppid, StartTime: start,
		UTime: cpu[0], STime: cpu[1], CUTime: cpu[2], CSTime: cpu[3]}, nil
}

// Tree reads root and every live process descended from it, root first.
// A process that ends while Tree reads /proc is left out.
func Tree(root int) ([]Stat, error) {
	r, err := Read(root)
	if err != nil {
		return nil, err
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	children := map[int][]Stat{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == root {
			continue
		}
		if st, err := Read(pid); err == nil {
			children[st.PPID] = append(children[st.PPID], st)
		}
	}
	tree := []Stat{r}
	for i := 0; i < len(tree); i++ {
		tree = append(tree, children[tree[i].PID]...)
	}
	return tree, nil
}

// TreeCPU is the CPU time of root, its live descendants and every
// descendant they reaped: between two reads, what the tree used, as long
// as no process in it ended unreaped by another in it.
func TreeCPU(root int) (time.Duration, error) {
	tree, err := Tree(root)
	var d time.Duration
	for _, st := range tree {
		d += st.CPU()
	}
	return d, err
}

// StartTime is when pid started, in clock ticks since boot: with the pid,
// it tells a process from a later one that got the same pid.
func StartTime(pid int) (uint64, error) {
	st, err := Read(pid)
	return st.StartTime, err
}
