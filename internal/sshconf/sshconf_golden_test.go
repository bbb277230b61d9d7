package sshconf

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "regenerate testdata/golden from Debian's ssh -G")

// The golden runs see testdata/ as root's home (/root) and
// testdata/etc-ssh as /etc/ssh, on a host named goldenHost, on both sides:
// ssh runs in a private mount and UTS namespace, we read through an FS.
const (
	goldenHost = "golden.example.test"
	goldenUser = "root"
	goldenHome = "/root"
)

var goldenEnv = map[string]string{"JG_VAR": "fromenv", "JG_DIR": "/srv/jg"}

// goldenCase is one run: the arguments after "ssh -G".
type goldenCase struct {
	args []string
}

func readCases(t testing.TB, conf string) (cases []goldenCase, noF bool) {
	data, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(l, "# args:"); ok {
			cases = append(cases, goldenCase{strings.Fields(rest)})
		}
		if strings.TrimSpace(l) == "# nof" {
			noF = true
		}
	}
	if len(cases) == 0 {
		t.Fatalf("%s: no \"# args:\" lines", conf)
	}
	return cases, noF
}

func caseArgs(name string, c goldenCase, noF bool) []string {
	var args []string
	hasF := false
	for _, a := range c.args {
		if a == "-F" {
			hasF = true
		}
	}
	if !noF && !hasF {
		args = append(args, "-F", goldenHome+"/configs/"+name+".conf")
	}
	return append(args, c.args...)
}

// runOurs resolves like `ssh -G args` would and renders the golden record.
func runOurs(t testing.TB, root string, args []string) string {
	opts := Options{
		FS:        os.DirFS(root),
		LocalUser: goldenUser,
		HomeDir:   goldenHome,
		LocalHost: goldenHost,
		Getenv:    func(k string) string { return goldenEnv[k] },
		Exec: func(cmd string) bool {
			c := exec.Command("/bin/sh", "-c", cmd)
			c.Env = envList()
			return c.Run() == nil
		},
	}
	var dest string
	for i := 0; i < len(args); i++ {
		a := args[i]
		val := func() string { i++; return args[i] }
		switch a {
		case "-F":
			opts.ConfigFile = val()
		case "-o":
			opts.CommandLine = append(opts.CommandLine, Option{Value: val()})
		case "-l":
			opts.CommandLine = append(opts.CommandLine, Option{Key: "User", Value: val()})
		case "-p":
			opts.CommandLine = append(opts.CommandLine, Option{Key: "Port", Value: val()})
		case "-J":
			opts.CommandLine = append(opts.CommandLine, Option{Key: "ProxyJump", Value: val()})
		case "-W":
			val()
			opts.StdioForward = true
			opts.CommandLine = append(opts.CommandLine, Option{Key: "RequestTTY", Value: "no"},
				Option{Key: "SessionType", Value: "none"})
		default:
			dest = a
		}
	}
	if u, h, ok := strings.Cut(dest, "@"); ok {
		opts.UserFromDestination, dest = u, h
	}
	h, err := Resolve(dest, opts)
	if err != nil {
		line := "?"
		var pe *ParseError
		if errors.As(err, &pe) && pe.Line > 0 {
			line = strconv.Itoa(pe.Line)
		}
		return fmt.Sprintf("exit 255\nerrorline %s\n", line)
	}
	var b bytes.Buffer
	if err := h.WriteG(&b); err != nil {
		t.Fatal(err)
	}
	return b.String() + "exit 0\n"
}

func envList() []string {
	env := []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=" + goldenHome, "SHELL=/bin/sh", "LC_ALL=C"}
	for k, v := range goldenEnv {
		env = append(env, k+"="+v)
	}
	return env
}

var lineRE = regexp.MustCompile(`line (\d+)`)

// runSSH runs Debian's ssh -G in private mount and UTS namespaces where
// testdata is /root and testdata/etc-ssh is /etc/ssh.
func runSSH(t testing.TB, testdata string, args []string) string {
	script := `set -e
mount --bind "$1" /root
mount --bind "$1/etc-ssh" /etc/ssh
hostname ` + goldenHost + `
shift
exec /usr/bin/ssh -G "$@" </dev/null`
	cmdArgs := append([]string{"--mount", "--uts", "--propagation", "private", "/bin/sh", "-c", script, "sh", testdata}, args...)
	c := exec.Command("unshare", cmdArgs...)
	c.Env = envList()
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &stdout, &stderr
	err := c.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return stdout.String() + "exit 0\n"
	case errors.As(err, &ee):
		line := "?"
		if m := lineRE.FindStringSubmatch(stderr.String()); m != nil {
			line = m[1]
		}
		return fmt.Sprintf("exit %d\nerrorline %s\n", ee.ExitCode(), line)
	default:
		t.Fatalf("run ssh: %v", err)
		return ""
	}
}

// fsRoot builds a directory whose root/ is testdata and etc/ssh is
// testdata/etc-ssh, so that our side sees the same paths as ssh.
func fsRoot(t testing.TB, testdata string) string {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(testdata, filepath.Join(root, "root")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(testdata, "etc-ssh"), filepath.Join(root, "etc", "ssh")); err != nil {
		t.Fatal(err)
	}
	return root
}

func canRunSSH() bool {
	if os.Geteuid() != 0 {
		return false
	}
	for _, p := range []string{"/usr/bin/ssh", "/usr/bin/unshare"} {
		if _, err := os.Stat(p); err != nil {
			return false
		}
	}
	return true
}

func TestGolden(t *testing.T) {
	testdata, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	confs, err := filepath.Glob(filepath.Join(testdata, "configs", "*.conf"))
	if err != nil || len(confs) < 25 {
		t.Fatalf("want 25+ configs in testdata/configs, have %d (%v)", len(confs), err)
	}
	root := fsRoot(t, testdata)
	live := canRunSSH() && !testing.Short()
	if *update && !live {
		t.Fatal("-update needs root, unshare and /usr/bin/ssh, and no -short")
	}
	for _, conf := range confs {
		name := strings.TrimSuffix(filepath.Base(conf), ".conf")
		t.Run(name, func(t *testing.T) {
			cases, noF := readCases(t, conf)
			var ours, theirs strings.Builder
			for _, c := range cases {
				args := caseArgs(name, c, noF)
				head := "=== ssh -G " + strings.Join(args, " ") + "\n"
				ours.WriteString(head + runOurs(t, root, args))
				if live {
					theirs.WriteString(head + runSSH(t, testdata, args))
				}
			}
			golden := filepath.Join(testdata, "golden", name+".txt")
			if *update {
				if err := os.WriteFile(golden, []byte(theirs.String()), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("read golden (regenerate with -update): %v", err)
			}
			if dir := os.Getenv("SSHCONF_DUMP_DIR"); dir != "" {
				_ = os.WriteFile(filepath.Join(dir, name+".txt"), []byte(ours.String()), 0o644)
			}
			if d := diffLines(string(want), ours.String()); d != "" {
				t.Errorf("ours differs from %s (-golden +ours):\n%s", golden, d)
			}
			if live && theirs.String() != string(want) {
				t.Errorf("ssh -G drifted from %s (-golden +ssh):\n%s", golden, diffLines(string(want), theirs.String()))
			}
		})
	}
}

// diffLines is a small line diff: it shows the lines of each side that the
// other does not have at the same place, with a few lines of context.
func diffLines(a, b string) string {
	if a == b {
		return ""
	}
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	// longest common subsequence, fine for golden-sized inputs
	n, m := len(al), len(bl)
	dp := make([][]int, n+1)
	for i := range dp {
		dp[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if al[i] == bl[j] {
				dp[i][j] = dp[i+1][j+1] + 1
			} else {
				dp[i][j] = max(dp[i+1][j], dp[i][j+1])
			}
		}
	}
	var out strings.Builder
	i, j := 0, 0
	lastHead := ""
	for i < n || j < m {
		switch {
		case i < n && j < m && al[i] == bl[j]:
			if strings.HasPrefix(al[i], "===") {
				lastHead = al[i]
			}
			i++
			j++
			continue
		case j < m && (i >= n || dp[i][j+1] >= dp[i+1][j]):
			if lastHead != "" {
				out.WriteString("  " + lastHead + "\n")
				lastHead = ""
			}
			out.WriteString("+ " + bl[j] + "\n")
			j++
		default:
			if lastHead != "" {
				out.WriteString("  " + lastHead + "\n")
				lastHead = ""
			}
			out.WriteString("- " + al[i] + "\n")
			i++
		}
	}
	return out.String()
}
