package cli

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/jumpgate/jumpgate/internal/lab/labtest"
	"github.com/jumpgate/jumpgate/internal/sshtest"
)

// TestDropInDefaults runs the binary through a link named ssh and as
// `jumpgate ssh` against Debian's sshd, and takes the user's key out of
// authorized_keys after a first command: ssh(1) (and jumpgate linked as
// ssh) is refused by the next command, while jumpgate ssh's default master
// still serves it.
func TestDropInDefaults(t *testing.T) {
	sshd := sshtest.StartSSHD(t, "AuthorizedKeysFile {dir}/authorized_keys", "StrictModes no")
	dir := t.TempDir()
	key := filepath.Join(dir, "id")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	pub, err := os.ReadFile(key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	authKeys := filepath.Join(sshd.Dir, "authorized_keys")
	allow := func(on bool) {
		t.Helper()
		var b []byte
		if on {
			b = pub
		}
		if err := os.WriteFile(authKeys, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	kh := filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(kh, []byte(sshd.KnownHostsLine()), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "ssh_config")
	conf := "Host target\n\tHostName 127.0.0.1\n\tPort " + strconv.Itoa(sshd.Port) +
		"\n\tUser root\n\tIdentityFile " + key + "\n\tIdentitiesOnly yes\n\tUserKnownHostsFile " + kh +
		"\n\tGlobalKnownHostsFile /dev/null\n\tStrictHostKeyChecking yes\n\tBatchMode yes\n"
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	bin := labtest.Binary(t)
	link := filepath.Join(dir, "ssh")
	if err := os.Symlink(bin, link); err != nil {
		t.Fatal(err)
	}
	runtimeDir := filepath.Join(dir, "run")
	if err := os.Mkdir(runtimeDir, 0o700); err != nil {
		t.Fatal(err)
	}
	run := func(argv ...string) (int, string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Env = labEnv("XDG_RUNTIME_DIR="+runtimeDir, "HOME="+dir)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		cmd.WaitDelay = 3 * time.Second
		err := cmd.Run()
		code := 0
		if err != nil {
			ee, ok := err.(*exec.ExitError)
			if !ok {
				t.Fatalf("%v: %v", argv, err)
			}
			code = ee.ExitCode()
		}
		return code, out.String()
	}
	sockets := func() []string {
		m, _ := filepath.Glob(filepath.Join(runtimeDir, "jumpgate", "*"))
		return m
	}

	t.Run("linked as ssh", func(t *testing.T) {
		allow(true)
		if code, out := run(link, "-F", cfg, "target", "echo", "hi"); code != 0 || out != "hi\n" {
			t.Fatalf("first command: exit %d, %q", code, out)
		}
		if s := sockets(); len(s) != 0 {
			t.Fatalf("linked as ssh, jumpgate started a master: %v", s)
		}
		allow(false)
		code, out := run(link, "-F", cfg, "target", "true")
		if code != 255 || !bytes.Contains([]byte(out), []byte("Permission denied")) {
			t.Fatalf("after the key was removed: exit %d, %q; want 255 and Permission denied", code, out)
		}
	})

	t.Run("jumpgate ssh", func(t *testing.T) {
		allow(true)
		if code, out := run(bin, "ssh", "-F", cfg, "target", "true"); code != 0 {
			t.Fatalf("first command: exit %d, %q", code, out)
		}
		t.Cleanup(func() {
			_, out := run(bin, "ssh", "-F", cfg, "-O", "check", "target")
			if m := regexp.MustCompile(`pid=(\d+)`).FindStringSubmatch(out); m != nil {
				run(bin, "ssh", "-F", cfg, "-O", "exit", "target")
				if pid, _ := strconv.Atoi(m[1]); pid > 1 {
					syscall.Kill(pid, syscall.SIGTERM)
				}
			}
		})
		if s := sockets(); len(s) == 0 {
			t.Fatal("jumpgate ssh started no master")
		}
		allow(false)
		if code, out := run(bin, "ssh", "-F", cfg, "target", "true"); code != 0 {
			t.Fatalf("through the master: exit %d, %q; want 0", code, out)
		}
	})
}
