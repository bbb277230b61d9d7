package procstat

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	t.Parallel()
	rest := " 22917 4568 0 -1 4194304 124 0 0 0 0 0 0 0 20 0 1 0 464896 3133440 394"
	tests := []struct {
		name, in string
		want     Stat
		wantErr  string
	}{
		{name: "plain", in: "22961 (cat) R 22917" + rest,
			want: Stat{PID: 22961, Comm: "cat", State: 'R', PPID: 22917, StartTime: 464896}},
		{name: "spaces and parentheses in the name", in: "4242 (a) b (c)) S 1" + rest,
			want: Stat{PID: 4242, Comm: "a) b (c)", State: 'S', PPID: 1, StartTime: 464896}},
		{name: "empty name", in: "7 () Z 0" + rest + "\n",
			want: Stat{PID: 7, Comm: "", State: 'Z', PPID: 0, StartTime: 464896}},
		{name: "empty", in: "", wantErr: "no command name"},
		{name: "no closing parenthesis", in: "1 (x", wantErr: "no command name"},
		{name: "closing before opening", in: "1 )x( S", wantErr: "no command name"},
		{name: "bad pid", in: "x (x) S 1" + rest, wantErr: "pid"},
		{name: "too few fields", in: "1 (x) S 1 2", wantErr: "fields after"},
		{name: "long state", in: "1 (x) SS 1" + rest, wantErr: "state"},
		{name: "bad parent", in: "1 (x) S z" + rest, wantErr: "parent pid"},
		{name: "bad start time", in: "1 (x) S" + strings.Repeat(" 1", 18) + " z", wantErr: "start time"},
		{name: "cpu times", in: "9 (x) S 1" + strings.Repeat(" 0", 9) + " 250 30 1000 7" + strings.Repeat(" 0", 4) + " 5",
			want: Stat{PID: 9, Comm: "x", State: 'S', PPID: 1, StartTime: 5, UTime: 250, STime: 30, CUTime: 1000, CSTime: 7}},
		{name: "bad cpu time", in: "1 (x) S 1" + strings.Repeat(" 0", 9) + " -1" + strings.Repeat(" 0", 8), wantErr: "cpu time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Parse([]byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Parse(%q) = %+v, %v; want an error about %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Parse(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestParseTestdata(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file string
		want Stat
	}{
		{"stat-cat.txt", Stat{PID: 22961, Comm: "cat", State: 'R', PPID: 22917, StartTime: 464896}},
		{"stat-paren.txt", Stat{PID: 4242, Comm: "a) b (c)", State: 'S', PPID: 1, StartTime: 987654}},
	}
	for _, tt := range tests {
		b, err := os.ReadFile(filepath.Join("testdata", tt.file))
		if err != nil {
			t.Fatal(err)
		}
		if got, err := Parse(b); err != nil || got != tt.want {
			t.Errorf("%s: Parse = %+v, %v; want %+v", tt.file, got, err, tt.want)
		}
	}
}

func TestReadSelf(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	st, err := Read(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if st.PID != os.Getpid() || st.PPID != os.Getppid() || st.StartTime == 0 || st.State == 'Z' {
		t.Errorf("Read(self) = %+v; pid %d, parent %d", st, os.Getpid(), os.Getppid())
	}
	again, err := Read(os.Getpid())
	if err != nil || again.StartTime != st.StartTime {
		t.Errorf("start time changed: %d, then %d (%v)", st.StartTime, again.StartTime, err)
	}
}

// format writes st as the kernel would, with zeros for the fields we skip.
func format(st Stat) string {
	return fmt.Sprintf("%d (%s) %s %d%s %d %d %d %d%s %d 0\n", st.PID, st.Comm, []byte{st.State}, st.PPID, strings.Repeat(" 0", 9),
		st.UTime, st.STime, st.CUTime, st.CSTime, strings.Repeat(" 0", 4), st.StartTime)
}

func FuzzParse(f *testing.F) {
	ents, _ := os.ReadDir("testdata")
	for _, e := range ents {
		if b, err := os.ReadFile(filepath.Join("testdata", e.Name())); err == nil && strings.HasPrefix(e.Name(), "stat-") {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := Parse(b)
		if err != nil {
			return
		}
		// What parsed once parses the same when written back.
		again, err := Parse([]byte(format(st)))
		if err != nil || again != st {
			t.Fatalf("Parse(%q) = %+v; written back as %q it parses as %+v, %v", b, st, format(st), again, err)
		}
	})
}

func TestTree(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	// sh waits on a child of its own: the grandchild is in the tree too.
	cmd := exec.Command("sh", "-c", "sleep 30; :")
	if err := cmd.Start(); err != nil {
		t.Skip(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	// The grandchild is a forked sh until it execs sleep.
	var tree []Stat
	var sleep bool
	for range 200 {
		var err error
		if tree, err = Tree(os.Getpid()); err != nil {
			t.Fatal(err)
		}
		for _, st := range tree {
			sleep = sleep || st.PPID == cmd.Process.Pid && st.Comm == "sleep"
		}
		if sleep {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if tree[0].PID != os.Getpid() || len(tree) < 3 || tree[1].PID != cmd.Process.Pid || !sleep {
		t.Fatalf("Tree(self) = %+v: want self first, then sh (%d), then sleep under it", tree, cmd.Process.Pid)
	}
	// Spinning here shows up within a few ticks.
	deadline := time.Now().Add(5 * time.Second)
	for x := 0; ; x++ {
		if x%1e6 == 0 {
			d, err := TreeCPU(os.Getpid())
			if err == nil && d >= 50*time.Millisecond {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("TreeCPU(self) = %v, %v after 5 s of spinning", d, err)
			}
		}
	}
}
