package procstat

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
	return fmt.Sprintf("%d (%s) %s %d%s %d 0\n", st.PID, st.Comm, []byte{st.State}, st.PPID, strings.Repeat(" 0", 17), st.StartTime)
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
