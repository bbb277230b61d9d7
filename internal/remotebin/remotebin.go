// Package remotebin puts a copy of this jumpgate on a far host for the
// modes that run a helper there (the compressed console), over exec
// channels, with only a POSIX shell and coreutils on that host. The copy
// is cached by its SHA-256 under ~/.cache/jumpgate/bin, so it travels
// once per version.
package remotebin

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"

	"github.com/jumpgate/jumpgate/internal/shquote"
	"github.com/jumpgate/jumpgate/internal/sshwire"
)

const probeScript = `sha=$1
echo "os=$(uname -s)"
echo "arch=$(uname -m)"
d="${XDG_CACHE_HOME:-$HOME/.cache}/jumpgate/bin"
echo "cache=$d"
if [ -x "$d/$sha" ]; then echo "have=$(sha256sum < "$d/$sha" | cut -d' ' -f1)"; fi
`

const uploadScript = `set -e
umask 077
mkdir -p "$1"
t="$1/.$2.$$"
trap 'rm -f "$t"' EXIT
cat > "$t"
h=$(sha256sum < "$t" | cut -d' ' -f1)
if [ "$h" != "$2" ]; then echo "copied jumpgate has sha256 $h, want $2" >&2; exit 1; fi
chmod 700 "$t"
mv -f "$t" "$1/$2"
`

// Install returns the path of binary's copy on the far host c leads to,
// copying it there first unless it is cached; announce (if not nil) is
// told about a copy.
func Install(ctx context.Context, c sshwire.Conn, binary string, announce io.Writer) (string, error) {
	sha, err := FileSHA256(binary)
	if err != nil {
		return "", fmt.Errorf("jumpgate binary: %w", err)
	}
	out, err := Output(ctx, c, Command(probeScript, "probe", sha), nil)
	if err != nil {
		return "", fmt.Errorf("probe far host: %w", err)
	}
	info := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			info[k] = v
		}
	}
	if info["os"] != "Linux" || !slices.Contains(UnameArch(runtime.GOARCH), info["arch"]) {
		return "", fmt.Errorf("far host is %s/%s; this jumpgate is linux/%s and cannot run there", info["os"], info["arch"], runtime.GOARCH)
	}
	if info["cache"] == "" {
		return "", fmt.Errorf("probe far host: no cache directory in %q", out)
	}
	path := info["cache"] + "/" + sha
	if info["have"] == sha {
		return path, nil
	}
	f, err := os.Open(binary)
	if err != nil {
		return "", fmt.Errorf("jumpgate binary: %w", err)
	}
	defer f.Close()
	if announce != nil {
		st, _ := f.Stat()
		fmt.Fprintf(announce, "jumpgate: copying jumpgate (%.1f MB) to the far host as %s\n", float64(st.Size())/1e6, path)
	}
	if err := Upload(ctx, c, info["cache"], sha, f); err != nil {
		return "", fmt.Errorf("copy jumpgate to far host: %w", err)
	}
	return path, nil
}

// Upload copies r to cache/sha on the far host, checked against sha and
// renamed into place only whole.
func Upload(ctx context.Context, c sshwire.Conn, cache, sha string, r io.Reader) error {
	_, err := Output(ctx, c, Command(uploadScript, "upload", cache, sha), r)
	return err
}

// Command quotes a script and its arguments for the far user's shell:
// sh -c SCRIPT NAME ARGS.
func Command(script, name string, args ...string) string {
	q := []string{"sh", "-c", shquote.Quote(script), shquote.Quote(name)}
	for _, a := range args {
		q = append(q, shquote.Quote(a))
	}
	return strings.Join(q, " ")
}

// Output runs cmd on the far host and returns its standard output; a
// failure carries its standard error.
func Output(ctx context.Context, c sshwire.Conn, cmd string, stdin io.Reader) ([]byte, error) {
	s, err := sshwire.NewSession(ctx, c)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	stop := context.AfterFunc(ctx, func() { s.Close() })
	defer stop()
	var out, errb bytes.Buffer
	s.Stdout, s.Stderr, s.Stdin = &out, &errb, stdin
	if err := s.Run(cmd); err != nil {
		if msg := strings.TrimSpace(errb.String()); msg != "" {
			return nil, fmt.Errorf("%w: %s", err, msg)
		}
		return nil, err
	}
	return out.Bytes(), nil
}

// FileSHA256 is the hex SHA-256 of the file at path: a copy's name.
func FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// UnameArch maps GOARCH to what uname -m says on Linux.
func UnameArch(goarch string) []string {
	switch goarch {
	case "amd64":
		return []string{"x86_64"}
	case "arm64":
		return []string{"aarch64", "arm64"}
	case "386":
		return []string{"i386", "i486", "i586", "i686"}
	case "arm":
		return []string{"armv6l", "armv7l", "armv8l"}
	}
	return []string{goarch}
}
