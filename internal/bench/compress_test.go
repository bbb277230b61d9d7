package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/jumpgate/jumpgate/internal/sshtest"
)

// compressSetup starts Debian's sshd, writes a client configuration for
// it, and files of every corpus of size bytes; it returns options for
// [Compress] with jumpgate (on our engine) as A and ssh(1) as B.
func compressSetup(tb testing.TB, size int) CompressOptions {
	tb.Helper()
	b := Client{Name: "OpenSSH", Argv: []string{needOpenSSH(tb)}}
	sshd := sshtest.StartSSHD(tb, "AuthorizedKeysFile {dir}/authorized_keys", "StrictModes no")
	dir := tb.TempDir()
	key := filepath.Join(dir, "id")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key).CombinedOutput(); err != nil {
		tb.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	pub, err := os.ReadFile(key + ".pub")
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sshd.Dir, "authorized_keys"), pub, 0o644); err != nil {
		tb.Fatal(err)
	}
	kh := filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(kh, []byte("target "+string(ssh.MarshalAuthorizedKey(sshd.HostKey))), 0o600); err != nil {
		tb.Fatal(err)
	}
	cfg := filepath.Join(dir, "ssh_config")
	conf := "Host target\n\tHostName 127.0.0.1\n\tHostKeyAlias target\n\tUser root\n\tIdentityFile " + key +
		"\n\tIdentitiesOnly yes\n\tIdentityAgent none\n\tUserKnownHostsFile " + kh +
		"\n\tGlobalKnownHostsFile /dev/null\n\tStrictHostKeyChecking yes\n\tBatchMode yes" +
		"\n\tControlMaster no\n\tControlPath none\n"
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		tb.Fatal(err)
	}
	o := CompressOptions{A: jumpgateClient(tb), B: b, Config: cfg, Host: "target", Server: sshd.Addr, Runs: 1,
		Env: append(os.Environ(), "HOME="+dir, "XDG_RUNTIME_DIR="+dir)}
	for _, kind := range sshtest.CorpusKinds() {
		f := filepath.Join(dir, kind)
		if err := os.WriteFile(f, sshtest.Corpus(kind, size), 0o644); err != nil {
			tb.Fatal(err)
		}
		o.Files = append(o.Files, f)
	}
	return o
}

// TestCompress: jumpgate ssh -C on our engine compresses what it sends to
// Debian's sshd and inflates what sshd compressed, as ssh -C does, and
// within a fifth of its bytes (the benchmark holds the tighter target).
func TestCompress(t *testing.T) {
	o := compressSetup(t, 2<<20)
	for _, download := range []bool{false, true} {
		t.Run(fmt.Sprint("download=", download), func(t *testing.T) {
			o := o
			o.Download = download
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			results, err := Compress(ctx, o, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range results {
				for side, s := range map[string]CompressSample{"jumpgate": r.A[0], "OpenSSH": r.B[0]} {
					if s.Wire*3 > r.Size {
						t.Errorf("%s, %s: %d bytes on the wire for %d: not compressed", r.Name, side, s.Wire, r.Size)
					}
				}
				if w := r.WireRatio(); w > 1.2 {
					t.Errorf("%s: jumpgate sent %.2fx OpenSSH's bytes", r.Name, w)
				}
			}
			var b strings.Builder
			WriteCompressTable(&b, "jumpgate", "OpenSSH", results)
			t.Logf("\n%s", &b)
		})
	}
}

// BenchmarkCompress uploads 64 MiB of each corpus with ssh -C, jumpgate's
// and OpenSSH's alternately, and reports the medians' ratios: client CPU
// (target ≤ 0.5) and bytes on the wire (target ≤ 1.05). -benchtime Nx
// gives N runs a side.
func BenchmarkCompress(b *testing.B) {
	o := compressSetup(b, 64<<20)
	var results []CompressResult
	for b.Loop() {
		r, err := Compress(context.Background(), o, nil)
		if err != nil {
			b.Fatal(err)
		}
		if results == nil {
			results = r
			continue
		}
		for i := range r {
			results[i].A = append(results[i].A, r[i].A...)
			results[i].B = append(results[i].B, r[i].B...)
		}
	}
	for _, r := range results {
		b.ReportMetric(r.CPURatio(), r.Name+"-cpu-ratio")
		b.ReportMetric(r.WireRatio(), r.Name+"-bytes-ratio")
	}
	var t strings.Builder
	WriteCompressTable(&t, o.A.Name, o.B.Name, results)
	b.Logf("\n%s%s", &t, CompressVerdict(results, 0.5, 1.05))
}
