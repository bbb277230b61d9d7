// Package procstat reads a process's /proc/PID/stat (proc(5)): its state,
// parent and start time, which together with the pid name one process
// across pid reuse.
package procstat

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
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
	return Stat{PID: pid, Comm: string(b[open+1 : end]), State: f[0][0], PPID: ppid, StartTime: start}, nil
}

// StartTime is when pid started, in clock ticks since boot: with the pid,
// it tells a process from a later one that got the same pid.
func StartTime(pid int) (uint64, error) {
	st, err := Read(pid)
	return st.StartTime, err
}
