package bench

// Traces of the clients' -v runs: each line of stderr with the time it
// arrived, so that a slow side shows where its time goes.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"
)

// Line is a line a client wrote to stderr, At after it started.
type Line struct {
	At   time.Duration
	Text string
}

// Trace runs argv in the laptop like [Connect.Run] and returns its stderr
// as timed lines. It is not for timing whole runs: the lines come through
// a pipe, which a client's children may hold open after it exits.
func (c *Connect) Trace(ctx context.Context, argv []string) ([]Line, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stderr = w
	cmd.Dir = "/"
	start := time.Now()
	err = startInNetns(c.netns, cmd)
	w.Close()
	if err != nil {
		return nil, fmt.Errorf("start %s in the laptop: %w", argv[0], err)
	}
	done := make(chan []Line)
	go func() {
		var lines []Line
		sc := bufio.NewScanner(r)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			lines = append(lines, Line{time.Since(start), strings.TrimRight(sc.Text(), "\r")})
		}
		done <- lines
	}()
	err = cmd.Wait()
	// The client is gone; its children (OpenSSH's ProxyJump hops) get a
	// moment to finish writing, then the pipe is cut.
	var lines []Line
	select {
	case lines = <-done:
	case <-time.After(2 * time.Second):
		r.SetReadDeadline(time.Now())
		lines = <-done
	}
	if err != nil {
		if ctx.Err() != nil {
			return lines, ctx.Err()
		}
		return lines, fmt.Errorf("%s: %w%s", strings.Join(argv, " "), err, indentTail([]byte(Text(lines)), 12))
	}
	return lines, nil
}

// Text joins lines back into what the client wrote.
func Text(lines []Line) string {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l.Text)
		b.WriteByte('\n')
	}
	return b.String()
}

// WriteTrace prints lines with their times: "  +12.3ms debug1: …".
func WriteTrace(w io.Writer, title string, lines []Line) {
	fmt.Fprintf(w, "--- %s\n", title)
	for _, l := range lines {
		fmt.Fprintf(w, "%+9.1fms %s\n", float64(l.At.Microseconds())/1000, l.Text)
	}
}
