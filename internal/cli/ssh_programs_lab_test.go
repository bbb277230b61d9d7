package cli

// Lab tests of the programs that call ssh for a living (scp, sftp, rsync,
// git, Ansible) with jumpgate as their ssh, from the lab's laptop to vm1
// (two jumps) and the other hosts, against Debian's sshd. Each program runs
// in a mount namespace of its own where /usr/bin/ssh is jumpgate (scp and
// sftp run that path, not ssh from PATH) and a directory holding jumpgate
// linked as "ssh" comes first in PATH: nothing reaches OpenSSH's client
// unless a test says so. The exit codes expected on failure are the ones
// these programs give with OpenSSH's ssh, checked by hand on Debian 12.

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jumpgate/jumpgate/internal/lab"
	"github.com/jumpgate/jumpgate/internal/lab/labtest"
	"github.com/jumpgate/jumpgate/internal/nstest"
	"github.com/jumpgate/jumpgate/internal/procstat"
)

// progLab is a lab, jumpgate linked as ssh, and a file to copy around.
type progLab struct {
	l    *lab.Lab
	link string // jumpgate linked as "ssh", alone in its directory
	cfg  string // the lab's ssh_config
	home string // HOME of every program but Ansible
	data string // a few MiB of random bytes
	sum  string // data's sha256, in hex
	// name names the scratch directories of one set of runs, here
	// (dir) and remote.
	name string
	// dir is the laptop's scratch directory for name.
	dir string
}

// scratch returns p with a scratch directory named name of its own on
// the laptop, and one on vm1 and hyper2 (remote).
func (p *progLab) scratch(t *testing.T, name string) *progLab {
	t.Helper()
	q := *p
	q.name = name
	q.dir = filepath.Join(p.dir, name)
	if err := os.Mkdir(q.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"vm1", "hyper2"} {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		out, err := p.l.Command(ctx, h, "mkdir", q.remote("")).CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("mkdir on %s: %v: %s", h, err, out)
		}
	}
	return &q
}

// remote is where file goes on a remote host for p's runs.
func (p *progLab) remote(file string) string { return "/root/" + p.name + "/" + file }

// progRun says how to run a program on the laptop.
type progRun struct {
	stdin io.Reader
	env   []string // added to the base environment
	// openssh keeps OpenSSH's /usr/bin/ssh: only what is told to run the
	// link runs jumpgate.
	openssh bool
}

// bindSSH runs its arguments with $1 mounted over /usr/bin/ssh.
const bindSSH = `mount --bind "$1" /usr/bin/ssh && shift && exec "$@"`

func (p *progLab) command(ctx context.Context, o progRun, argv ...string) *exec.Cmd {
	if !o.openssh {
		argv = append([]string{"unshare", "--mount", "--propagation", "private", "--",
			"/bin/sh", "-c", bindSSH, "sh", p.link}, argv...)
	}
	cmd := p.l.Command(ctx, "laptop", argv...)
	cmd.Env = labEnv(append([]string{"HOME=" + p.home,
		"PATH=" + filepath.Dir(p.link) + ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}, o.env...)...)
	cmd.Stdin = o.stdin
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// run runs argv on the laptop to its end, within three minutes.
func (p *progLab) run(t *testing.T, o progRun, argv ...string) labResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute) // a playbook took over a minute at load 30
	defer cancel()
	return runCmd(t, p.command(ctx, o, argv...))
}

// ok fails t unless r ended with 0 and nothing on stderr: with ssh(1) these
// programs print nothing there when all went well.
func (r labResult) ok(t *testing.T, what string) {
	t.Helper()
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("%s: exit %d, stdout %q, stderr %q; want exit 0 and no stderr", what, r.code, r.stdout, r.stderr)
	}
}

// failed fails t unless r ended with code and stderr contains msg.
func (r labResult) failed(t *testing.T, what string, code int, msg string) {
	t.Helper()
	if r.code != code || !strings.Contains(r.stderr, msg) {
		t.Errorf("%s: exit %d, stderr %q; want exit %d and %q", what, r.code, r.stderr, code, msg)
	}
}

// remoteSum is the sha256 of path on host, read by the host itself.
func (p *progLab) remoteSum(t *testing.T, host, path string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := p.l.Command(ctx, host, "sha256sum", path).Output()
	if err != nil {
		t.Fatalf("sha256sum %s on %s: %v", path, host, err)
	}
	sum, _, _ := strings.Cut(string(out), " ")
	return sum
}

// wantRemote fails t unless path on host holds sum.
func (p *progLab) wantRemote(t *testing.T, host, path, sum string) {
	t.Helper()
	if got := p.remoteSum(t, host, path); got != sum {
		t.Errorf("%s:%s has sha256 %s; want %s", host, path, got, sum)
	}
}

// wantLocal fails t unless path on the laptop holds sum.
func wantLocal(t *testing.T, path, sum string) {
	t.Helper()
	if got := fileSum(t, path); got != sum {
		t.Errorf("%s has sha256 %s; want %s", path, got, sum)
	}
}

func fileSum(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// requirePrograms skips t when a program is missing, or fails it where CI
// requires every lab test to run.
func requirePrograms(t *testing.T, progs ...string) {
	t.Helper()
	for _, p := range progs {
		if _, err := exec.LookPath(p); err != nil {
			if os.Getenv(nstest.RequireRootEnv) == "1" {
				t.Fatalf("%s is not installed, and %s=1 forbids skipping (scripts/deps.sh installs it)", p, nstest.RequireRootEnv)
			}
			t.Skipf("%s is not installed (scripts/deps.sh installs it)", p)
		}
	}
}

// TestProgramsLab runs scp, sftp, rsync, git and Ansible with jumpgate as
// their ssh: data arrives intact both ways and failures end with the exit
// codes these programs document.
func TestProgramsLab(t *testing.T) {
	if testing.Short() {
		t.Skip("lab interop test skipped under -short")
	}
	t.Parallel()
	requireOpenSSH(t)
	requirePrograms(t, "scp", "sftp", "rsync", "git", "ansible", "ansible-playbook", "unshare")
	// Made before the lab, so removed after it.
	dir := t.TempDir()
	l := labtest.New(t, lab.Options{Server: lab.OpenSSH})
	p := &progLab{l: l, cfg: l.SSHConfig(), dir: dir, home: filepath.Join(dir, "home"), data: filepath.Join(dir, "data")}
	if err := os.MkdirAll(filepath.Join(dir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(p.home, 0o700); err != nil {
		t.Fatal(err)
	}
	p.link = filepath.Join(dir, "bin", "ssh")
	if err := os.Symlink(labtest.Binary(t), p.link); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 4<<20)
	rand.Read(b)
	if err := os.WriteFile(p.data, b, 0o644); err != nil {
		t.Fatal(err)
	}
	p.sum = fileSum(t, p.data)

	t.Run("ssh is jumpgate", func(t *testing.T) {
		for _, ssh := range []string{"ssh", "/usr/bin/ssh"} {
			if r := p.run(t, progRun{}, ssh, "-V"); r.code != 0 || !strings.Contains(r.stderr, "jumpgate") {
				t.Errorf("%s -V: exit %d, %q; want jumpgate's version", ssh, r.code, r.stderr)
			}
		}
	})
	if t.Failed() {
		return
	}
	t.Run("programs", func(t *testing.T) {
		t.Parallel()
		q := p.scratch(t, "programs")
		t.Run("ssh", q.testSSH)
		t.Run("scp", q.testSCP)
		t.Run("sftp", q.testSFTP)
		t.Run("rsync", q.testRsync)
		t.Run("git", q.testGit)
	})
	t.Run("ansible", p.testAnsible)
}

// testSSH reaches vm1, whose exit code comes back.
func (p *progLab) testSSH(t *testing.T) {
	t.Parallel()
	p.run(t, progRun{}, "ssh", "-F", p.cfg, "vm1", "hostname").want(t, 0, "vm1\n")
	p.run(t, progRun{}, "ssh", "-F", p.cfg, "vm1", "exit 3").want(t, 3, "")
}

// testSCP copies through `scp -S` and through scp's own ssh (which is
// /usr/bin/ssh, not a lookup in PATH), over SFTP (scp's default) and scp's
// old protocol (-O), and between two remote hosts (-3).
func (p *progLab) testSCP(t *testing.T) {
	t.Parallel()
	modes := []struct {
		name string
		args []string
	}{
		{"-S", []string{"-S", p.link}},
		{"-S -O", []string{"-S", p.link, "-O"}},
		{"default ssh", nil},
		{"default ssh -O", []string{"-O"}},
	}
	for i, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			scp := append([]string{"scp", "-q", "-F", p.cfg}, m.args...)
			remote := p.remote(fmt.Sprintf("scp-%d", i))
			down := filepath.Join(p.dir, fmt.Sprintf("scp-%d", i))
			p.run(t, progRun{}, append(scp, p.data, "vm1:"+remote)...).ok(t, "upload")
			p.wantRemote(t, "vm1", remote, p.sum)
			p.run(t, progRun{}, append(scp, "vm1:"+remote, down)...).ok(t, "download")
			wantLocal(t, down, p.sum)
			p.run(t, progRun{}, append(scp, "vm1:/root/nonexistent", down)...).
				failed(t, "missing remote file", 1, "/root/nonexistent: No such file or directory")
			p.run(t, progRun{}, append(scp, p.data, "vm1:/nonexistent/x")...).
				failed(t, "upload into a missing directory", 1, "No such file or directory")
		})
	}
	t.Run("-3", func(t *testing.T) {
		t.Parallel()
		p.run(t, progRun{}, "scp", "-q", "-F", p.cfg, p.data, "vm1:"+p.remote("scp-3")).ok(t, "upload")
		p.run(t, progRun{}, "scp", "-q", "-3", "-F", p.cfg, "vm1:"+p.remote("scp-3"), "hyper2:"+p.remote("scp-3")).ok(t, "vm1 to hyper2")
		p.wantRemote(t, "hyper2", p.remote("scp-3"), p.sum)
	})
	t.Run("unknown host", func(t *testing.T) {
		t.Parallel()
		// Over SFTP scp passes on ssh's 255; with -O it says 1.
		p.run(t, progRun{}, "scp", "-F", p.cfg, "-S", p.link, "nosuchhost:/x", p.dir).
			failed(t, "scp", 255, "ssh: Could not resolve hostname nosuchhost")
		p.run(t, progRun{}, "scp", "-O", "-F", p.cfg, "-S", p.link, "nosuchhost:/x", p.dir).
			failed(t, "scp -O", 1, "ssh: Could not resolve hostname nosuchhost")
	})
}

// testSFTP runs sftp -S in batch mode and with a remote path alone.
func (p *progLab) testSFTP(t *testing.T) {
	t.Parallel()
	down := filepath.Join(p.dir, "sftp-down")
	up := p.remote("sftp-up")
	batch := fmt.Sprintf("put %s %s\nget %s %s\n", p.data, up, up, down)
	r := p.run(t, progRun{stdin: strings.NewReader(batch)}, "sftp", "-q", "-b", "-", "-S", p.link, "-F", p.cfg, "vm1")
	r.ok(t, "batch put and get")
	p.wantRemote(t, "vm1", up, p.sum)
	wantLocal(t, down, p.sum)

	down2 := filepath.Join(p.dir, "sftp-down2")
	p.run(t, progRun{}, "sftp", "-q", "-S", p.link, "-F", p.cfg, "vm1:"+up, down2).ok(t, "sftp host:path")
	wantLocal(t, down2, p.sum)

	r = p.run(t, progRun{stdin: strings.NewReader("get /root/nonexistent " + down + "\n")},
		"sftp", "-q", "-b", "-", "-S", p.link, "-F", p.cfg, "vm1")
	r.failed(t, "batch with a failing get", 1, `File "/root/nonexistent" not found.`)
	p.run(t, progRun{stdin: strings.NewReader("ls\n")}, "sftp", "-q", "-b", "-", "-S", p.link, "-F", p.cfg, "nosuchhost").
		failed(t, "unknown host", 255, "ssh: Could not resolve hostname nosuchhost")
}

// testRsync copies with rsync -e both ways, then sends a changed file
// again, which rsync does as a delta both ways over one ssh.
func (p *progLab) testRsync(t *testing.T) {
	t.Parallel()
	e := p.link + " -F " + p.cfg
	up := p.remote("rsync-up")
	p.run(t, progRun{}, "rsync", "-e", e, p.data, "vm1:"+up).ok(t, "upload")
	p.wantRemote(t, "vm1", up, p.sum)
	down := filepath.Join(p.dir, "rsync-down")
	p.run(t, progRun{}, "rsync", "-e", e, "vm1:"+up, down).ok(t, "download")
	wantLocal(t, down, p.sum)

	// Change a few bytes in the middle of the downloaded copy and send
	// it back: the delta and checksums travel both ways.
	f, err := os.OpenFile(down, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("changed by the test"), 2<<20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	changed := fileSum(t, down)
	// -I: same size and, within a second, the same mtime as the remote
	// copy, so rsync's quick check would skip it on a fast machine.
	r := p.run(t, progRun{}, "rsync", "-I", "--stats", "-e", e, down, "vm1:"+up)
	r.ok(t, "delta upload")
	p.wantRemote(t, "vm1", up, changed)
	if m := regexp.MustCompile(`Literal data: ([\d,]+) bytes`).FindStringSubmatch(r.stdout); m == nil {
		t.Errorf("rsync --stats printed no literal data line: %q", r.stdout)
	} else if n, _ := strconv.Atoi(strings.ReplaceAll(m[1], ",", "")); n > 1<<20 {
		t.Errorf("rsync sent %d literal bytes for a 19-byte change; want a delta", n)
	}

	// rsync's documented codes: 23 for a partial transfer, 12 when the
	// remote end dies.
	p.run(t, progRun{}, "rsync", "-e", e, "vm1:/root/nonexistent", p.dir).
		failed(t, "missing remote file", 23, "No such file or directory")
	p.run(t, progRun{}, "rsync", "-e", e, "--rsync-path", "sh -c 'exit 3'", "vm1:"+up, p.dir).
		failed(t, "remote command exits 3", 12, "connection unexpectedly closed")
	// When ssh fails, rsync takes its 255 only if ssh has been reaped by
	// the time rsync sees the pipe close (a wait without blocking), and
	// says 12 otherwise: about half of each with OpenSSH's ssh too.
	r = p.run(t, progRun{}, "rsync", "-e", e, "nosuchhost:/x", p.dir)
	if (r.code != 255 && r.code != 12) || !strings.Contains(r.stderr, "ssh: Could not resolve hostname nosuchhost") {
		t.Errorf("unknown host: exit %d, stderr %q; want 255 or 12 and ssh's message", r.code, r.stderr)
	}
}

// testGit pushes a commit to a bare repository on vm1 and clones it back,
// with GIT_SSH_COMMAND naming ssh from PATH.
func (p *progLab) testGit(t *testing.T) {
	t.Parallel()
	o := progRun{env: []string{
		"GIT_SSH_COMMAND=ssh -F " + p.cfg,
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=test", "GIT_AUTHOR_EMAIL=test@example.org",
		"GIT_COMMITTER_NAME=test", "GIT_COMMITTER_EMAIL=test@example.org",
	}}
	p.run(t, o, "ssh", "-F", p.cfg, "vm1", "git init -q --bare -b main "+p.remote("repo.git")).ok(t, "git init on vm1")
	work := filepath.Join(p.dir, "git-work")
	p.run(t, o, "git", "init", "-q", "-b", "main", work).ok(t, "git init")
	data, err := os.ReadFile(p.data)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(work, "data"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	p.run(t, o, "git", "-C", work, "add", "data").ok(t, "git add")
	p.run(t, o, "git", "-C", work, "commit", "-q", "-m", "data").ok(t, "git commit")
	p.run(t, o, "git", "-C", work, "push", "-q", "vm1:"+p.remote("repo.git"), "main").ok(t, "git push")

	clone := filepath.Join(p.dir, "git-clone")
	p.run(t, o, "git", "clone", "-q", "vm1:"+p.remote("repo.git"), clone).ok(t, "git clone")
	wantLocal(t, filepath.Join(clone, "data"), p.sum)
	head := func(dir string) string {
		return strings.TrimSpace(p.run(t, o, "git", "-C", dir, "rev-parse", "HEAD").stdout)
	}
	if a, b := head(work), head(clone); a == "" || a != b {
		t.Errorf("clone's HEAD %q; want the pushed %q", b, a)
	}

	p.run(t, o, "git", "clone", "-q", "vm1:/root/nonexistent.git", filepath.Join(p.dir, "git-none")).
		failed(t, "clone of a missing repository", 128, "does not appear to be a git repository")
	p.run(t, o, "git", "ls-remote", "nosuchhost:/x").
		failed(t, "unknown host", 128, "ssh: Could not resolve hostname nosuchhost")
}

// testAnsible runs Ansible against hyper1, hyper2, vm1 and vm2 with
// jumpgate as ansible_ssh_executable and Ansible's default ssh_args
// (ControlMaster=auto, ControlPersist=60s): once with jumpgate as every
// ssh, on our engine, and once with OpenSSH's left at /usr/bin/ssh, which
// is what sftp runs for Ansible's file transfers, so that they go through
// jumpgate's masters. Both runs together open
// exactly one connection to vm2: one master each.
func (p *progLab) testAnsible(t *testing.T) {
	t.Parallel()
	before := p.accepted(t, "vm2")
	t.Run("runs", func(t *testing.T) {
		t.Run("jumpgate as every ssh, our engine", func(t *testing.T) {
			t.Parallel()
			a := p.ansible(t, false)
			a.ping()
			// Unreachable outranks failed in Ansible's exit code: 4, not 2.
			r := a.run("ansible", "-i", a.inventory, "lab:gone", "-m", "command", "-a", "sh -c 'hostname; exit 3'")
			if r.code != 4 || strings.Count(r.stdout, "| FAILED | rc=3 >>") != 4 ||
				!strings.Contains(r.stdout, "nosuchhost | UNREACHABLE!") ||
				!strings.Contains(r.stdout, "Could not resolve hostname nosuchhost") {
				t.Errorf("command exiting 3, and an unknown host: exit %d, stdout %q, stderr %q;\n"+
					"want 4, the 4 hosts FAILED with rc=3 and nosuchhost UNREACHABLE", r.code, r.stdout, r.stderr)
			}
			a.playbook("/root/ansible-jumpgate")
		})
		t.Run("openssh's sftp through jumpgate's masters", func(t *testing.T) {
			t.Parallel()
			a := p.ansible(t, true)
			a.playbook("/root/ansible-openssh")
		})
	})
	if n := p.accepted(t, "vm2") - before; n != 2 {
		t.Errorf("vm2's sshd accepted %d connections from the two Ansible runs; want 2 (one master each)", n)
	}
}

// accepted counts the connections host's sshd has accepted.
func (p *progLab) accepted(t *testing.T, host string) int {
	t.Helper()
	b, err := os.ReadFile(p.l.LogFile(host))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), "Accepted publickey for root")
}

// ansibleRun is one Ansible setup: its own HOME, hence its own masters.
type ansibleRun struct {
	t         *testing.T
	p         *progLab
	o         progRun
	home      string
	inventory string
}

func (p *progLab) ansible(t *testing.T, openssh bool) *ansibleRun {
	// Not t.TempDir: a control socket's path must fit in 108 bytes, and
	// Ansible's (with the master's temporary suffix) takes 45 of them.
	home, err := os.MkdirTemp("", "jgans")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(home) })
	q := *p
	a := &ansibleRun{t: t, p: &q, home: home, inventory: filepath.Join(home, "inventory.ini")}
	a.o = progRun{openssh: openssh, env: []string{"HOME=" + home, "ANSIBLE_NOCOLOR=1"}}
	inv := fmt.Sprintf(`[lab]
hyper1
hyper2
vm1
vm2

[gone]
nosuchhost

[all:vars]
ansible_ssh_executable=%s
ansible_ssh_common_args=-F %s
ansible_python_interpreter=/usr/bin/python3
`, p.link, p.cfg)
	if err := os.WriteFile(a.inventory, []byte(inv), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.stopMasters)
	return a
}

func (a *ansibleRun) run(argv ...string) labResult {
	a.t.Helper()
	return a.p.run(a.t, a.o, argv...)
}

// ping runs the ad-hoc ping, which starts a master per host.
func (a *ansibleRun) ping() {
	a.t.Helper()
	r := a.run("ansible", "-i", a.inventory, "lab", "-m", "ping")
	if r.code != 0 || strings.Count(r.stdout, `"ping": "pong"`) != 4 {
		a.t.Fatalf("ansible -m ping: exit %d, stdout %q, stderr %q; want 4 pongs", r.code, r.stdout, r.stderr)
	}
	a.wantMasters()
}

// wantMasters checks that there is a control socket per host.
func (a *ansibleRun) wantMasters() {
	a.t.Helper()
	if socks := a.sockets(); len(socks) != 4 {
		a.t.Errorf("control sockets: %v; want one per host", socks)
	}
}

// playbook copies the data file to dest on every host and checks it there
// with a command, through the masters ping started.
func (a *ansibleRun) playbook(dest string) {
	a.t.Helper()
	play := filepath.Join(a.home, "play.yml")
	text := fmt.Sprintf(`- hosts: lab
  gather_facts: false
  tasks:
    - name: copy the data
      ansible.builtin.copy:
        src: %s
        dest: %s
    - name: check the data
      ansible.builtin.command: sha256sum %s
      register: sum
      failed_when: sum.rc != 0 or sum.stdout.split()[0] != %q
`, a.p.data, dest, dest, a.p.sum)
	if err := os.WriteFile(play, []byte(text), 0o644); err != nil {
		a.t.Fatal(err)
	}
	r := a.run("ansible-playbook", "-i", a.inventory, play)
	recap := regexp.MustCompile(`(?m)^(hyper1|hyper2|vm1|vm2) +: ok=2 +changed=2 +unreachable=0 +failed=0 `)
	if r.code != 0 || len(recap.FindAllString(r.stdout, -1)) != 4 {
		a.t.Errorf("ansible-playbook: exit %d, stdout %q, stderr %q; want every host ok=2 changed=2", r.code, r.stdout, r.stderr)
	}
	for _, h := range []string{"hyper1", "hyper2", "vm1", "vm2"} {
		a.p.wantRemote(a.t, h, dest, a.p.sum)
	}
	a.wantMasters()
}

// sockets lists the control sockets Ansible's ssh_args made.
func (a *ansibleRun) sockets() []string {
	m, _ := filepath.Glob(filepath.Join(a.home, ".ansible", "cp", "*"))
	return m
}

// stopMasters ends the masters Ansible left behind for ControlPersist:
// asked with -O exit, then by PID if still there.
func (a *ansibleRun) stopMasters() {
	for _, sock := range a.sockets() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		out, _ := exec.CommandContext(ctx, a.p.link, "-o", "ControlPath="+sock, "-O", "check", "x").CombinedOutput()
		exec.CommandContext(ctx, a.p.link, "-o", "ControlPath="+sock, "-O", "exit", "x").Run()
		cancel()
		m := regexp.MustCompile(`pid=(\d+)`).FindSubmatch(out)
		if m == nil {
			continue
		}
		pid, _ := strconv.Atoi(string(m[1]))
		st, err := procstat.Read(pid)
		if pid <= 1 || err != nil {
			continue
		}
		// Gone, a zombie or another process by now: not ours to end.
		alive := func() bool {
			now, err := procstat.Read(pid)
			return err == nil && now.State != 'Z' && now.StartTime == st.StartTime
		}
		for i := 0; i < 50 && alive(); i++ {
			time.Sleep(100 * time.Millisecond)
		}
		if alive() {
			a.t.Errorf("master %d of %s outlived -O exit", pid, sock)
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}
