package bench

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jumpgate/jumpgate/internal/lab"
	"github.com/jumpgate/jumpgate/internal/lab/labtest"
	"github.com/jumpgate/jumpgate/internal/sshtest"
)

func TestParseKex(t *testing.T) {
	t.Parallel()
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	tests := []struct {
		name string
		in   string
		want []string
		join string
	}{
		{"openssh default, direct", read("kex-openssh-default.txt"), []string{"sntrup761x25519-sha512"}, "sntrup761x25519-sha512"},
		{"openssh forced, two hops", read("kex-openssh-vm1.txt"), []string{"curve25519-sha256", "curve25519-sha256", "curve25519-sha256"}, "curve25519-sha256"},
		{"none", "debug1: Authenticated to hyper1\n", nil, Unknown},
		{"empty", "", nil, Unknown},
		{"crlf from a raw terminal", "debug1: kex: algorithm: curve25519-sha256\r\n", []string{"curve25519-sha256"}, "curve25519-sha256"},
		{"hops differ", "debug1: kex: algorithm: a\ndebug1: kex: algorithm: b\ndebug1: kex: algorithm: a\n", []string{"a", "b", "a"}, "a+b"},
		{"not the algorithm line", "debug1: kex: host key algorithm: ssh-ed25519\ndebug1: kex: algorithm: \n", nil, Unknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := ParseKex([]byte(tt.in))
			if !slices.Equal(got, tt.want) {
				t.Errorf("ParseKex = %q, want %q", got, tt.want)
			}
			if j := JoinKex(got); j != tt.join {
				t.Errorf("JoinKex = %q, want %q", j, tt.join)
			}
		})
	}
}

func FuzzParseKex(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "kex-*.txt"))
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("debug1: kex: algorithm: x\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		kex := ParseKex(b)
		for _, k := range kex {
			if k == "" || strings.ContainsAny(k, "\n") || strings.TrimSpace(k) != k {
				t.Errorf("ParseKex returned %q", k)
			}
		}
		if j := JoinKex(kex); j == "" || (len(kex) == 0) != (j == Unknown) {
			t.Errorf("JoinKex(%q) = %q", kex, j)
		}
	})
}

func TestConnectVerdict(t *testing.T) {
	t.Parallel()
	ms := time.Millisecond
	results := []Result{{Row: Row{Name: "hyper1 (direct)"}, A: []time.Duration{9 * ms}, B: []time.Duration{10 * ms}}}
	tests := []struct {
		name string
		kex  Sides
		want string
	}{
		{"same", Sides{"c", "c"}, "every row within target ratio ≤ 1.00, same key exchange on both sides"},
		{"differ", Sides{"c", "s"}, "every row within target ratio ≤ 1.00; key exchange not the same or not known on both sides for hyper1"},
		{"unknown", Sides{Unknown, Unknown}, "key exchange not the same or not known on both sides for hyper1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rows := []ConnectRow{{Target: Target{"hyper1", 0}, Kex: tt.kex}}
			if got := ConnectVerdict(rows, results, 1.0); !strings.HasSuffix(got, tt.want) {
				t.Errorf("ConnectVerdict = %q, want suffix %q", got, tt.want)
			}
		})
	}
}

// jumpgateClient returns the jumpgate side for lab tests: jumpgate ssh
// from a fresh build.
func jumpgateClient(tb testing.TB) Client {
	tb.Helper()
	return Client{Name: "jumpgate", Argv: []string{labtest.Binary(tb), "ssh"}}
}

// needOpenSSH skips interop tests without OpenSSH or under -short.
func needOpenSSH(tb testing.TB) string {
	tb.Helper()
	sshtest.RequireOpenSSH(tb)
	p, err := exec.LookPath("ssh")
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

func newConnect(tb testing.TB, l *lab.Lab, a, b Client) *Connect {
	tb.Helper()
	dir, err := os.MkdirTemp("/run", "jumpgate-bench-test-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	c, err := NewConnect(ConnectOptions{Lab: l, A: a, B: b, Dir: dir})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

// TestConnectLab runs the connect rows against Debian's sshd: every row
// reaches its host through its hops, with the forced key exchange on every
// connection, a fresh one each run.
func TestConnectLab(t *testing.T) {
	openssh := needOpenSSH(t)
	l := labtest.New(t, lab.Options{Server: lab.OpenSSH})
	ossh := Client{Name: "OpenSSH", Argv: []string{openssh}}
	jg := jumpgateClient(t)
	c := newConnect(t, l, jg, ossh)
	ctx := context.Background()

	t.Run("hostname through the hops", func(t *testing.T) {
		for _, client := range []Client{jg, ossh} {
			for _, tg := range ConnectTargets() {
				argv := c.Argv(client, tg.Host, false)
				argv[len(argv)-1] = "hostname >&2"
				out, err := c.Run(ctx, argv)
				if err != nil {
					t.Fatal(err)
				}
				if got := strings.TrimSpace(string(out)); got != tg.Host {
					t.Errorf("%s to %s: hostname %q", client.Name, tg.Name(), got)
				}
			}
		}
	})

	t.Run("kex forced on every hop", func(t *testing.T) {
		out, err := c.Run(ctx, c.Argv(ossh, "vm1", true))
		if err != nil {
			t.Fatal(err)
		}
		if got := ParseKex(out); !slices.Equal(got, []string{DefaultKex, DefaultKex, DefaultKex}) {
			t.Errorf("OpenSSH to vm1 negotiated %q, want %s on all three connections", got, DefaultKex)
		}
	})

	t.Run("trace", func(t *testing.T) {
		lines, err := c.Trace(ctx, c.Argv(ossh, "hyper2", true))
		if err != nil {
			t.Fatal(err)
		}
		var kex int
		for i, l := range lines {
			if i > 0 && l.At < lines[i-1].At {
				t.Errorf("line %d at %v, before the one above (%v)", i, l.At, lines[i-1].At)
			}
			if strings.HasPrefix(l.Text, kexPrefix) {
				kex++
			}
		}
		if kex != 2 {
			t.Errorf("%d kex lines in the trace to hyper2, want 2 (hop and target):\n%s", kex, Text(lines))
		}
		var b strings.Builder
		WriteTrace(&b, "ssh -v hyper2", lines)
		if !strings.Contains(b.String(), "ms debug1: kex: algorithm: "+DefaultKex) {
			t.Errorf("WriteTrace:\n%s", b.String())
		}
	})

	t.Run("rows", func(t *testing.T) {
		rows, err := c.Rows(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 3 {
			t.Fatalf("%d rows, want 3", len(rows))
		}
		for _, r := range rows {
			if r.Kex.A != DefaultKex || r.Kex.B != DefaultKex {
				t.Errorf("%s: kex jumpgate %q, OpenSSH %q; want %s on both", r.Name, r.Kex.A, r.Kex.B, DefaultKex)
			}
			if !strings.HasPrefix(r.Note, "kex ") {
				t.Errorf("%s: note %q", r.Name, r.Note)
			}
		}
		before := accepted(t, l.LogFile("hyper1"))
		plain := []Row{rows[0].Row}
		res, err := Compare(ctx, plain, 2, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(res[0].A) != 2 || len(res[0].B) != 2 || res[0].Ratio() <= 0 {
			t.Errorf("result %+v", res[0])
		}
		// warm-up and two rounds, two sides: six fresh logins.
		if got := accepted(t, l.LogFile("hyper1")) - before; got != 6 {
			t.Errorf("hyper1 accepted %d logins during 3 rounds, want 6 (one per run)", got)
		}
	})

	t.Run("a failing client is an error with its stderr", func(t *testing.T) {
		_, err := c.Run(ctx, c.Argv(ossh, "lan1", false))
		if err == nil || !strings.Contains(err.Error(), "lan1 true: exit status 255") {
			t.Errorf("err = %v", err)
		}
	})
}

// accepted counts sshd's "Accepted publickey" lines.
func accepted(tb testing.TB, log string) int {
	tb.Helper()
	b, err := os.ReadFile(log)
	if err != nil {
		tb.Fatal(err)
	}
	return strings.Count(string(b), "Accepted publickey")
}

// BenchmarkConnect runs each connect row once per side per iteration in a
// lab of Debian sshd servers and reports each row's jumpgate/OpenSSH ratio
// of medians.
func BenchmarkConnect(b *testing.B) {
	openssh := needOpenSSH(b)
	l := labtest.New(b, lab.Options{Server: lab.OpenSSH})
	c := newConnect(b, l, jumpgateClient(b), Client{Name: "OpenSSH", Argv: []string{openssh}})
	rows, err := c.Rows(context.Background(), nil)
	if err != nil {
		b.Fatal(err)
	}
	results := make([]Result, len(rows))
	for b.Loop() {
		for i, r := range rows {
			for _, side := range []struct {
				v   Variant
				out *[]time.Duration
			}{{r.A, &results[i].A}, {r.B, &results[i].B}} {
				d, err := timeOnce(context.Background(), side.v)
				if err != nil {
					b.Fatalf("%s, %s: %v", r.Name, side.v.Name, err)
				}
				*side.out = append(*side.out, d)
			}
		}
	}
	for i, r := range rows {
		b.ReportMetric(results[i].Ratio(), r.Target.Host+"-ratio")
		b.ReportMetric(float64(Median(results[i].A).Microseconds())/1000, r.Target.Host+"-jumpgate-ms")
		b.ReportMetric(float64(Median(results[i].B).Microseconds())/1000, r.Target.Host+"-openssh-ms")
	}
}
